using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Jobs;
using Hokusai.Contracts.Tests.Chain;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Core.Tests.Jobs;

/// <summary>
/// With CONFIRMATION_BLOCKS=2, a reorganisation that removes the block of a job's transaction
/// (anvil_rollback / anvil_reorg) never completes the job early and never deploys twice: the same
/// transaction is included again and confirmed.
/// </summary>
[Collection(OutageGroup.Name)]
public sealed class ReorgOnDevChainTests
{
    [Theory]
    [InlineData("anvil_rollback")]
    [InlineData("anvil_reorg")]
    public async Task Engine_BlockOfTransactionReorganisedAway_SameTransactionReincludedAndConfirmed(string method)
    {
        await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
        using var rpc = new JsonRpc(chain.RpcUrl);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHokusaiContracts(o =>
        {
            chain.ApplyTo(o);
            o.Chain.ConfirmationBlocks = 2;
            o.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(100);
            o.Jobs.ShutdownGracePeriod = TimeSpan.Zero;
        });
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<DeploymentEngine>();
        var store = provider.GetRequiredService<IDeploymentStore>();
        var user = chain.TestAccounts[0].Address;
        var nonceBefore = await CountAsync(rpc, chain.DeployerAddress, "latest");
        var accepted = (await provider.GetRequiredService<IDeploymentService>().SubmitAsync(new DeploymentSubmission
        {
            Owner = "alice",
            Request = EngineHarness.Request("reorg-" + method, 42) with { UserAddress = user },
            RequestHash = "h",
        }, default)).Job!;
        await engine.StartAsync(default);

        // Automine includes the transaction at once; no further blocks come, so it sits at 0/2 confirmations.
        string? hash = null;
        await WaitUntilAsync(async () =>
        {
            hash = (await store.GetAsync(accepted.Id, default))!.Transactions.TokenDeployment?.Hash;
            return hash is not null && (await rpc.CallRawAsync("eth_getTransactionReceipt", hash)).ValueKind == JsonValueKind.Object;
        });
        var firstBlock = JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionReceipt", hash!)).GetProperty("blockNumber").GetString()!);
        await rpc.MineAsync(1);
        await Task.Delay(500);
        Assert.False((await store.GetAsync(accepted.Id, default))!.Status.IsFinal());

        // Remove both blocks (the transaction's and the one on top): the job must not complete on them.
        if (method == "anvil_rollback")
        {
            await rpc.CallRawAsync("anvil_rollback", 2);
        }
        else
        {
            await rpc.CallRawAsync("anvil_reorg", 2, Array.Empty<object>());
        }

        var afterReorg = await store.GetAsync(accepted.Id, default);
        Assert.False(afterReorg!.Status.IsFinal());

        // New blocks until the job completes; it must be the same transaction, confirmed on the new chain.
        await WaitUntilAsync(async () =>
        {
            await rpc.MineAsync(1);
            return (await store.GetAsync(accepted.Id, default))!.Status.IsFinal();
        });
        await engine.StopAsync(default);

        var done = (await store.GetAsync(accepted.Id, default))!;
        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(hash, done.TokenDetails!.TransactionHash);
        var receipt = await rpc.CallRawAsync("eth_getTransactionReceipt", hash!);
        var block = JsonRpc.ParseQuantity(receipt.GetProperty("blockNumber").GetString()!);
        Assert.Equal(block.ToString(CultureInfo.InvariantCulture), done.TokenDetails.BlockNumber.ToString(CultureInfo.InvariantCulture));
        Assert.True(await rpc.BlockNumberAsync() >= block + 2, "completed before two confirmations on the new chain");
        Assert.True(block >= firstBlock, $"re-included in block {block}, first in {firstBlock}");
        Assert.Equal(BigInteger.One, await CountAsync(rpc, chain.DeployerAddress, "latest") - nonceBefore);
        Assert.Equal(done.PredictedTokenAddress!.ToLowerInvariant(), await rpc.CallAddressAsync(chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(done.Request.ModelId)));
        Assert.Equal(new BigInteger(42), await rpc.CallUintAsync(done.PredictedTokenAddress, "balanceOf(address)", JsonRpc.AddressArg(user)));
    }

    private static async Task<BigInteger> CountAsync(JsonRpc rpc, string address, string tag) =>
        JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionCount", address, tag)).GetString()!);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "condition not met within 60 s");
            await Task.Delay(200);
        }
    }
}
