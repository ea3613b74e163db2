using System.Diagnostics;
using System.Globalization;
using System.Net;
using ContractsApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ContractsApi.Tests.Replicas;

/// <summary>Two published host processes on one standalone Redis (the default 10 s signer lease).</summary>
[Collection(ReplicaGroup.Name)]
public sealed class TwoReplicaTests(ReplicaCluster cluster, ITestOutputHelper output) : ReplicaScenarios(cluster, output);

/// <summary>The same scenarios on a three-master Redis Cluster, with a 3 s signer lease.</summary>
[Collection(ClusterReplicaGroup.Name)]
public sealed class ClusterTwoReplicaTests(ClusterReplicaCluster cluster, ITestOutputHelper output) : ReplicaScenarios(cluster, output);

/// <summary>
/// The end-to-end scenarios: two published host processes on one Redis, one anvil and one
/// deployer key, driven over real HTTP and checked on chain with plain JSON-RPC.
/// </summary>
public abstract class ReplicaScenarios(ReplicaCluster cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan s_completion = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Post_FortyModelsAcrossBothReplicas_AllCompleteOnceWithoutNonceConflicts()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var callers = Enumerable.Range(0, 8).Select(_ => cluster.NextCaller()).ToArray();
        var before = await ChainMarkAsync();
        var offsets = cluster.LogOffsets();

        // Alternate instances and callers (5 each: the default hourly quota); half the jobs also mint.
        var sw = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(8);
        var posts = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var model = cluster.NextModel("forty");
            await gate.WaitAsync();
            try
            {
                var response = await cluster.Api.PostUntilAcceptedAsync(hosts[i % 2], callers[i % callers.Length], model, cluster.UserAddress, i % 2 == 0 ? "1000" : null);
                return (Model: model, Caller: callers[i % callers.Length], Response: response);
            }
            finally
            {
                gate.Release();
            }
        }));
        var accepted = sw.Elapsed;
        Assert.All(posts, p => Assert.True(p.Response.Status == HttpStatusCode.Accepted, p.Response.Status == HttpStatusCode.Accepted ? null : $"{p.Response}\n{cluster.Explain(p.Response)}"));

        var jobs = await cluster.Api.WaitForFinalAsync(hosts, callers, posts.Select(p => p.Response.JobId).ToArray(), s_completion, () => cluster.Tail());
        var done = sw.Elapsed;
        Assert.All(jobs.Values, j => Assert.True(j.Status == "completed", $"{j.ModelId}: {j.Status} {j.ErrorCode}"));
        Assert.Equal(posts.Select(p => p.Model).Order(), jobs.Values.Select(j => j.ModelId).Order());

        await AssertOnChainAsync(before, jobs.Values);
        var conflicts = cluster.NonceConflictLines(offsets);
        Assert.True(conflicts.Count == 0, conflicts.Count == 0 ? null : string.Join('\n', conflicts) + "\n" + cluster.Tail(150));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"40 deployments over 2 replicas: accepted in {accepted.TotalMilliseconds:0} ms, all completed in {done.TotalMilliseconds:0} ms ({40 / done.TotalSeconds:0.0} deployments/s)"));
    }

    [Fact]
    public async Task Post_SameModelToBothReplicasAtOnce_OneAcceptedOneConflict()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var (first, second) = (cluster.NextCaller(), cluster.NextCaller());
        var before = await ChainMarkAsync();
        var accepted = new List<Guid>();
        for (var round = 0; round < 5; round++)
        {
            var model = cluster.NextModel("same");
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var a = Task.Run(async () => { await start.Task; return await cluster.Api.PostAsync(hosts[0], first, model, cluster.UserAddress); });
            var b = Task.Run(async () => { await start.Task; return await cluster.Api.PostAsync(hosts[1], second, model, cluster.UserAddress); });
            start.SetResult();
            var answers = await Task.WhenAll(a, b);

            var statuses = answers.Select(r => (int)r.Status).Order().ToArray();
            Assert.True(statuses.SequenceEqual([202, 409]), string.Join(" | ", answers.Select(r => r.ToString())));
            var conflict = answers.Single(r => r.Status == HttpStatusCode.Conflict);
            Assert.Contains(conflict.ErrorCode, new[] { "DEPLOYMENT_IN_PROGRESS", "TOKEN_ALREADY_EXISTS" });
            accepted.Add(answers.Single(r => r.Status == HttpStatusCode.Accepted).JobId);
        }

        var jobs = await cluster.Api.WaitForFinalAsync(hosts, [first, second], accepted, s_completion, () => cluster.Tail());
        Assert.All(jobs.Values, j => Assert.Equal("completed", j.Status));
        await AssertOnChainAsync(before, jobs.Values);
    }

    [Fact]
    public async Task Post_SixthDeploymentOfCallerOnEitherReplica_RateLimitExceeded()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var caller = cluster.NextCaller();
        var before = await ChainMarkAsync();
        var accepted = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var response = await cluster.Api.PostAsync(hosts[i % 2], caller, cluster.NextModel("quota"), cluster.UserAddress);
            Assert.True(response.Status == HttpStatusCode.Accepted, response.ToString());
            Assert.Equal((4 - i).ToString(CultureInfo.InvariantCulture), response.Headers["RateLimit-Remaining"]);
            accepted.Add(response.JobId);
        }

        // The sixth, and a seventh, on each instance in turn: the count lives in Redis, not in a process.
        foreach (var host in new[] { hosts[1], hosts[0] })
        {
            var refused = await cluster.Api.PostAsync(host, caller, cluster.NextModel("quota"), cluster.UserAddress);
            Assert.True(refused.Status == HttpStatusCode.TooManyRequests, refused.ToString());
            Assert.Equal("RATE_LIMIT_EXCEEDED", refused.ErrorCode);
            Assert.True(refused.Retryable);
            var retryAfter = int.Parse(refused.Headers["Retry-After"], CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 3600);
            Assert.Equal("5", refused.Headers["RateLimit-Limit"]);
            Assert.Equal("0", refused.Headers["RateLimit-Remaining"]);
        }

        var jobs = await cluster.Api.WaitForFinalAsync(hosts, [caller], accepted, s_completion, () => cluster.Tail());
        Assert.All(jobs.Values, j => Assert.Equal("completed", j.Status));
        await AssertOnChainAsync(before, jobs.Values);
    }

    [Fact]
    public async Task Post_RedisFrozenThenResumed_ServiceUnavailableWithinOneSecondThenAcceptedJobsComplete()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var callers = new[] { cluster.NextCaller(), cluster.NextCaller() };
        var before = await ChainMarkAsync();
        var accepted = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            var response = await cluster.Api.PostAsync(hosts[i % 2], callers[i % 2], cluster.NextModel("frozen"), cluster.UserAddress);
            Assert.True(response.Status == HttpStatusCode.Accepted, response.ToString());
            accepted.Add(response.JobId);
        }

        // SIGSTOP: connections stay open and nothing answers, the hardest case for a timeout.
        await cluster.Redis.PauseAsync();
        var outage = Stopwatch.StartNew();
        try
        {
            var slowest = TimeSpan.Zero;
            for (var i = 0; i < 4; i++)
            {
                var refused = await cluster.Api.PostAsync(hosts[i % 2], callers[i % 2], cluster.NextModel("frozen"), cluster.UserAddress);
                Assert.True(refused.Status == HttpStatusCode.ServiceUnavailable, refused.ToString());
                Assert.Equal("SERVICE_UNAVAILABLE", refused.ErrorCode);
                Assert.True(refused.Retryable);
                Assert.True(refused.Headers.ContainsKey("Retry-After"));
                Assert.True(refused.Elapsed < cluster.UnavailableWithin, refused.ToString());
                slowest = refused.Elapsed > slowest ? refused.Elapsed : slowest;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"frozen Redis: slowest 503 in {slowest.TotalMilliseconds:0} ms"));
            var rest = TimeSpan.FromSeconds(3) - outage.Elapsed;
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }
        }
        finally
        {
            await cluster.Redis.ResumeAsync();
        }

        var recovered = Stopwatch.StartNew();
        foreach (var (host, i) in hosts.Select((h, i) => (h, i)))
        {
            accepted.Add(await PostUntilAcceptedAsync(host, callers[i], "frozen"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"frozen Redis for {outage.Elapsed.TotalSeconds:0.0} s; both instances accepted again {recovered.Elapsed.TotalMilliseconds:0} ms after SIGCONT"));
        Assert.All(hosts, h => Assert.False(h.HasExited));
        var jobs = await cluster.Api.WaitForFinalAsync(hosts, callers, accepted, s_completion, () => cluster.Tail());
        Assert.All(jobs.Values, j => Assert.True(j.Status == "completed", $"{j.ModelId}: {j.Status} {j.ErrorCode}"));
        await AssertOnChainAsync(before, jobs.Values);
    }

    [Fact]
    public async Task Post_RedisKilledThenRestarted_ServiceUnavailableWithinOneSecondThenReconnectsWithoutRestart()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var pids = hosts.Select(h => h.ProcessId).ToArray();
        var callers = new[] { cluster.NextCaller(), cluster.NextCaller() };
        var before = await ChainMarkAsync();

        await cluster.Redis.StopAsync();
        var timings = new List<TimeSpan>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var refused = await cluster.Api.PostAsync(hosts[i % 2], callers[i % 2], cluster.NextModel("killed"), cluster.UserAddress);
                timings.Add(refused.Elapsed);
                Assert.True(refused.Status == HttpStatusCode.ServiceUnavailable, refused.ToString());
                Assert.Equal("SERVICE_UNAVAILABLE", refused.ErrorCode);
                Assert.True(refused.Retryable);
                Assert.True(refused.Elapsed < cluster.UnavailableWithin, refused.ToString());
            }
        }
        finally
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"killed Redis: 503s in {string.Join(", ", timings.Select(t => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)))} ms"));
            // Same port: an empty data set for the standalone test server, its AOF for the cluster's master.
            await cluster.Redis.RestartAsync();
        }

        var recovered = Stopwatch.StartNew();
        var accepted = new List<Guid>();
        foreach (var (host, i) in hosts.Select((h, i) => (h, i)))
        {
            accepted.Add(await PostUntilAcceptedAsync(host, callers[i], "killed"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"restarted Redis: both instances accepted again {recovered.Elapsed.TotalMilliseconds:0} ms after it answered PING"));
        Assert.Equal(pids, cluster.Hosts.Select(h => h.ProcessId));
        Assert.All(hosts, h => Assert.False(h.HasExited));
        var jobs = await cluster.Api.WaitForFinalAsync(hosts, callers, accepted, s_completion, () => cluster.Tail());
        Assert.All(jobs.Values, j => Assert.True(j.Status == "completed", $"{j.ModelId}: {j.Status} {j.ErrorCode}"));
        await AssertOnChainAsync(before, jobs.Values);
    }

    [Fact]
    public async Task Post_SignerOwnerKilled_OtherReplicaTakesOverWithoutSecondToken()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var callers = new[] { cluster.NextCaller(), cluster.NextCaller() };
        var owner = await WaitForOwnerAsync();
        var survivor = hosts[1 - owner];
        var before = await ChainMarkAsync();

        var accepted = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            var response = await cluster.Api.PostUntilAcceptedAsync(hosts[i % 2], callers[i % 2], cluster.NextModel("takeover"), cluster.UserAddress, "1000");
            Assert.True(response.Status == HttpStatusCode.Accepted, response.ToString());
            accepted.Add(response.JobId);
        }

        // Kill the owner mid-work: once its first transactions are on chain, without any shutdown.
        var deadline = Stopwatch.StartNew();
        var probe = new ChainProbe(cluster.Chain.RpcUrl);
        using (probe)
        {
            while (await probe.TransactionCountAsync(cluster.Chain.DeployerAddress) < before.Nonce + 2 && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }
        }

        using (var app = Process.GetProcessById(ReplicaCluster.AppProcessId(hosts[owner])))
        {
            app.Kill();
        }

        var killed = Stopwatch.StartNew();
        Assert.NotNull(await hosts[owner].WaitForExitAsync(TimeSpan.FromSeconds(10)));

        // The signing pause: from the kill until the survivor's first new transaction reaches the chain.
        long atKill;
        using (var pauseProbe = new ChainProbe(cluster.Chain.RpcUrl))
        {
            atKill = await pauseProbe.TransactionCountAsync(cluster.Chain.DeployerAddress);
        }

        var pause = Task.Run(async () =>
        {
            using var probe = new ChainProbe(cluster.Chain.RpcUrl);
            while (killed.Elapsed < s_completion && await probe.TransactionCountAsync(cluster.Chain.DeployerAddress) <= atKill)
            {
                await Task.Delay(50);
            }

            return killed.Elapsed;
        });

        var jobs = await cluster.Api.WaitForFinalAsync([survivor], callers, accepted, s_completion, () => cluster.Tail());
        var takeover = killed.Elapsed;
        Assert.All(jobs.Values, j => Assert.True(j.Status == "completed", $"{j.ModelId}: {j.Status} {j.ErrorCode}"));
        Assert.Equal(1 - owner, await cluster.SignerOwnerAsync());
        await AssertOnChainAsync(before, jobs.Values);
        var paused = await pause;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"owner killed; the other replica signed again {paused.TotalSeconds:0.0} s later and completed all 10 jobs {takeover.TotalSeconds:0.0} s later"));
    }

    [Fact]
    public async Task Post_HundredJobsOwnerKilledMidPipeline_AllCompleteOneTokenPerModelNoNonceGap()
    {
        await cluster.EnsureRunningAsync();
        var hosts = cluster.Hosts;
        var callers = Enumerable.Range(0, 20).Select(_ => cluster.NextCaller()).ToArray();
        var owner = await WaitForOwnerAsync();
        var survivor = hosts[1 - owner];
        var before = await ChainMarkAsync();

        var posts = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            cluster.Api.PostUntilAcceptedAsync(hosts[i % 2], callers[i % callers.Length], cluster.NextModel("pipeline"), cluster.UserAddress, "1000")));
        Assert.All(posts, p => Assert.True(p.Status == HttpStatusCode.Accepted, p.Status == HttpStatusCode.Accepted ? null : $"{p}\n{cluster.Explain(p)}"));

        // kill -9 of the signer owner with its pipeline full: once 30 of the jobs' transactions are on chain.
        using (var probe = new ChainProbe(cluster.Chain.RpcUrl))
        {
            var deadline = Stopwatch.StartNew();
            while (await probe.TransactionCountAsync(cluster.Chain.DeployerAddress) < before.Nonce + 30 && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(20);
            }
        }

        using (var app = Process.GetProcessById(ReplicaCluster.AppProcessId(hosts[owner])))
        {
            app.Kill();
        }

        Assert.NotNull(await hosts[owner].WaitForExitAsync(TimeSpan.FromSeconds(10)));
        var jobs = await cluster.Api.WaitForFinalAsync([survivor], callers, posts.Select(p => p.JobId).ToArray(), TimeSpan.FromMinutes(3), () => cluster.Tail());

        Assert.All(jobs.Values, j => Assert.True(j.Status == "completed", $"{j.ModelId}: {j.Status} {j.ErrorCode}"));
        await AssertOnChainAsync(before, jobs.Values);
        using var rpc = new Hokusai.Contracts.Tests.Chain.JsonRpc(cluster.Chain.RpcUrl);
        var latest = (await rpc.CallRawAsync("eth_getTransactionCount", cluster.Chain.DeployerAddress, "latest")).GetString();
        var pending = (await rpc.CallRawAsync("eth_getTransactionCount", cluster.Chain.DeployerAddress, "pending")).GetString();
        Assert.Equal(latest, pending);
    }

    private async Task<Guid> PostUntilAcceptedAsync(PublishedHost host, Caller caller, string tag)
    {
        var sw = Stopwatch.StartNew();
        var model = cluster.NextModel(tag);
        while (true)
        {
            var response = await cluster.Api.PostAsync(host, caller, model, cluster.UserAddress);
            if (response.Status == HttpStatusCode.Accepted)
            {
                return response.JobId;
            }

            Assert.True(response.Status == HttpStatusCode.ServiceUnavailable, response.ToString());
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), "no recovery within 20 s: " + response);
            await Task.Delay(100);
        }
    }

    private async Task<int> WaitForOwnerAsync()
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (await cluster.SignerOwnerAsync() is { } owner)
            {
                return owner;
            }

            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), "no host took the signer lease\n" + cluster.Tail());
            await Task.Delay(100);
        }
    }

    private sealed record ChainMark(long Nonce, long Block, long Models);

    private async Task<ChainMark> ChainMarkAsync()
    {
        using var probe = new ChainProbe(cluster.Chain.RpcUrl);
        return new ChainMark(
            await probe.TransactionCountAsync(cluster.Chain.DeployerAddress),
            await probe.BlockNumberAsync(),
            await probe.ModelCountAsync(cluster.Chain.ModelRegistryAddress));
    }

    /// <summary>
    /// Each job's model maps to its own token and back, every token is distinct and has code, exactly one
    /// token contract was created per job, and the deployer sent exactly the transactions the jobs report.
    /// </summary>
    private async Task AssertOnChainAsync(ChainMark before, IEnumerable<JobView> completed)
    {
        var jobs = completed.ToArray();
        using var probe = new ChainProbe(cluster.Chain.RpcUrl);
        var registry = cluster.Chain.ModelRegistryAddress;
        Assert.Equal(jobs.Length, jobs.Select(j => j.TokenAddress!.ToLowerInvariant()).Distinct().Count());
        foreach (var job in jobs)
        {
            Assert.Equal(job.TokenAddress!, await probe.RegisteredTokenAsync(registry, job.ModelId), StringComparer.OrdinalIgnoreCase);
            Assert.Equal(job.ModelId, await probe.RegisteredModelAsync(registry, job.TokenAddress!));
            Assert.True((await probe.CodeAsync(job.TokenAddress!)).Length > 2, $"no code at {job.TokenAddress}");
        }

        var nonce = await probe.TransactionCountAsync(cluster.Chain.DeployerAddress);
        var block = await probe.BlockNumberAsync();
        Assert.Equal(before.Models + jobs.Length, await probe.ModelCountAsync(registry));
        Assert.Equal(jobs.Length, await probe.ContractCreationsAsync(cluster.Chain.DeployerAddress, before.Block + 1, block, cluster.Chain.TokenManagerAddress));
        // Besides the jobs' own transactions, only gap fillers: a nonce a killed owner handed out but never sent.
        var fillers = await probe.GapFillersAsync(cluster.Chain.DeployerAddress, before.Block + 1, block);
        Assert.Equal(jobs.Sum(j => j.ReportedTransactions) + fillers, nonce - before.Nonce);
    }
}
