using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.RateLimiting;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Hokusai.Contracts.Redis.Tests;

/// <summary>One three-master Redis Cluster for the class; tests isolate themselves with a key prefix of their own.</summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    public RedisCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await RedisCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class RedisClusterTests(RedisClusterFixture fixture, ITestOutputHelper output) : IClassFixture<RedisClusterFixture>
{
    private readonly CancellationToken _ct = CancellationToken.None;

    private TestApp Create(string? prefix = null, Action<RedisContractsOptions>? configure = null, TimeProvider? time = null) =>
        TestApp.Create(fixture.Cluster.ConnectionString, prefix, configure, time, contracts: o =>
        {
            o.Quotas.PerHour = 1_000;
            o.Quotas.PerDay = 1_000;
            o.Quotas.RequestsPerMinute = 5;
        });

    private static IDeploymentAcceptor Acceptor(TestApp app) => app.Provider.GetRequiredService<IDeploymentAcceptor>();

    [Fact]
    public async Task StoreAndAcceptor_OnACluster_CreateUpdateListAndCount()
    {
        await using var app = Create();
        Assert.Equal(3, app.Database.Multiplexer.GetEndPoints().Length);
        var jobs = Enumerable.Range(0, 6).Select(i => Jobs.New(owner: i % 2 == 0 ? "alice" : "bob", model: "c-" + i, idempotencyKey: "k" + i, createdAt: Jobs.Epoch.AddSeconds(i))).ToArray();
        foreach (var job in jobs)
        {
            Assert.Equal(AcceptOutcome.Accepted, (await Acceptor(app).AcceptAsync(job, null, _ct)).Outcome);
        }

        Assert.Equal(AcceptOutcome.IdempotentReplay, (await Acceptor(app).AcceptAsync(jobs[0] with { Id = Guid.NewGuid() }, null, _ct)).Outcome);
        Assert.Equal(AcceptOutcome.RegisteredOnChain, (await Acceptor(app).AcceptAsync(Jobs.New(model: "on-chain"), "0x01", _ct)).Outcome);
        Assert.Equal(CreateJobOutcome.ModelInProgress, (await app.Store.TryCreateAsync(Jobs.New(model: "c-1"), _ct)).Outcome);
        var processing = jobs[0].Next(DeploymentStatus.Processing);
        Assert.True(await app.Store.TryUpdateAsync(processing, _ct));
        Assert.True(await app.Store.TryUpdateAsync(processing.Next(DeploymentStatus.Completed), _ct));

        var alice = await app.Store.ListAsync("alice", new DeploymentQuery(Limit: 2), _ct);
        var completed = await app.Store.ListAsync("alice", new DeploymentQuery(DeploymentStatus.Completed), _ct);
        var counts = await app.Store.CountByStatusAsync(_ct);

        Assert.Equal(3, alice.Total);
        Assert.Equal([jobs[4].Id, jobs[2].Id], alice.Items.Select(j => j.Id));
        Assert.Equal([jobs[0].Id], completed.Items.Select(j => j.Id));
        Assert.Equal(5, counts[DeploymentStatus.Pending]);
        Assert.Equal(1, counts[DeploymentStatus.Completed]);
        Assert.Equal(5, await app.Store.GetUnfinishedAsync(_ct).ContinueWith(t => t.Result.Count, TaskScheduler.Default));
        Assert.Equal(1_000 - 4, (await app.Quota.TryAcquireAsync("alice", _ct)).Remaining);
    }

    [Fact]
    public async Task Queue_OnACluster_WakesAnotherReplicaAndHandsOverOnShutdown()
    {
        var prefix = TestApp.NewPrefix();
        var owner = Create(prefix, o => o.PollInterval = TimeSpan.FromMinutes(1));
        await using var other = Create(prefix);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var waiting = owner.Queue.DequeueAsync(timeout.Token).AsTask();
        await Task.Delay(300);
        var jobId = Guid.NewGuid();
        var watch = Stopwatch.StartNew();

        await other.Queue.EnqueueAsync(jobId, _ct);
        var item = await waiting;

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cluster: enqueue → dequeue on another replica in {watch.Elapsed.TotalMilliseconds:0.0} ms"));
        Assert.Equal(jobId, item?.JobId);
        // Shut down without acknowledging: the entry is handed over, and the other replica takes it at once.
        var waitingSurvivor = other.Queue.DequeueAsync(timeout.Token).AsTask();
        await owner.DisposeAsync();
        var reclaimed = await waitingSurvivor;
        Assert.Equal(jobId, reclaimed?.JobId);
        Assert.Equal(2, reclaimed!.DeliveryCount);
        await other.Queue.AcknowledgeAsync(reclaimed, _ct);
        Assert.Equal(0, await other.Queue.GetDepthAsync(_ct));
    }

    [Fact]
    public async Task LeaseAndRequestLimiter_OnACluster_ExcludeAndShare()
    {
        var prefix = TestApp.NewPrefix();
        // The request limit counts whole minutes of this clock (the leases keep wall-clock time).
        var time = Clocks.MidMinute();
        await using var first = Create(prefix, o => o.LeaseTtl = TimeSpan.FromSeconds(30), time);
        await using var second = Create(prefix, o => o.LeaseTtl = TimeSpan.FromSeconds(30), time);
        var lease = await first.Leases.AcquireAsync("0xAbC", _ct);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var next = second.Leases.AcquireAsync("0xabc", wait.Token).AsTask();
        await Task.Delay(300);
        Assert.False(next.IsCompleted);

        var watch = Stopwatch.StartNew();
        await lease.DisposeAsync();
        await using var taken = await next;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cluster: released lease taken by the waiting replica in {watch.Elapsed.TotalMilliseconds:0} ms (TTL 30 s)"));
        Assert.True(taken.FencingToken > lease.FencingToken);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20));

        using var a = PartitionedRateLimiter.Create<string, string>(first.RateLimiters.GetPartition);
        using var b = PartitionedRateLimiter.Create<string, string>(second.RateLimiters.GetPartition);
        var admitted = 0;
        for (var i = 0; i < 10; i++)
        {
            using var permit = await (i % 2 == 0 ? a : b).AcquireAsync("cluster-caller");
            admitted += permit.IsAcquired ? 1 : 0;
        }

        Assert.Equal(5, admitted);
    }

    [Fact]
    public async Task AcceptAsync_MasterKilledAndRestartedMidRun_LosesNothingAccepted()
    {
        await using var app = Create(configure: o => o.OperationTimeout = TimeSpan.FromMilliseconds(500));
        var master = await fixture.Cluster.MasterOfAsync(app.Keys.Tagged + "job:x");
        var accepted = new ConcurrentBag<Guid>();
        var refused = 0;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var job = Jobs.New(owner: "writer" + w, model: $"restart-{w}-{i}");
                try
                {
                    if ((await Acceptor(app).AcceptAsync(job, null, _ct)).Outcome == AcceptOutcome.Accepted)
                    {
                        accepted.Add(job.Id);
                    }
                }
                catch (StoreUnavailableException)
                {
                    Interlocked.Increment(ref refused);
                    await Task.Delay(20);
                }
            }
        })).ToArray();

        await WaitUntilAsync(() => accepted.Count >= 200);
        await fixture.Cluster.KillAsync(master);
        var down = Stopwatch.StartNew();
        await Task.Delay(500);
        await fixture.Cluster.StartAsync(master);
        var beforeRecovery = accepted.Count;
        await WaitUntilAsync(() => accepted.Count >= beforeRecovery + 200);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"master {master} killed and restarted; {accepted.Count} accepted, {refused} refused with 503 meanwhile; accepting again {down.Elapsed.TotalSeconds:0.0} s after the kill"));
        var queued = (await app.Database.StreamRangeAsync(app.Keys.Stream)).Select(e => Guid.Parse((string)e["jobId"]!)).ToHashSet();
        foreach (var id in accepted)
        {
            Assert.NotNull(await app.Store.GetAsync(id, _ct));
            Assert.Contains(id, queued);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 90 s");
            await Task.Delay(20);
        }
    }
}
