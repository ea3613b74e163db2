using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Redis.Tests.Conformance;

/// <summary>Every app a conformance test creates, disposed with the test; each test gets key prefixes of its own.</summary>
internal sealed class RedisApps(RedisFixture redis) : IAsyncDisposable
{
    private readonly List<TestApp> _apps = [];

    public IReadOnlyList<TestApp> Apps => _apps;

    public TestApp Create(string? prefix = null, Action<RedisContractsOptions>? configure = null, Action<HokusaiContractsOptions>? contracts = null)
    {
        var app = TestApp.Create(redis.Server.ConnectionString, prefix, o =>
        {
            // A reclaim soon after a crash, and short polls, keep the redelivery test quick.
            o.ClaimIdleTimeout = TimeSpan.FromSeconds(1);
            o.PollInterval = TimeSpan.FromMilliseconds(20);
            configure?.Invoke(o);
        }, contracts: contracts);
        _apps.Add(app);
        return app;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }
}

/// <summary>The Redis store against the public conformance kit, on a real redis-server (retention by Redis's own expiry).</summary>
public sealed class RedisDeploymentStoreConformanceTests(RedisFixture redis) : DeploymentStoreConformanceTests, IClassFixture<RedisFixture>
{
    private readonly RedisApps _apps = new(redis);

    protected override Task<IDeploymentStore> CreateStoreAsync(TimeSpan retention) =>
        Task.FromResult(_apps.Create(configure: o => o.Retention = retention).Store);

    public override Task DisposeAsync() => _apps.DisposeAsync().AsTask();
}

/// <summary>The Redis stream queue against the public conformance kit: a crashed consumer's entries go to a survivor.</summary>
public sealed class RedisDeploymentQueueConformanceTests(RedisFixture redis) : DeploymentQueueConformanceTests, IClassFixture<RedisFixture>
{
    private readonly RedisApps _apps = new(redis);

    protected override Task<IDeploymentQueue> CreateQueueAsync() =>
        Task.FromResult(_apps.Create(configure: o =>
        {
            o.ConsumerName = "first";
            // Its keep-alive runs every quarter of this, so within a test it never refreshes its entries:
            // from the survivor's side it is indistinguishable from a killed process.
            o.ClaimIdleTimeout = TimeSpan.FromMinutes(10);
        }).Queue);

    protected override Task<IDeploymentQueue?> SurviveCrashAsync(IDeploymentQueue crashed)
    {
        // The first consumer is never called again and never refreshes its entry, as a killed process. A second
        // app on the same keys, as another replica, must reclaim the entry once it has been idle for its claim timeout.
        var first = _apps.Apps.Single(a => ReferenceEquals(a.Queue, crashed));
        return Task.FromResult<IDeploymentQueue?>(_apps.Create(first.Prefix, o => o.ConsumerName = "survivor").Queue);
    }

    public override Task DisposeAsync() => _apps.DisposeAsync().AsTask();
}

/// <summary>The Redis acceptor (one script) against the public conformance kit.</summary>
public sealed class RedisDeploymentAcceptorConformanceTests(RedisFixture redis) : DeploymentAcceptorConformanceTests, IClassFixture<RedisFixture>
{
    private readonly RedisApps _apps = new(redis);

    protected override Task<AcceptorUnderTest> CreateAcceptorAsync(int perHour, int perDay)
    {
        var app = _apps.Create(contracts: o =>
        {
            o.Quotas.PerHour = perHour;
            o.Quotas.PerDay = perDay;
        });
        var acceptor = app.Provider.GetRequiredService<IDeploymentAcceptor>();
        Assert.IsType<RedisDeploymentAcceptor>(acceptor);
        return Task.FromResult(new AcceptorUnderTest(acceptor, app.Store, app.Queue));
    }

    public override Task DisposeAsync() => _apps.DisposeAsync().AsTask();
}
