using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Redis.Tests;

/// <summary>
/// The request breaker on the injected clock. The guarded operations are plain delegates, and the connection is one
/// that cannot connect: no redis-server is needed to see when the breaker lets a call through.
/// </summary>
public sealed class RedisExecutorBreakerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private int _connects;

    private RedisExecutor Create() => new(
        new RedisConnection(
            () =>
            {
                Interlocked.Increment(ref _connects);
                throw new TimeoutException("no server in this test");
            },
            owns: false,
            NullLogger<RedisConnection>.Instance),
        Options.Create(new RedisContractsOptions { Configuration = "localhost:1" }),
        _time);

    private static Task<int> TimedOut(CancellationToken _) =>
        Task.FromException<int>(new StoreUnavailableException("Redis did not answer in time.", new TimeoutException()));

    private static async Task<bool> Passes(RedisExecutor redis)
    {
        var called = false;
        try
        {
            await redis.RunGuardedAsync(_ => { called = true; return Task.FromResult(1); }, CancellationToken.None);
        }
        catch (StoreUnavailableException)
        {
            Assert.False(called);
        }

        return called;
    }

    [Fact]
    public async Task RunGuardedAsync_TwoFailures_FailsTheNextCallAtOnceWithoutStartingIt()
    {
        var redis = Create();

        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));

        var started = false;
        var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() =>
            redis.RunGuardedAsync(_ => { started = true; return Task.FromResult(1); }, CancellationToken.None, "GetModelClaimAsync"));
        Assert.False(started);
        Assert.Contains("GetModelClaimAsync not attempted", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunGuardedAsync_PlainTimeoutOfTheOperation_CountsAsAFailureAndSurfacesAsStoreUnavailable()
    {
        var redis = Create();

        for (var i = 0; i < 2; i++)
        {
            var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() =>
                redis.RunGuardedAsync<int>(_ => throw new TimeoutException(), CancellationToken.None));
            Assert.IsType<TimeoutException>(ex.InnerException);
        }

        Assert.False(await Passes(redis));
    }

    [Fact]
    public async Task RunGuardedAsync_OpenBreaker_TriesAgainOnlyWhenTheInjectedClockPassesTheBreakDuration()
    {
        var redis = Create();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));

        _time.Advance(RedisExecutor.BreakDuration - TimeSpan.FromMilliseconds(1));
        Assert.False(await Passes(redis));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await Passes(redis));
        // The trial call succeeded: closed again, every call goes through.
        Assert.True(await Passes(redis));
        Assert.True(await Passes(redis));
    }

    [Fact]
    public async Task RunGuardedAsync_TrialCallFails_StaysOpenForAnotherBreakDuration()
    {
        var redis = Create();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));

        _time.Advance(RedisExecutor.BreakDuration);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));

        Assert.False(await Passes(redis));
        _time.Advance(RedisExecutor.BreakDuration);
        Assert.True(await Passes(redis));
    }

    [Fact]
    public async Task RunGuardedAsync_OneFailureAmongAnsweredCalls_StaysClosed()
    {
        var redis = Create();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await Passes(redis));
        }

        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));

        Assert.True(await Passes(redis));
    }

    [Fact]
    public async Task RunGuardedAsync_CallerCancels_DoesNotCountAsAnOutage()
    {
        var redis = Create();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                redis.RunGuardedAsync<int>(ct => { ct.ThrowIfCancellationRequested(); return Task.FromResult(1); }, cts.Token));
        }

        Assert.True(await Passes(redis));
    }

    [Fact]
    public async Task RunAsync_EngineCallWhileTheRequestBreakerIsOpen_StillTriesRedis()
    {
        var redis = Create();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunGuardedAsync(TimedOut, CancellationToken.None));
        Assert.False(await Passes(redis));

        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunAsync(db => db.PingAsync(), CancellationToken.None));

        Assert.Equal(1, _connects);
    }

    [Fact]
    public async Task RunRequestAsync_RedisUnreachable_OpensTheBreakerSoLaterRequestsDoNotConnect()
    {
        var redis = Create();

        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunRequestAsync(db => db.PingAsync(), CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunRequestAsync(db => db.PingAsync(), CancellationToken.None));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunRequestAsync(db => db.PingAsync(), CancellationToken.None));

        Assert.Equal(2, _connects);
    }

    [Fact]
    public async Task RedisAvailableGauge_ReportsTheLastOutcomeOnTheLibrarysMeter()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        using var gauge = new MetricCollector<int>(factory, HokusaiContractsDiagnostics.MeterName, HokusaiContractsDiagnostics.InstrumentPrefix + "redis.available");
        var metrics = new RedisMetrics(factory);
        var redis = new RedisExecutor(
            new RedisConnection(() => throw new TimeoutException("no server in this test"), owns: false, NullLogger<RedisConnection>.Instance),
            Options.Create(new RedisContractsOptions { Configuration = "localhost:1" }),
            _time,
            metrics);

        gauge.RecordObservableInstruments();
        Assert.Empty(gauge.GetMeasurementSnapshot());

        metrics.ReportAvailable(true);
        gauge.RecordObservableInstruments();
        Assert.Equal(1, gauge.LastMeasurement?.Value);

        await Assert.ThrowsAsync<StoreUnavailableException>(() => redis.RunAsync(db => db.PingAsync(), CancellationToken.None));
        gauge.RecordObservableInstruments();
        Assert.Equal(0, gauge.LastMeasurement?.Value);
    }
}
