using System.Numerics;
using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>The in-flight window and the nonce-gap bookkeeping of one signer.</summary>
public sealed class NonceWindowTests
{
    private static NonceManager Fresh(int window) => new() { Window = window };

    private static Task<BigInteger> Pending(CancellationToken _) => Task.FromResult(new BigInteger(10));

    private static Task<BigInteger> Next(NonceManager nonces, CancellationToken cancellationToken = default) =>
        nonces.UseNextAsync(Pending, n => n, cancellationToken);

    [Fact]
    public async Task UseNextAsync_WindowFull_WaitsUntilMinedCountMoves()
    {
        var nonces = Fresh(window: 2);
        nonces.OnMined(10);
        Assert.Equal(10, await Next(nonces));
        Assert.Equal(11, await Next(nonces));

        var third = Next(nonces);
        await Task.Delay(50);
        Assert.False(third.IsCompleted);

        nonces.OnMined(11);

        Assert.Equal(12, await third.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ReleaseAsync_WhileAPreparationWaitsForTheWindow_TheGivenBackNonceIsTakenAtOnce()
    {
        var nonces = Fresh(window: 2);
        nonces.OnMined(10);
        var first = await Next(nonces);
        Assert.Equal(11, await Next(nonces));

        // The window is full because nonce 10 never left the process: the waiter must not hold the sequence,
        // or giving 10 back would wait for a window that only 10 itself can open.
        var waiting = Next(nonces);
        await nonces.ReleaseAsync(first, default).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(10, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ResyncAsync_MinedCountSeenAWindowBehind_TakesTheNodesCountAndHandsOutWithoutWaiting()
    {
        // A key taken over from a dead replica: this process last saw 10 mined, the old owner had 40 mined since.
        var nonces = Fresh(window: 2);
        nonces.OnMined(10);

        await nonces.ResyncAsync(_ => Task.FromResult(new BigInteger(40)), _ => Task.FromResult(new BigInteger(40)), default);

        Assert.Equal(40, nonces.Mined);
        Assert.Equal(40, await Next(nonces).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(41, await Next(nonces).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ResyncAsync_OldOwnersPersistedNonceMissing_GapReportedAtOnce()
    {
        var nonces = Fresh(window: 16);
        nonces.OnMined(10);
        nonces.Track(41, "0x41");

        // The node has 40 mined and nothing executable beyond: 41 was persisted by the old owner, 40 never left it.
        await nonces.ResyncAsync(_ => Task.FromResult(new BigInteger(40)), _ => Task.FromResult(new BigInteger(40)), default);

        Assert.True(nonces.HasInFlight);
        Assert.True(nonces.TakeRecount());
        Assert.False(nonces.TakeRecount());
        Assert.Equal((new BigInteger(40), (string?)null), nonces.Gap(40));
    }

    [Fact]
    public async Task UseNextAsync_MinedCountUnknown_DoesNotWait()
    {
        var nonces = Fresh(window: 1);

        Assert.Equal(10, await Next(nonces));
        Assert.Equal(11, await Next(nonces));
    }

    [Fact]
    public async Task UseNextAsync_WaitingAndCancelled_ThrowsWithoutConsumingTheNonce()
    {
        var nonces = Fresh(window: 1);
        nonces.OnMined(10);
        await Next(nonces);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Next(nonces, cts.Token));
        nonces.OnMined(11);

        Assert.Equal(11, await Next(nonces));
    }

    [Fact]
    public async Task Gap_PendingBelowHandedOut_ReturnsPersistedBytesOfMissingNonce()
    {
        var nonces = Fresh(window: 16);
        nonces.OnMined(10);
        for (var i = 0; i < 3; i++)
        {
            var nonce = await Next(nonces);
            nonces.Track((ulong)nonce, "0xraw" + nonce);
        }

        Assert.Equal((new BigInteger(11), "0xraw11"), nonces.Gap(11));
        Assert.Null(nonces.Gap(13));
    }

    [Fact]
    public async Task Gap_MissingNonceNeverPersisted_ReportsItWithoutBytes()
    {
        var nonces = Fresh(window: 16);
        nonces.OnMined(10);
        await Next(nonces);
        var eleven = await Next(nonces);
        nonces.Track((ulong)eleven, "0xraw11");

        Assert.Equal((new BigInteger(10), (string?)null), nonces.Gap(10));
    }

    [Fact]
    public async Task OnMined_RecentlyMinedBytes_KeptForReorganisations()
    {
        var nonces = Fresh(window: 16);
        nonces.OnMined(10);
        var nonce = await Next(nonces);
        nonces.Track((ulong)nonce, "0xraw10");
        nonces.OnMined(11);
        Assert.False(nonces.HasInFlight);

        // A reorganisation takes nonce 10 back: the node's pending count drops to 10 again.
        nonces.OnMined(10);

        Assert.Equal((new BigInteger(10), "0xraw10"), nonces.Gap(10));
    }
}
