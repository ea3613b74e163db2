using System.Diagnostics;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>
/// The block follower with RPC_WS_URL on anvil (it serves WebSocket on its HTTP port): heads are pushed by
/// <c>eth_subscribe("newHeads")</c>; when the socket drops (a TCP proxy in front of it stops) the follower polls,
/// and when the socket is back it is pushed to again.
/// </summary>
[Collection(DevChainGroup.Name)]
public sealed class BlockFollowerSocketTests(DevChainFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SubscribeHeads_WebSocketUrl_HeadsArriveOverTheSocket()
    {
        var ws = "ws://127.0.0.1:" + new Uri(fixture.Chain.RpcUrl).Port;
        // A slow poll: heads seen within it can only have come over the socket.
        using var client = new NethereumChainClient(fixture.Options(o => { o.RpcWsUrl = ws; o.ReceiptPollInterval = TimeSpan.FromSeconds(30); }), NullLoggerFactory.Instance, TimeProvider.System);
        var follower = client.Follower;
        var seen = new List<ulong>();
        using var subscription = follower.SubscribeHeads(h => { lock (seen) { seen.Add(h); } }, TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => follower.SocketConnected, "the socket did not subscribe");
        var readsBefore = Interlocked.Read(ref follower.HeadReads);
        var start = await fixture.Rpc.BlockNumberAsync();

        for (var i = 1; i <= 3; i++)
        {
            await fixture.Rpc.MineAsync(1);
            var target = (ulong)(start + i);
            await WaitUntilAsync(() => { lock (seen) { return seen.Contains(target) || seen.Any(h => h >= target); } }, $"head {target} was not heard");
        }

        Assert.True(Interlocked.Read(ref follower.SocketHeads) >= 3, $"{follower.SocketHeads} heads over the socket");
        // At most the safety reads of a socket that is up (one per SocketSafetyInterval), never one per block.
        Assert.True(Interlocked.Read(ref follower.HeadReads) - readsBefore <= 2, $"{follower.HeadReads - readsBefore} HTTP head reads");
    }

    [Fact]
    public async Task SubscribeHeads_SocketDroppedAndBack_PollsMeanwhileThenPushedAgain()
    {
        await using var proxy = new TcpProxy(new Uri(fixture.Chain.RpcUrl));
        using var client = new NethereumChainClient(fixture.Options(o => { o.RpcWsUrl = "ws://127.0.0.1:" + proxy.Port; o.ReceiptPollInterval = TimeSpan.FromMilliseconds(100); }), NullLoggerFactory.Instance, TimeProvider.System);
        var follower = client.Follower;
        ulong last = 0;
        using var subscription = follower.SubscribeHeads(h => Volatile.Write(ref last, h), TimeSpan.FromMilliseconds(100));
        await WaitUntilAsync(() => follower.SocketConnected, "the socket did not subscribe");

        proxy.Refuse();
        await WaitUntilAsync(() => !follower.SocketConnected, "the dropped socket was not noticed");
        var socketHeads = Interlocked.Read(ref follower.SocketHeads);
        var readsBefore = Interlocked.Read(ref follower.HeadReads);
        await fixture.Rpc.MineAsync(1);
        var polled = (ulong)await fixture.Rpc.BlockNumberAsync();
        await WaitUntilAsync(() => Volatile.Read(ref last) >= polled, "no head while the socket was down");
        Assert.Equal(socketHeads, Interlocked.Read(ref follower.SocketHeads));
        Assert.True(Interlocked.Read(ref follower.HeadReads) > readsBefore);

        proxy.Accept();
        await WaitUntilAsync(() => follower.SocketConnected, "the socket did not reconnect");
        await fixture.Rpc.MineAsync(1);
        var pushed = (ulong)await fixture.Rpc.BlockNumberAsync();
        await WaitUntilAsync(() => Volatile.Read(ref last) >= pushed && Interlocked.Read(ref follower.SocketHeads) > socketHeads, "no head over the reconnected socket");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < Deadline, what);
            await Task.Delay(50);
        }
    }
}
