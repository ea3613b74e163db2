using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Tests.Chain;
using Xunit.Abstractions;

namespace ContractsApi.Tests.Replicas;

/// <summary>
/// Two published hosts sharing a signer pool of two keys (the deployer and a second account granted
/// <c>DEPLOYER_ROLE</c>), factory mode, with a 3 s signer lease renewed every second.
/// </summary>
public class PoolReplicaCluster : ReplicaCluster
{
    internal DevChainAccount SecondKey => Chain.TestAccounts[1];

    internal IReadOnlyList<string> Keys => [Chain.DeployerAddress, SecondKey.Address];

    internal override async Task PrepareChainAsync()
    {
        using var rpc = new JsonRpc(Chain.RpcUrl);
        await PoolKeys.GrantDeployerRoleAsync(rpc, Chain.TokenManagerAddress, Chain.DeployerAddress, SecondKey.Address);
    }

    internal override IReadOnlyDictionary<string, string> ExtraEnvironment => new Dictionary<string, string>(LeaseSettings)
    {
        ["DEPLOYER_PRIVATE_KEYS"] = SecondKey.PrivateKey,
        ["DEPLOYMENT_MODE"] = "factory",
    };

    internal virtual IReadOnlyDictionary<string, string> LeaseSettings { get; } = new Dictionary<string, string>
    {
        ["SIGNER_LEASE_TTL"] = "3",
        ["SIGNER_LEASE_RENEW_INTERVAL"] = "1",
    };
}

