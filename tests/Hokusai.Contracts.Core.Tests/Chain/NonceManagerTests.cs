using System.Numerics;
using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Tests.Chain;

public sealed class NonceManagerTests
{
    private static NonceManager Fresh() => new();

    private static Task<BigInteger> Pending(CancellationToken _) => Task.FromResult(new BigInteger(7));

    private static Task<BigInteger> Next(NonceManager nonces) => nonces.UseNextAsync(Pending, n => n, CancellationToken.None);

    [Fact]
    public async Task ReleaseAsync_LatestNonce_IsHandedOutAgainNext()
    {
        var nonces = Fresh();
        Assert.Equal(7, await Next(nonces));
        var eight = await Next(nonces);

        await nonces.ReleaseAsync(eight, CancellationToken.None);

        Assert.Equal(8, await Next(nonces));
        Assert.Equal(9, await Next(nonces));
    }

    [Fact]
    public async Task ReleaseAsync_EarlierNonce_FillsTheGapWithoutMovingOthers()
    {
        var nonces = Fresh();
        var seven = await Next(nonces);
        await Next(nonces);
        await Next(nonces);

        await nonces.ReleaseAsync(seven, CancellationToken.None);

        Assert.Equal(7, await Next(nonces));
        Assert.Equal(10, await Next(nonces));
    }

    [Fact]
    public async Task TryClaimGapAsync_NonceGivenBack_FilledByTheFollowerAndNotHandedOutAgain()
    {
        var nonces = Fresh();
        var seven = await Next(nonces);
        await Next(nonces);
        await nonces.ReleaseAsync(seven, CancellationToken.None);

        Assert.True(await nonces.TryClaimGapAsync(seven, CancellationToken.None));

        // The self-transfer takes 7: the next job must not meet "nonce too low" with it.
        Assert.Equal(9, await Next(nonces));
    }

    [Fact]
    public async Task TryClaimGapAsync_NonceNeverHandedOutHere_False()
    {
        var nonces = Fresh();
        Assert.False(await nonces.TryClaimGapAsync(3, CancellationToken.None));

        await Next(nonces);

        Assert.True(await nonces.TryClaimGapAsync(7, CancellationToken.None));
        Assert.False(await nonces.TryClaimGapAsync(8, CancellationToken.None));
    }

    [Fact]
    public async Task ForgetAsync_KeyOwnedElsewhereNow_NoGapToRepairAndNothingToClaim()
    {
        var nonces = Fresh();
        var seven = await Next(nonces);
        var eight = await Next(nonces);
        nonces.Track((ulong)eight, "0x02raw");
        await nonces.ReleaseAsync(seven, CancellationToken.None);
        Assert.Equal((new BigInteger(7), (string?)null), nonces.Gap(7));

        await nonces.ForgetAsync();

        // The node's count below what this process once handed out is the new owner's business.
        Assert.Null(nonces.Gap(7));
        Assert.False(await nonces.TryClaimGapAsync(7, CancellationToken.None));
        Assert.False(nonces.HasInFlight);
        Assert.Null(nonces.Peek);
    }

    [Fact]
    public async Task ResyncAsync_NonceTooLowWithOthersInFlight_NeverHandsOutAnInFlightNonceAgain()
    {
        var nonces = Fresh();
        await Next(nonces);
        await Next(nonces);
        await Next(nonces);

        // One job met "nonce too low" while 8 and 9 were still on their way to the node, which counts 8.
        await nonces.ResyncAsync(_ => Task.FromResult(new BigInteger(8)), _ => Task.FromResult(new BigInteger(7)), CancellationToken.None);

        Assert.Equal(10, await Next(nonces));
    }

    [Fact]
    public async Task ResyncAsync_AfterForget_StartsFromTheNodesCount()
    {
        var nonces = Fresh();
        await Next(nonces);
        await Next(nonces);
        await Next(nonces);

        await nonces.ForgetAsync();
        await nonces.ResyncAsync(_ => Task.FromResult(new BigInteger(8)), _ => Task.FromResult(new BigInteger(7)), CancellationToken.None);

        Assert.Equal(8, await Next(nonces));
    }

    [Fact]
    public async Task ResyncAsync_AfterRelease_ForgetsReleasedNonces()
    {
        var nonces = Fresh();
        var seven = await Next(nonces);
        await Next(nonces);
        await nonces.ReleaseAsync(seven, CancellationToken.None);

        await nonces.ResyncAsync(_ => Task.FromResult(new BigInteger(20)), _ => Task.FromResult(new BigInteger(18)), CancellationToken.None);

        Assert.Equal(20, await Next(nonces));
    }
}
