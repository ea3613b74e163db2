using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>
/// A nonce whose transaction is provably abandoned (signed, never persisted nor sent: the process lost it) while the
/// next nonce was sent: anvil parks the later transaction behind the gap. The block follower fills the gap with a
/// zero-value self-transfer after its grace period, and the parked transaction is mined behind it.
/// </summary>
public sealed class NonceGapOnDevChainTests
{
    [Fact]
    public async Task Follower_NonceSignedButNeverSent_FilledWithZeroValueSelfTransferAndLaterNonceMined()
    {
        await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
        using var rpc = new JsonRpc(chain.RpcUrl);
        var options = new HokusaiContractsOptions();
        chain.ApplyTo(options);
        options.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(100);
        using var client = new NethereumChainClient(options.Chain, NullLoggerFactory.Instance, TimeProvider.System);
        await client.ResyncNonceAsync(CancellationToken.None);

        var abandoned = await client.PrepareTokenDeploymentAsync("Lost", "LST", null, CancellationToken.None);
        var next = await client.PrepareTokenDeploymentAsync("Next", "NXT", null, CancellationToken.None);
        Assert.Equal(abandoned.Nonce + 1, next.Nonce);
        await client.BroadcastAsync(next, CancellationToken.None);
        // Parked behind the gap: the node's pending count stays at the abandoned nonce.
        Assert.Equal(new BigInteger(abandoned.Nonce), await CountAsync(rpc, chain.DeployerAddress, "pending"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var receipt = await client.WaitForReceiptAsync(next.Hash, null, timeout.Token);

        Assert.True(receipt.Succeeded);
        Assert.Equal(new BigInteger(next.Nonce + 1), await CountAsync(rpc, chain.DeployerAddress, "latest"));
        Assert.Equal(new BigInteger(next.Nonce + 1), await CountAsync(rpc, chain.DeployerAddress, "pending"));
        Assert.Equal(JsonValueKind.Null, (await rpc.CallRawAsync("eth_getTransactionReceipt", abandoned.Hash)).ValueKind);
        var filler = await FindByNonceAsync(rpc, chain.DeployerAddress, abandoned.Nonce, receipt.BlockNumber);
        Assert.Equal(chain.DeployerAddress.ToLowerInvariant(), filler.GetProperty("to").GetString());
        Assert.Equal(BigInteger.Zero, JsonRpc.ParseQuantity(filler.GetProperty("value").GetString()!));
        Assert.Equal("0x", filler.GetProperty("input").GetString());
    }

    [Fact]
    public async Task Follower_FormerOwnerForgotTheKey_LeavesTheNewOwnersNoncesAlone()
    {
        await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
        var options = new HokusaiContractsOptions();
        chain.ApplyTo(options);
        options.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(100);
        using var former = new NethereumChainClient(options.Chain, NullLoggerFactory.Instance, TimeProvider.System);
        using var owner = new NethereumChainClient(options.Chain, NullLoggerFactory.Instance, TimeProvider.System);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        // The former owner signed two nonces and sent neither: it lost the key and its jobs went to the new owner.
        await former.ResyncNonceAsync(CancellationToken.None);
        var lost = await former.PrepareTokenDeploymentAsync("Lost", "LST", null, CancellationToken.None);
        await former.PrepareTokenDeploymentAsync("Lost", "LST", null, CancellationToken.None);
        await former.ForgetNoncesAsync();

        await owner.ResyncNonceAsync(CancellationToken.None);
        var first = await owner.PrepareTokenDeploymentAsync("First", "FST", null, CancellationToken.None);
        Assert.Equal(lost.Nonce, first.Nonce);
        await owner.BroadcastAsync(first, CancellationToken.None);
        Assert.True((await owner.WaitForReceiptAsync(first.Hash, null, timeout.Token)).Succeeded);
        // The former owner's follower runs too (a replica follows the chain for its other keys and the mirror).
        Assert.True((await former.WaitForReceiptAsync(first.Hash, null, timeout.Token)).Succeeded);

        // The node's count is now below what the former owner once handed out. Had it kept its sequence, its
        // follower would fill that "gap" with a self-transfer after the grace period, taking the owner's next nonce.
        await Task.Delay(BlockFollower.UnknownGapGrace + TimeSpan.FromSeconds(3), timeout.Token);
        var second = await owner.PrepareTokenDeploymentAsync("Second", "SND", null, CancellationToken.None);
        Assert.Equal(first.Nonce + 1, second.Nonce);
        await owner.BroadcastAsync(second, CancellationToken.None);

        Assert.True((await owner.WaitForReceiptAsync(second.Hash, null, timeout.Token)).Succeeded);
    }

    private static async Task<JsonElement> FindByNonceAsync(JsonRpc rpc, string from, ulong nonce, ulong upTo)
    {
        for (var block = upTo; block > 0; block--)
        {
            var body = await rpc.CallRawAsync("eth_getBlockByNumber", "0x" + block.ToString("x", CultureInfo.InvariantCulture), true);
            foreach (var transaction in body.GetProperty("transactions").EnumerateArray())
            {
                if (string.Equals(transaction.GetProperty("from").GetString(), from, StringComparison.OrdinalIgnoreCase)
                    && JsonRpc.ParseQuantity(transaction.GetProperty("nonce").GetString()!) == nonce)
                {
                    return transaction;
                }
            }
        }

        throw new InvalidOperationException($"no transaction with nonce {nonce}");
    }

    private static async Task<BigInteger> CountAsync(JsonRpc rpc, string address, string tag) =>
        JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionCount", address, tag)).GetString()!);
}
