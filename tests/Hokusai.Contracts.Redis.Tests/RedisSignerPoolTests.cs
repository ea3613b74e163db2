using Hokusai.Contracts.Backends;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Redis.Tests;

/// <summary>The Redis side of the signer pool: replica liveness, key owners and one queue per key.</summary>
public sealed class RedisSignerPoolTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string KeyA = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    private const string KeyB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    private TestApp Instance(string prefix) =>
        TestApp.Create(redis.Server.ConnectionString, prefix, o => o.LeaseTtl = TimeSpan.FromSeconds(3));

    [Fact]
    public async Task AnnounceAsync_TwoReplicasThenOneWithdraws_CountsLiveReplicas()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix);
        await using var second = Instance(prefix);

        Assert.Equal(1, await first.Leases.AnnounceAsync(default));
        Assert.Equal(2, await second.Leases.AnnounceAsync(default));
        await first.Leases.WithdrawAsync(default);

        Assert.Equal(1, await second.Leases.AnnounceAsync(default));
        Assert.NotEqual(first.Leases.ReplicaId, second.Leases.ReplicaId);
    }

    [Fact]
    public async Task GetOwnerAsync_WhileLeasedAndAfterRelease_TheHoldersReplicaIdThenNull()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix);
        await using var second = Instance(prefix);

        var lease = await first.Leases.AcquireAsync(KeyA, default);
        Assert.Equal(first.Leases.ReplicaId, await second.Leases.GetOwnerAsync(KeyA.ToLowerInvariant(), default));
        Assert.Null(await second.Leases.GetOwnerAsync(KeyB, default));

        await lease.DisposeAsync();
        Assert.Null(await second.Leases.GetOwnerAsync(KeyA, default));
    }

    [Fact]
    public async Task GetQueue_TwoKeys_EachReadsOnlyItsOwnJobs()
    {
        var prefix = TestApp.NewPrefix();
        await using var app = Instance(prefix);
        var queues = app.Provider.GetRequiredService<ISignerQueues>();
        var job = Guid.NewGuid();

        await queues.GetQueue(KeyA).EnqueueAsync(job, default);
        using (var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            Assert.Null(await queues.GetQueue(KeyB).DequeueAsync(shortWait.Token));
        }

        using (var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            Assert.Null(await app.Queue.DequeueAsync(shortWait.Token));
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var item = await queues.GetQueue(KeyA.ToLowerInvariant()).DequeueAsync(wait.Token);
        Assert.Equal(job, item?.JobId);
        Assert.Same(queues.GetQueue(KeyA), queues.GetQueue(KeyA.ToLowerInvariant()));
        await queues.GetQueue(KeyA).AcknowledgeAsync(item!, default);
        Assert.Equal(0, await queues.GetQueue(KeyA).GetDepthAsync(default));
    }
}
