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
