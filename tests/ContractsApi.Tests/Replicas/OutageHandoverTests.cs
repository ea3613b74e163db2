using System.Diagnostics;
using System.Globalization;
using System.Net;
using Xunit.Abstractions;

namespace ContractsApi.Tests.Replicas;

/// <summary>
/// The RPC refusing connections for 70 s (a TCP proxy in front of anvil) while 50 jobs are in flight on two replicas,
/// and the signer's owner killed with -9 during the outage: the other replica takes the lease while the RPC is still
/// down, and after recovery every job completes once, with no nonce gap.
/// </summary>
[Collection(OutageReplicaGroup.Name)]
public sealed class OutageHandoverTests(OutageReplicaCluster cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task Post_RpcRefused70SecondsOwnerKilledDuringIt_SurvivorCompletesAllFiftyWithoutGapOrDuplicate()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var callers = Enumerable.Range(0, 10).Select(_ => cluster.NextCaller()).ToArray();
        var owner = await WaitForOwnerAsync(h => h is not null);
        var survivor = hosts[1 - owner];
        using var probe = new ChainProbe(cluster.Chain.RpcUrl);
        var nonceBefore = await probe.TransactionCountAsync(cluster.Chain.DeployerAddress);
        var modelsBefore = await probe.ModelCountAsync(cluster.Chain.ModelRegistryAddress);

        var posts = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            cluster.Api.PostUntilAcceptedAsync(hosts[i % 2], callers[i % callers.Length], cluster.NextModel("outage"), cluster.UserAddress, "1000")));
        Assert.All(posts, p => Assert.True(p.Status == HttpStatusCode.Accepted, p.Status == HttpStatusCode.Accepted ? null : $"{p}\n{cluster.Explain(p)}"));

        // Cut the RPC with the pipeline busy, then kill the owner inside the outage.
        var busy = Stopwatch.StartNew();
        while (await probe.TransactionCountAsync(cluster.Chain.DeployerAddress) < nonceBefore + 20 && busy.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        cluster.Proxy.Refuse();
        var outage = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(5));
        using (var app = Process.GetProcessById(ReplicaCluster.AppProcessId(hosts[owner])))
        {
            app.Kill();
        }

        Assert.NotNull(await hosts[owner].WaitForExitAsync(TimeSpan.FromSeconds(10)));
        // The survivor takes the signer while the RPC still refuses (the lease lives in Redis).
        Assert.Equal(1 - owner, await WaitForOwnerAsync(h => h == 1 - owner));
        var handedOverAt = outage.Elapsed;
        var rest = TimeSpan.FromSeconds(70) - outage.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest);
        }

        cluster.Proxy.Accept();
        var recovered = Stopwatch.StartNew();
        var jobs = await cluster.Api.WaitForFinalAsync([survivor], callers, posts.Select(p => p.JobId).ToArray(), TimeSpan.FromMinutes(3), () => cluster.Tail());
        var drain = recovered.Elapsed;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"outage {outage.Elapsed - drain:g}, survivor owned the signer {handedOverAt.TotalSeconds:0.0} s into it; all 50 final {drain.TotalSeconds:0.0} s after recovery"));

        Assert.All(jobs.Values, j => Assert.True(j.Status == "completed", $"{j.ModelId}: {j.Status} {j.ErrorCode}\n{cluster.Tail()}"));
        // Generous for a loaded CI machine; on an idle one the drain is a few seconds (README).
        Assert.True(drain < TimeSpan.FromSeconds(90), $"drain took {drain}");
        Assert.Equal(50, jobs.Values.Select(j => j.TokenAddress!.ToLowerInvariant()).Distinct().Count());
        foreach (var job in jobs.Values)
        {
            Assert.Equal(job.TokenAddress!, await probe.RegisteredTokenAsync(cluster.Chain.ModelRegistryAddress, job.ModelId), StringComparer.OrdinalIgnoreCase);
        }

        // No duplicate: the key sent exactly the transactions the jobs report; no gap: nothing parked behind one.
        Assert.Equal(modelsBefore + 50, await probe.ModelCountAsync(cluster.Chain.ModelRegistryAddress));
        var latest = await probe.TransactionCountAsync(cluster.Chain.DeployerAddress);
        Assert.Equal(jobs.Values.Sum(j => j.ReportedTransactions), latest - nonceBefore);
        using var rpc = new Hokusai.Contracts.Tests.Chain.JsonRpc(cluster.Chain.RpcUrl);
        Assert.Equal(
            (await rpc.CallRawAsync("eth_getTransactionCount", cluster.Chain.DeployerAddress, "latest")).GetString(),
            (await rpc.CallRawAsync("eth_getTransactionCount", cluster.Chain.DeployerAddress, "pending")).GetString());
    }

    private async Task<int> WaitForOwnerAsync(Func<int?, bool> accept)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var owner = await cluster.SignerOwnerAsync();
            if (owner is { } index && accept(owner))
            {
                return index;
            }

            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "no expected host holds the signer lease\n" + cluster.Tail());
            await Task.Delay(100);
        }
    }
}
