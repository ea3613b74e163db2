using System.Diagnostics;
using System.Numerics;
using System.Text.Json;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.InMemory;
using Hokusai.Contracts.Jobs;
using Hokusai.Contracts.Tests.Chain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Core.Tests.Jobs;

/// <summary>
/// A transaction that is not mined (anvil with automine off) is replaced after REPLACE_AFTER with higher
/// fees; the process restarts between replacements; when a block finally comes exactly one version is
/// mined, the job reports it, and nothing was deployed twice.
/// </summary>
[Collection(OutageGroup.Name)]
public sealed class ReplacementOnDevChainTests
{
    [Fact]
    public async Task Engine_StuckTransactionReplacedAcrossRestart_OneVersionMinedNoSecondDeployment()
    {
        await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
        using var rpc = new JsonRpc(chain.RpcUrl);
        await rpc.CallRawAsync("evm_setAutomine", false);
        var store = new InMemoryDeploymentStore(Options.Create(new HokusaiContractsOptions()), TimeProvider.System);
        var user = chain.TestAccounts[0].Address;
        var nonceBefore = await CountAsync(rpc, chain.DeployerAddress, "latest");
        Guid id;
        await using (var first = Build(chain, store))
        {
            var engine = first.GetRequiredService<DeploymentEngine>();
            id = (await first.GetRequiredService<IDeploymentService>().SubmitAsync(new DeploymentSubmission
            {
                Owner = "alice",
                Request = EngineHarness.Request("stuck-1", 9) with { UserAddress = user },
                RequestHash = "h",
            }, default)).Job!.Id;
            await engine.StartAsync(default);
            await WaitUntilAsync(async () => (await store.GetAsync(id, default))!.Transactions.Replaced.Count >= 1);
            await engine.StopAsync(default);
        }

        // A new process: it resumes watching every version and keeps replacing.
        await using var second = Build(chain, store);
        var resumed = second.GetRequiredService<DeploymentEngine>();
        await resumed.StartAsync(default);
        await WaitUntilAsync(async () => (await store.GetAsync(id, default))!.Transactions.Replaced.Count >= 2);
        var beforeMining = (await store.GetAsync(id, default))!;
        Assert.Equal(DeploymentStatus.Processing, beforeMining.Status);

        await rpc.CallRawAsync("evm_setAutomine", true);
        await rpc.MineAsync(1);
        await WaitUntilAsync(async () => (await store.GetAsync(id, default))!.Status.IsFinal());
        await resumed.StopAsync(default);

        var done = (await store.GetAsync(id, default))!;
        Assert.Equal(DeploymentStatus.Completed, done.Status);
        var versions = done.Transactions.Replaced.Append(done.Transactions.TokenDeployment!).ToArray();
        Assert.All(versions, v => Assert.Equal(versions[0].Nonce, v.Nonce));
        Assert.Equal(versions.Length, versions.Select(v => v.Hash).Distinct().Count());
        var mined = new List<string>();
        foreach (var version in versions)
        {
            if ((await rpc.CallRawAsync("eth_getTransactionReceipt", version.Hash)).ValueKind == JsonValueKind.Object)
            {
                mined.Add(version.Hash);
            }
        }

        Assert.Equal([done.TokenDetails!.TransactionHash], mined);
        Assert.Equal(BigInteger.One, await CountAsync(rpc, chain.DeployerAddress, "latest") - nonceBefore);
        Assert.Equal(done.PredictedTokenAddress!.ToLowerInvariant(), await rpc.CallAddressAsync(chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg("stuck-1")));
        Assert.Equal(new BigInteger(9), await rpc.CallUintAsync(done.PredictedTokenAddress, "balanceOf(address)", JsonRpc.AddressArg(user)));
    }

    [Fact]
    public async Task Engine_ReplaceAfterBlocksAndBlocksPassWithoutIt_ReplacedAfterThoseBlocksAndMined()
    {
        // Blocks are mined while the transaction cannot be included (the base fee jumped above its max fee), so only a
        // block count, not a time, makes it stuck: REPLACE_AFTER=3b with a time fallback far away.
        await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
        using var rpc = new JsonRpc(chain.RpcUrl);
        await rpc.CallRawAsync("evm_setAutomine", false);
        var store = new InMemoryDeploymentStore(Options.Create(new HokusaiContractsOptions()), TimeProvider.System);
        var user = chain.TestAccounts[0].Address;
        var nonceBefore = await CountAsync(rpc, chain.DeployerAddress, "latest");
        await using var provider = Build(chain, store, "3b");
        var engine = provider.GetRequiredService<DeploymentEngine>();
        var id = (await provider.GetRequiredService<IDeploymentService>().SubmitAsync(new DeploymentSubmission
        {
            Owner = "alice",
            Request = EngineHarness.Request("stuck-blocks", 9) with { UserAddress = user },
            RequestHash = "h",
        }, default)).Job!.Id;
        await engine.StartAsync(default);
        await WaitUntilAsync(async () => (await store.GetAsync(id, default))!.Transactions.TokenDeployment is not null);
        var first = (await store.GetAsync(id, default))!.Transactions.TokenDeployment!;
        var baseFee = await rpc.BaseFeeAsync();
        await rpc.CallRawAsync("anvil_setNextBlockBaseFeePerGas", "0x" + (baseFee * 1000).ToString("x", System.Globalization.CultureInfo.InvariantCulture).TrimStart('0'));

        // Mine one block at a time until the job replaces its transaction; it must not before three blocks passed it.
        var mined = 0;
        while ((await store.GetAsync(id, default))!.Transactions.Replaced.Count == 0)
        {
            Assert.True(mined < 200, "not replaced after 200 blocks");
            var included = (await rpc.CallRawAsync("eth_getTransactionReceipt", first.Hash)).ValueKind == JsonValueKind.Object;
            Assert.False(included, "the underpriced transaction was mined");
            await rpc.MineAsync(1);
            mined++;
            await Task.Delay(200);
        }

        Assert.True(mined >= 3, $"replaced after {mined} blocks");
        await rpc.CallRawAsync("evm_setAutomine", true);
        await WaitUntilAsync(async () =>
        {
            await rpc.MineAsync(1);
            return (await store.GetAsync(id, default))!.Status.IsFinal();
        });
        await engine.StopAsync(default);

        var done = (await store.GetAsync(id, default))!;
        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Contains(done.Transactions.Replaced, r => r.Hash == first.Hash);
        Assert.NotEqual(first.Hash, done.TokenDetails!.TransactionHash);
        Assert.Equal(BigInteger.One, await CountAsync(rpc, chain.DeployerAddress, "latest") - nonceBefore);
    }

    private static ServiceProvider Build(DevChain chain, IDeploymentStore store, string replaceAfter = "1.5s")
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHokusaiContracts(o =>
        {
            chain.ApplyTo(o);
            o.Chain.ReplaceAfter = replaceAfter;
            o.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(100);
            o.Jobs.ShutdownGracePeriod = TimeSpan.Zero;
        });
        services.Replace(ServiceDescriptor.Singleton(store));
        return services.BuildServiceProvider();
    }

    private static async Task<BigInteger> CountAsync(JsonRpc rpc, string address, string tag) =>
        JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionCount", address, tag)).GetString()!);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "condition not met within 60 s");
            await Task.Delay(100);
        }
    }
}