/// <summary>The same pool with the default signer lease (10 s), for the handover pause at the default.</summary>
public sealed class DefaultLeasePoolReplicaCluster : PoolReplicaCluster
{
    internal override IReadOnlyDictionary<string, string> LeaseSettings { get; } = new Dictionary<string, string>();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PoolReplicaGroup : ICollectionFixture<PoolReplicaCluster>
{
    public const string Name = "two replicas, two signer keys";
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultLeasePoolReplicaGroup : ICollectionFixture<DefaultLeasePoolReplicaCluster>
{
    public const string Name = "two replicas, two signer keys, default lease";
}

[Collection(PoolReplicaGroup.Name)]
public sealed class PoolReplicaTests(PoolReplicaCluster cluster, ITestOutputHelper output) : PoolScenarios(cluster, output);

[Collection(DefaultLeasePoolReplicaGroup.Name)]
public sealed class DefaultLeasePoolReplicaTests(DefaultLeasePoolReplicaCluster cluster, ITestOutputHelper output) : PoolScenarios(cluster, output);

/// <summary>Two replicas × two keys, driven over HTTP and checked on chain with plain JSON-RPC.</summary>
public abstract class PoolScenarios(PoolReplicaCluster cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task Post_TwoHundredJobsOneReplicaKilled_AllCompleteOneTokenPerModelNoNonceGapKeysTakenOver()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var keys = cluster.Keys;

        // Fair share: one key each.
        var owners = await WaitForAsync(async () =>
        {
            var o0 = await cluster.SignerOwnerAsync(keys[0]);
            var o1 = await cluster.SignerOwnerAsync(keys[1]);
            return o0 is { } a && o1 is { } b && a != b ? new[] { a, b } : null;
        }, TimeSpan.FromSeconds(60), "each replica holding one key");
        await AssertReadyReportsTheSignerPoolAsync(hosts[0]);

        using var probe = new ChainProbe(cluster.Chain.RpcUrl);
        var before = await Task.WhenAll(keys.Select(probe.TransactionCountAsync));
        var firstBlock = await probe.BlockNumberAsync() + 1;
        var modelsBefore = await probe.ModelCountAsync(cluster.Chain.ModelRegistryAddress);
        var callers = Enumerable.Range(0, 40).Select(_ => cluster.NextCaller()).ToArray();

        // 16 requests at a time: on the shared 2-core machine 200 at once time the accept script out (503, retried).
        using var gate = new SemaphoreSlim(16);
        var posts = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await cluster.Api.PostUntilAcceptedAsync(hosts[i % 2], callers[i % callers.Length], cluster.NextModel("pool"), cluster.UserAddress, i % 2 == 0 ? "1000" : null);
            }
            finally
            {
                gate.Release();
            }
        }));
        Assert.All(posts, p => Assert.True(p.Status == HttpStatusCode.Accepted, p.Status == HttpStatusCode.Accepted ? null : $"{p}\n{cluster.Explain(p)}"));

        // kill -9 of one replica mid-run: once 60 of the 200 transactions are on chain.
        await WaitForAsync(async () => (await SentSinceAsync(probe, keys, before)) >= 60 ? true : (bool?)null, TimeSpan.FromSeconds(120), "60 transactions on chain");
        var victim = owners[0];
        var victimKey = keys[0];
        var survivor = hosts[1 - victim];
        using (var app = Process.GetProcessById(ReplicaCluster.AppProcessId(hosts[victim])))
        {
            app.Kill();
        }

        var killed = Stopwatch.StartNew();
        Assert.NotNull(await hosts[victim].WaitForExitAsync(TimeSpan.FromSeconds(10)));

        // Read once the process is gone: every transaction it sent is mined by now (automine), so the next one is the new owner's.
        var atKill = await probe.TransactionCountAsync(victimKey);

        // The pause of the dead replica's key: kill → its first new transaction on chain (signed by the survivor).
        var pause = WaitForAsync(async () => await probe.TransactionCountAsync(victimKey) > atKill ? killed.Elapsed : (TimeSpan?)null, TimeSpan.FromSeconds(120), "the dead replica's key signing again");
        var jobs = await cluster.Api.WaitForFinalAsync([survivor], callers, posts.Select(p => p.JobId).ToArray(), TimeSpan.FromMinutes(5), () => cluster.Tail());
        var allDone = killed.Elapsed;

        Assert.All(jobs.Values, j => Assert.True(j.Status == "completed", $"{j.ModelId}: {j.Status} {j.ErrorCode}"));

        // One token per model, each registered both ways, 200 more models.
        var registry = cluster.Chain.ModelRegistryAddress;
        Assert.Equal(200, jobs.Values.Select(j => j.TokenAddress!.ToLowerInvariant()).Distinct().Count());
        foreach (var job in jobs.Values)
        {
            Assert.Equal(job.TokenAddress!, await probe.RegisteredTokenAsync(registry, job.ModelId), StringComparer.OrdinalIgnoreCase);
        }

        Assert.Equal(modelsBefore + 200, await probe.ModelCountAsync(registry));

        // Per key: no gap and no conflict left (latest = pending), and its nonce moved by exactly the
        // transactions of it mined in the run; across both keys exactly 200 deployToken calls.
        var lastBlock = await probe.BlockNumberAsync();
        var mined = await MinedBySenderAsync(cluster.Chain.RpcUrl, firstBlock, lastBlock, keys, cluster.Chain.TokenManagerAddress);
        using var rpc = new JsonRpc(cluster.Chain.RpcUrl);
        for (var k = 0; k < keys.Count; k++)
        {
            var latest = JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionCount", keys[k], "latest")).GetString()!);
            var pending = JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionCount", keys[k], "pending")).GetString()!);
            Assert.Equal(latest, pending);
            Assert.Equal((long)latest - before[k], mined[keys[k]].All);
        }

        Assert.Equal(200, mined.Values.Sum(m => m.DeployTokens));

        // The survivor took the dead replica's key.
        var takenOver = await WaitForAsync(async () =>
            await cluster.SignerOwnerAsync(keys[0]) == 1 - victim && await cluster.SignerOwnerAsync(keys[1]) == 1 - victim ? true : (bool?)null,
            TimeSpan.FromSeconds(60), "the survivor holding both keys");
        Assert.True(takenOver == true);

        var signing = (await pause)!.Value;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"killed the owner of key 0 at {atKill - before[0]} of its transactions; key 0 signed again {signing.TotalSeconds:0.00} s later; all 200 done {allDone.TotalSeconds:0.0} s after the kill; " +
            $"deployToken per key: {string.Join(", ", keys.Select(k => mined[k].DeployTokens))}; other transactions (gap fillers): {mined.Values.Sum(m => m.All - m.DeployTokens)}; nonce-conflict log lines: {cluster.NonceConflictLines().Count}"));
    }

    private async Task AssertReadyReportsTheSignerPoolAsync(PublishedHost host)
    {
        var ready = await cluster.Api.GetAsync(host, "/health/ready");
        Assert.True(ready.Status == HttpStatusCode.OK, ready.ToString());
        Assert.Contains("signer_pool", ready.Body, StringComparison.Ordinal);
    }

    private static async Task<long> SentSinceAsync(ChainProbe probe, IReadOnlyList<string> keys, long[] before)
    {
        long sent = 0;
        for (var k = 0; k < keys.Count; k++)
        {
            sent += await probe.TransactionCountAsync(keys[k]) - before[k];
        }

        return sent;
    }

    /// <summary>Per sender: every transaction mined in the range, and how many of them are <c>deployToken</c> calls.</summary>
    private static async Task<Dictionary<string, (long All, long DeployTokens)>> MinedBySenderAsync(string url, long first, long last, IReadOnlyList<string> senders, string tokenManager)
    {
        using var rpc = new JsonRpc(url);
        var deployToken = JsonRpc.Selector("deployToken(string,string,string,string,address,uint256)");
        var counts = senders.ToDictionary(s => s, _ => (All: 0L, DeployTokens: 0L), StringComparer.OrdinalIgnoreCase);
        for (var n = first; n <= last; n++)
        {
            var block = await rpc.CallRawAsync("eth_getBlockByNumber", "0x" + n.ToString("x", CultureInfo.InvariantCulture), true);
            foreach (var tx in block.GetProperty("transactions").EnumerateArray())
            {
                var from = tx.GetProperty("from").GetString()!;
                if (!counts.TryGetValue(from, out var c))
                {
                    continue;
                }

                var to = tx.TryGetProperty("to", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                var isDeploy = string.Equals(to, tokenManager, StringComparison.OrdinalIgnoreCase) && tx.GetProperty("input").GetString()!.StartsWith(deployToken, StringComparison.OrdinalIgnoreCase);
                counts[from] = (c.All + 1, c.DeployTokens + (isDeploy ? 1 : 0));
            }
        }

        return counts;
    }

    private async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(sw.Elapsed < timeout, $"no {what} within {timeout.TotalSeconds:0} s\n{cluster.Tail()}");
            await Task.Delay(50);
        }
    }
}
