using System.Diagnostics;
using System.Globalization;
using Hokusai.Contracts.Backends;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisListingTests(RedisFixture redis, ITestOutputHelper output) : IClassFixture<RedisFixture>
{
    private readonly CancellationToken _ct = CancellationToken.None;

    [Fact]
    public async Task ListAsync_TenThousandJobsOfOneCaller_ReadsOnlyThePageAndStaysFlat()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);

        // "small" has 100 jobs, "busy" 10,000: every tenth completed with signed transactions (kilobytes of raw bytes).
        await CreateJobsAsync(app, "small", 100);
        await CreateJobsAsync(app, "busy", 10_000);
        var small = await MeasureAsync(app, server, "small");
        var busy = await MeasureAsync(app, server, "busy");

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"100 jobs: list p50 {small.P50:0.00} ms, p99 {small.P99:0.00} ms, Redis {small.ServerMicros:0} µs/call; 10,000 jobs: list p50 {busy.P50:0.00} ms, p99 {busy.P99:0.00} ms, Redis {busy.ServerMicros:0} µs/call"));

        // The script's work is the page, whatever the history: the same number of job reads per call.
        Assert.Equal(small.ReadsPerCall, busy.ReadsPerCall);
        Assert.InRange(busy.ReadsPerCall, 20, 20.5);
        // And timing stays of the same order. The reads above are what proves the page-only work; this is a coarse
        // guard only: commandstats' usec is wall time inside Redis, and on a shared two-core machine a preempted
        // redis-server adds milliseconds to any call. A scan of 10,000 jobs would cost about 100×.
        Assert.True(busy.ServerMicros < (small.ServerMicros * 20) + 2000, $"Redis time grew from {small.ServerMicros} to {busy.ServerMicros} µs");

        var completed = await app.Store.ListAsync("busy", new DeploymentQuery(DeploymentStatus.Completed, Limit: 100), _ct);
        Assert.Equal(1_000, completed.Total);
        Assert.Equal(100, completed.Items.Count);
        Assert.All(completed.Items, job => Assert.Equal(string.Empty, job.Transactions.TokenDeployment!.RawTransaction));
        var pending = await app.Store.ListAsync("busy", new DeploymentQuery(DeploymentStatus.Pending, Page: 90, Limit: 100), _ct);
        Assert.Equal(9_000, pending.Total);
        Assert.Equal(100, pending.Items.Count);
        Assert.True(pending.Items.Zip(pending.Items.Skip(1)).All(p => p.First.CreatedAt >= p.Second.CreatedAt));
    }

    [Fact]
    public async Task ListAsync_PageBeyondTheEnd_ReturnsNothingWithTheTotal()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        await CreateJobsAsync(app, "alice", 3);

        var page = await app.Store.ListAsync("alice", new DeploymentQuery(Page: int.MaxValue, Limit: 100), _ct);
        var filtered = await app.Store.ListAsync("alice", new DeploymentQuery(DeploymentStatus.Pending, "m-alice-1", Page: int.MaxValue, Limit: 100), _ct);

        Assert.Empty(page.Items);
        Assert.Equal(3, page.Total);
        Assert.Empty(filtered.Items);
        Assert.Equal(1, filtered.Total);
    }

    [Fact]
    public async Task ListAsync_StatusAndModelFilters_FollowTransitions()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var first = Jobs.New(model: "alpha", createdAt: Jobs.Epoch);
        await app.Store.TryCreateAsync(first, _ct);
        var processing = first.Next(DeploymentStatus.Processing);
        Assert.True(await app.Store.TryUpdateAsync(processing, _ct));
        Assert.True(await app.Store.TryUpdateAsync(processing.Next(DeploymentStatus.Failed), _ct));
        var second = Jobs.New(model: "alpha", createdAt: Jobs.Epoch.AddSeconds(1));
        await app.Store.TryCreateAsync(second, _ct);
        var other = Jobs.New(model: "beta", createdAt: Jobs.Epoch.AddSeconds(2));
        await app.Store.TryCreateAsync(other, _ct);

        async Task<Guid[]> Ids(DeploymentStatus? status, string? model) =>
            (await app.Store.ListAsync("alice", new DeploymentQuery(status, model), _ct)).Items.Select(j => j.Id).ToArray();

        Assert.Equal([other.Id, second.Id, first.Id], await Ids(null, null));
        Assert.Equal([first.Id], await Ids(DeploymentStatus.Failed, null));
        Assert.Empty(await Ids(DeploymentStatus.Processing, null));
        Assert.Equal([other.Id, second.Id], await Ids(DeploymentStatus.Pending, null));
        Assert.Equal([second.Id, first.Id], await Ids(null, "alpha"));
        Assert.Equal([second.Id], await Ids(DeploymentStatus.Pending, "alpha"));
        Assert.Empty(await Ids(null, "gamma"));
    }

    [Fact]
    public async Task ListAsync_ExpiredJobs_LeaveEveryIndexAndTheTotal()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, configure: o => o.Retention = TimeSpan.FromSeconds(1));
        var kept = Jobs.New(model: "kept");
        var expiring = Jobs.New(model: "expiring");
        await app.Store.TryCreateAsync(kept, _ct);
        await app.Store.TryCreateAsync(expiring, _ct);
        Assert.True(await app.Store.TryUpdateAsync(expiring.Next(DeploymentStatus.Completed), _ct));

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await app.Store.GetAsync(expiring.Id, _ct) is not null || (await app.Store.ListAsync("alice", new DeploymentQuery(), _ct)).Total != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the expired job is still listed");
            await Task.Delay(100);
        }

        Assert.Equal(0, (await app.Store.ListAsync("alice", new DeploymentQuery(DeploymentStatus.Completed), _ct)).Total);
        Assert.False(await app.Database.KeyExistsAsync(app.Keys.OwnerModel("alice", "expiring")));
        Assert.Equal(0, await app.Database.SortedSetLengthAsync(app.Keys.OwnerExpiry("alice")));
    }

    [Fact]
    public async Task RawTransactions_KeptBesideTheJob_OnlyTheEngineReadGetsThem()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var job = Jobs.New();
        await app.Store.TryCreateAsync(job, _ct);
        var first = new SentTransaction("0xaaa", "0x" + new string('1', 8_000), 0);
        var sent = job.Next(DeploymentStatus.Processing) with { Transactions = new JobTransactions { TokenDeployment = first, TokenAddress = "0xtoken" } };
        Assert.True(await app.Store.TryUpdateAsync(sent, _ct));
        // A replacement (the first one's nonce was used elsewhere) leaves the old bytes unread.
        var replaced = sent.Next(DeploymentStatus.Processing) with { Transactions = sent.Transactions with { TokenDeployment = new SentTransaction("0xbbb", "0x" + new string('2', 8_000), 1) } };
        Assert.True(await app.Store.TryUpdateAsync(replaced, _ct));

        var engine = await app.Store.GetAsync(job.Id, _ct);
        var summary = await app.Store.GetSummaryAsync(job.Id, _ct);
        var listed = (await app.Store.ListAsync("alice", new DeploymentQuery(), _ct)).Items.Single();
        var data = (string)(await app.Database.HashGetAsync(app.Keys.Job(job.Id), "data"))!;

        Assert.Equal(replaced.Transactions.TokenDeployment!.RawTransaction, engine!.Transactions.TokenDeployment!.RawTransaction);
        Assert.Equal("0xbbb", summary!.Transactions.TokenDeployment!.Hash);
        Assert.Equal(string.Empty, summary.Transactions.TokenDeployment.RawTransaction);
        Assert.Equal(string.Empty, listed.Transactions.TokenDeployment!.RawTransaction);
        Assert.True(data.Length < 4_000, $"data is {data.Length} characters");
        // A job read for display and written back (a cancel) keeps the engine's bytes.
        Assert.True(await app.Store.TryUpdateAsync(summary.Next(DeploymentStatus.Processing), _ct));
        Assert.Equal(replaced.Transactions.TokenDeployment.RawTransaction, (await app.Store.GetAsync(job.Id, _ct))!.Transactions.TokenDeployment!.RawTransaction);
    }

    private async Task CreateJobsAsync(TestApp app, string owner, int count)
    {
        var start = Jobs.Epoch;
        for (var batch = 0; batch < count; batch += 500)
        {
            await Task.WhenAll(Enumerable.Range(batch, Math.Min(500, count - batch)).Select(async i =>
            {
                var job = Jobs.New(owner: owner, model: $"m-{owner}-{i}", createdAt: start.AddSeconds(i));
                Assert.Equal(CreateJobOutcome.Created, (await app.Store.TryCreateAsync(job, _ct)).Outcome);
                if (i % 10 == 0)
                {
                    var raw = "0x" + new string('a', 4_000);
                    var done = job.Next(DeploymentStatus.Completed) with
                    {
                        Transactions = new JobTransactions
                        {
                            TokenDeployment = new SentTransaction("0xd" + i, raw, (ulong)i),
                            Registration = new SentTransaction("0xr" + i, raw, (ulong)i + 1),
                            Mint = new SentTransaction("0xm" + i, raw, (ulong)i + 2),
                        },
                    };
                    Assert.True(await app.Store.TryUpdateAsync(done, _ct));
                }
            }));
        }
    }

    private async Task<(double P50, double P99, double ServerMicros, double ReadsPerCall)> MeasureAsync(TestApp app, IServer server, string owner)
    {
        await app.Store.ListAsync(owner, new DeploymentQuery(), _ct);
        await server.ExecuteAsync("CONFIG", "RESETSTAT");
        const int calls = 200;
        var latencies = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var query = (i % 2) switch { 0 => new DeploymentQuery(), _ => new DeploymentQuery(DeploymentStatus.Pending) };
            var watch = Stopwatch.StartNew();
            var page = await app.Store.ListAsync(owner, query with { Page = 1 + (i % 3), Limit = 20 }, _ct);
            latencies[i] = watch.Elapsed.TotalMilliseconds;
            Assert.Equal(20, page.Items.Count);
        }

        Array.Sort(latencies);
        var stats = (await server.InfoAsync("commandstats")).SelectMany(group => group).ToDictionary(pair => pair.Key, pair => pair.Value);
        double Field(string command, string name) =>
            stats.TryGetValue("cmdstat_" + command, out var value)
                ? double.Parse(value.Split(',').Single(part => part.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture)
                : 0;
        var scripts = Field("evalsha", "calls") + Field("eval", "calls");
        var micros = (Field("evalsha", "usec") + Field("eval", "usec")) / scripts;
        var reads = (Field("hget", "calls") + Field("hmget", "calls")) / scripts;
        return (latencies[calls / 2], latencies[(int)(calls * 0.99)], micros, reads);
    }
}
