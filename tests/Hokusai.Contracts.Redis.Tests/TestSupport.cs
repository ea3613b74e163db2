using System.Numerics;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

/// <summary>One redis-server per test class; tests isolate themselves with a key prefix of their own.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

internal sealed class TestBuilder(IServiceCollection services) : IHokusaiContractsBuilder
{
    public IServiceCollection Services { get; } = services;
}

/// <summary>An "app instance": its own container and its own multiplexer.</summary>
internal sealed class TestApp : IAsyncDisposable
{
    private TestApp(ServiceProvider provider, string prefix)
    {
        Provider = provider;
        Prefix = prefix;
    }

    public ServiceProvider Provider { get; }

    public string Prefix { get; }

    public IDeploymentStore Store => Provider.GetRequiredService<IDeploymentStore>();

    public IDeploymentQueue Queue => Provider.GetRequiredService<IDeploymentQueue>();

    public IDeploymentQuota Quota => Provider.GetRequiredService<IDeploymentQuota>();

    public ISignerLeaseManager Leases => Provider.GetRequiredService<ISignerLeaseManager>();

    public IRequestRateLimiterFactory RateLimiters => Provider.GetRequiredService<IRequestRateLimiterFactory>();

    public RedisKeys Keys => Provider.GetRequiredService<RedisExecutor>().Keys;

    public IDatabase Database => Provider.GetRequiredService<RedisConnection>().Get().GetDatabase();

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12] + ":";

    public static TestApp Create(
        string connection,
        string? prefix = null,
        Action<RedisContractsOptions>? configure = null,
        TimeProvider? time = null,
        Action<HokusaiContractsOptions>? contracts = null,
        IConnectionMultiplexer? multiplexer = null)
    {
        prefix ??= NewPrefix();
        var services = new ServiceCollection();
        services.AddLogging();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        if (contracts is not null)
        {
            services.Configure(contracts);
        }

        void Configure(RedisContractsOptions options)
        {
            options.KeyPrefix = prefix;
            // Tests of behaviour, not of timeouts: on a loaded shared machine one command can take longer than the
            // product's fail-fast bound. The outage tests put that bound back (RedisOutageTests.Create).
            options.OperationTimeout = TimeSpan.FromSeconds(10);
            configure?.Invoke(options);
        }

        // A multiplexer the test made (and disposes) stands in for the connection string, e.g. one that controls
        // the order in which commands are answered.
        _ = multiplexer is null
            ? new TestBuilder(services).AddRedis(connection, Configure)
            : new TestBuilder(services).AddRedis(multiplexer, Configure);
        var provider = services.BuildServiceProvider();
        // What the host does on start: connect before the first operation.
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            hosted.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        return new TestApp(provider, prefix);
    }

    public ValueTask DisposeAsync() => Provider.DisposeAsync();
}

/// <summary>Clocks for tests of the request limiter, whose windows are whole minutes of the host's clock.</summary>
internal static class Clocks
{
    /// <summary>
    /// A clock stopped half a minute into a window: every request of a test counts in one window however slow the
    /// machine is, where the wall clock could reach the next minute halfway through and start the counts afresh.
    /// Redis call timeouts and the lease manager keep wall-clock time, so calls still fail or succeed as they would;
    /// the request breaker keeps this clock, though, so once open it stays open: a test that needs Redis calls of
    /// requests to recover after an outage keeps the wall clock.
    /// </summary>
    public static FakeTimeProvider MidMinute() => new(Jobs.Epoch.AddSeconds(30));
}

internal static class Jobs
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static DeploymentJob New(
        string owner = "alice",
        string model = "model-1",
        string? idempotencyKey = null,
        string hash = "hash-1",
        DateTimeOffset? createdAt = null)
    {
        var created = createdAt ?? DateTimeOffset.UtcNow;
        return new DeploymentJob
        {
            Id = Guid.NewGuid(),
            Owner = owner,
            Request = new DeploymentRequest
            {
                ModelId = model,
                UserAddress = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                TokenName = "Model Token",
                TokenSymbol = "MTK",
                InitialSupply = BigInteger.Parse("123456789012345678901234567890"),
                PerformanceMetric = "accuracy",
                Metadata = new DeploymentMetadata { Description = "d", Tags = new Dictionary<string, string> { ["k"] = "v" } },
            },
            RequestHash = hash,
            IdempotencyKey = idempotencyKey,
            CreatedAt = created,
            UpdatedAt = created,
            History = [new JobHistoryEntry(created, DeploymentStatus.Pending, DeploymentStep.Queued, null)],
        };
    }

    public static DeploymentJob Next(this DeploymentJob job, DeploymentStatus status)
    {
        var now = job.UpdatedAt.AddSeconds(1);
        return job with
        {
            Version = job.Version + 1,
            Status = status,
            Step = status.IsFinal() ? DeploymentStep.Done : DeploymentStep.DeployingToken,
            UpdatedAt = now,
            CompletedAt = status.IsFinal() ? now : null,
            History = [.. job.History, new JobHistoryEntry(now, status, DeploymentStep.DeployingToken, null)],
        };
    }
}
