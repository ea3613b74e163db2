using System.Diagnostics;
using System.Threading.RateLimiting;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Hokusai.Contracts.Redis.Tests;

/// <summary>Each test stops its own redis-server, so none shares a fixture.</summary>
public sealed class RedisOutageTests
{
    // The 750 ms operation timeout is what fails a call fast (measured 385–407 ms for a request on an idle
    // machine, see README). These tests tell failing fast from hanging on a frozen server, which never answers
    // until resumed: the rest of the bound is scheduling slack for a shared two-core CI machine running several
    // test assemblies at once (one run took 1.25 s), so the bound is not what the README's figures promise.
    private static readonly TimeSpan s_failFastBound = TimeSpan.FromSeconds(5);

    /// <summary>A test app with the product's own operation timeout: these tests are about failing fast.</summary>
    private static TestApp Create(
        string connection,
        Action<RedisContractsOptions>? configure = null,
        Action<HokusaiContractsOptions>? contracts = null,
        TimeProvider? time = null) =>
        TestApp.Create(connection, configure: o =>
        {
            o.OperationTimeout = new RedisContractsOptions().OperationTimeout;
            configure?.Invoke(o);
        }, time: time, contracts: contracts);

    [Fact]
    public async Task Operations_RedisFrozen_FailFastWithStoreUnavailable_ThenRecover()
    {
        await using var server = await RedisServer.StartAsync();
        await using var app = Create(server.Url);
        var job = Jobs.New();
        Assert.Equal(CreateJobOutcome.Created, (await app.Store.TryCreateAsync(job, CancellationToken.None)).Outcome);
        var multiplexer = app.Database.Multiplexer;

        await server.PauseAsync();
        try
        {
            await AssertUnavailableFast(() => app.Store.TryCreateAsync(Jobs.New(model: "other"), CancellationToken.None));
            await AssertUnavailableFast(() => app.Store.GetAsync(job.Id, CancellationToken.None));
            await AssertUnavailableFast(() => app.Quota.TryAcquireAsync("alice", CancellationToken.None));
            await AssertUnavailableFast(() => app.Queue.EnqueueAsync(job.Id, CancellationToken.None).AsTask());
        }
        finally
        {
            await server.ResumeAsync();
        }

        await EventuallyAsync(async () => await app.Store.GetAsync(job.Id, CancellationToken.None) is not null);
        Assert.Same(multiplexer, app.Database.Multiplexer);
        Assert.Equal(CreateJobOutcome.Created, (await app.Store.TryCreateAsync(Jobs.New(model: "after"), CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task Operations_RedisKilled_FailFast_ThenRecoverOnRestartWithoutNewMultiplexer()
    {
        await using var server = await RedisServer.StartAsync();
        await using var app = Create(server.ConnectionString, configure: o => o.ClaimIdleTimeout = TimeSpan.FromSeconds(1));
        await app.Queue.EnqueueAsync(Guid.NewGuid(), CancellationToken.None);
        var multiplexer = app.Database.Multiplexer;

        await server.StopAsync();
        await AssertUnavailableFast(() => app.Store.TryCreateAsync(Jobs.New(), CancellationToken.None));
        await AssertUnavailableFast(() => app.Store.ListAsync("alice", new DeploymentQuery(), CancellationToken.None));
        await AssertUnavailableFast(() => app.Queue.GetDepthAsync(CancellationToken.None).AsTask());

        await server.RestartAsync();
        await EventuallyAsync(async () =>
            (await app.Store.TryCreateAsync(Jobs.New(), CancellationToken.None)).Outcome == CreateJobOutcome.Created);

        Assert.Same(multiplexer, app.Database.Multiplexer);
        // The restarted server is empty: the queue recreates its stream and group by itself.
        var jobId = Guid.NewGuid();
        await app.Queue.EnqueueAsync(jobId, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.Equal(jobId, (await app.Queue.DequeueAsync(timeout.Token))?.JobId);
    }

    [Fact]
    public async Task DequeueAsync_DuringOutage_KeepsWaitingAndDeliversAfterRecovery()
    {
        await using var server = await RedisServer.StartAsync();
        await using var app = Create(server.ConnectionString);
        var jobId = Guid.NewGuid();
        await app.Queue.EnqueueAsync(jobId, CancellationToken.None);

        await server.PauseAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var dequeue = app.Queue.DequeueAsync(timeout.Token).AsTask();
        await Task.Delay(1500);
        Assert.False(dequeue.IsCompleted);
        await server.ResumeAsync();

        Assert.Equal(jobId, (await dequeue)?.JobId);
    }

    [Fact]
    public async Task AcceptAsync_RedisFrozenPastTheTimeout_WritesNothingWhenItResumes()
    {
        const int Warm = 3;
        await using var server = await RedisServer.StartAsync();
        await using var app = Create(server.ConnectionString);
        var acceptor = app.Provider.GetRequiredService<IDeploymentAcceptor>();
        // A few accepted calls first: the deadline rests on the smallest round trip seen, and a lone first call
        // on a cold process (script load, JIT) can be slow enough to skew it, or to outlast the timeout itself.
        for (var i = 0; i < Warm; i++)
        {
            var model = "before-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await EventuallyAsync(async () =>
            {
                try
                {
                    return (await acceptor.AcceptAsync(Jobs.New(model: model), null, CancellationToken.None)).Outcome
                        is AcceptOutcome.Accepted or AcceptOutcome.ModelInProgress;
                }
                catch (StoreUnavailableException)
                {
                    return false;
                }
            });
        }

        await server.PauseAsync();
        try
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => acceptor.AcceptAsync(Jobs.New(model: "frozen"), null, CancellationToken.None));
            await Task.Delay(1_000); // frozen well past the deadline (its estimate errs late by the first call's delay)
        }
        finally
        {
            // The script was sent before the freeze was noticed: Redis runs it now, past its deadline.
            await server.ResumeAsync();
        }

        await EventuallyAsync(async () => await app.Database.PingAsync() < TimeSpan.FromSeconds(1));
        await Task.Delay(200);
        Assert.False(await app.Database.KeyExistsAsync(app.Keys.Claim("frozen")));
        Assert.Equal(Warm, await app.Database.StreamLengthAsync(app.Keys.Stream));
        Assert.Equal(Warm, await app.Database.SortedSetLengthAsync(app.Keys.Quota("alice")));
        await EventuallyAsync(async () => (await acceptor.AcceptAsync(Jobs.New(model: "after"), null, CancellationToken.None)).Outcome == AcceptOutcome.Accepted);
    }

    [Fact]
    public async Task HealthCheck_ReportsRedisState()
    {
        await using var server = await RedisServer.StartAsync();
        await using var app = Create(server.ConnectionString);
        var health = app.Provider.GetRequiredService<HealthCheckService>();

        var up = await health.CheckHealthAsync(r => r.Tags.Contains("ready"));
        Assert.Equal(HealthStatus.Healthy, up.Status);
        Assert.True(up.Entries.ContainsKey(HokusaiContractsRedisExtensions.HealthCheckName));

        await server.PauseAsync();
        try
        {
            var watch = Stopwatch.StartNew();
            var down = await health.CheckHealthAsync(r => r.Tags.Contains("ready"));
            Assert.Equal(HealthStatus.Unhealthy, down.Status);
            Assert.True(watch.Elapsed < s_failFastBound, $"took {watch.Elapsed}, expected under {s_failFastBound}");
        }
        finally
        {
            await server.ResumeAsync();
        }
    }

    [Fact]
    public async Task Lease_RedisUnreachableForATtl_SignalsLost()
    {
        await using var server = await RedisServer.StartAsync();
        await using var app = Create(server.ConnectionString, configure: o => o.LeaseTtl = TimeSpan.FromMilliseconds(900));
        await using var lease = await app.Leases.AcquireAsync("0x0000000000000000000000000000000000000001", CancellationToken.None);

        await server.PauseAsync();
        try
        {
            var watch = Stopwatch.StartNew();
            var lost = new TaskCompletionSource();
            using var registration = lease.Lost.Register(lost.SetResult);
            await lost.Task.WaitAsync(TimeSpan.FromSeconds(60));
            // One TTL after the last renewal at the latest (which was sent before the pause), plus slack for a loaded
            // machine: the lease ends by its own clock and never waits for the frozen server to answer.
            Assert.True(watch.Elapsed <= TimeSpan.FromMilliseconds(900) + s_failFastBound, $"lost after {watch.Elapsed}");
        }
        finally
        {
            await server.ResumeAsync();
        }
    }

    [Fact]
    public async Task RequestLimiter_RedisFrozen_LetsRequestsThrough()
    {
        await using var server = await RedisServer.StartAsync();
        // The limit counts whole minutes of this clock: at a minute's turn the wall clock would forget "caller".
        await using var app = Create(server.ConnectionString, contracts: o => o.Quotas.RequestsPerMinute = 1, time: Clocks.MidMinute());
        using var limiter = PartitionedRateLimiter.Create<string, string>(app.RateLimiters.GetPartition);
        using (var first = await limiter.AcquireAsync("caller"))
        {
            Assert.True(first.IsAcquired);
        }

        using (var second = await limiter.AcquireAsync("caller"))
        {
            Assert.False(second.IsAcquired);
        }

        await server.PauseAsync();
        try
        {
            // A caller this replica knows nothing about needs Redis (the limit of 1 leaves no local allowance):
            // it is let through within the limiter's budget. The caller known to be over the limit stays refused.
            var watch = Stopwatch.StartNew();
            using var lease = await limiter.AcquireAsync("other-caller");
            Assert.True(lease.IsAcquired);
            Assert.True(watch.Elapsed < s_failFastBound, $"took {watch.Elapsed}, expected under {s_failFastBound}");
            using var known = await limiter.AcquireAsync("caller");
            Assert.False(known.IsAcquired);
        }
        finally
        {
            await server.ResumeAsync();
        }
    }

    [Fact]
    public async Task RequestLimitThenStore_RedisFrozen_WholeRequestFailsFast()
    {
        await using var server = await RedisServer.StartAsync();
        await using var app = Create(server.ConnectionString, contracts: o => o.Quotas.RequestsPerMinute = 100);
        using var limiter = PartitionedRateLimiter.Create<string, string>(app.RateLimiters.GetPartition);
        using (var warm = await limiter.AcquireAsync("caller"))
        {
            Assert.True(warm.IsAcquired);
        }

        await server.PauseAsync();
        try
        {
            // What one POST does: the request limit, then the store. Each call alone fails fast; together they
            // must too, and so must the requests that follow.
            for (var i = 0; i < 3; i++)
            {
                var watch = Stopwatch.StartNew();
                using (var lease = await limiter.AcquireAsync("caller"))
                {
                    Assert.True(lease.IsAcquired);
                }

                await Assert.ThrowsAsync<StoreUnavailableException>(() => app.Store.GetModelClaimAsync("model", CancellationToken.None));
                Assert.True(watch.Elapsed < s_failFastBound, $"request {i} failed after {watch.Elapsed}, expected under {s_failFastBound}");
            }
        }
        finally
        {
            await server.ResumeAsync();
        }

        await EventuallyAsync(async () => await app.Store.GetModelClaimAsync("model", CancellationToken.None) is null);
    }

    private static async Task AssertUnavailableFast(Func<Task> operation)
    {
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<StoreUnavailableException>(operation);
        Assert.True(watch.Elapsed < s_failFastBound, $"failed after {watch.Elapsed}, expected under {s_failFastBound}");
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (StoreUnavailableException) when (DateTime.UtcNow < deadline)
            {
                // Still reconnecting.
            }

            Assert.True(DateTime.UtcNow < deadline, "Redis operations did not recover within 20 s.");
            await Task.Delay(200);
        }
    }
}
