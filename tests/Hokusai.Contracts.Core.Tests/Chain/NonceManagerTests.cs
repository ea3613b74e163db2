using System.Numerics;
using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Tests.Chain;

public sealed class NonceManagerTests
{
    private static NonceManager Fresh() => NonceManager.For("0x" + Guid.NewGuid().ToString("N").PadRight(40, '0'), ["http://unit-test"]);

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
    public async Task ResyncAsync_AfterRelease_ForgetsReleasedNonces()
    {
        var nonces = Fresh();
        var seven = await Next(nonces);
        await Next(nonces);
        await nonces.ReleaseAsync(seven, CancellationToken.None);

        await nonces.ResyncAsync(_ => Task.FromResult(new BigInteger(20)), CancellationToken.None);

        Assert.Equal(20, await Next(nonces));
    }
}
