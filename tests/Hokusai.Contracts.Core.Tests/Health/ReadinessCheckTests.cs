using System.Diagnostics;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hokusai.Contracts.Tests.Health;

public sealed class ReadinessCheckTests
{
    private static (ServiceProvider Services, FakeChainClient Chain, FakeLifetime Lifetime) Build(
        Action<HokusaiContractsOptions>? contracts = null, bool registerChain = true, bool started = true)
    {
        var chain = new FakeChainClient();
        var lifetime = new FakeLifetime();
        if (started)
        {
            lifetime.Start();
        }

        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<IHostApplicationLifetime>(lifetime);
        if (registerChain)
        {
            services.AddSingleton<IChainClient>(chain);
        }

        services.AddOptions<HokusaiContractsOptions>().Configure(o => contracts?.Invoke(o));
        services.AddHealthChecks().AddHokusaiContracts();
        return (services.BuildServiceProvider(), chain, lifetime);
    }

    private static Task<HealthReport> CheckAsync(ServiceProvider services) =>
        services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains(HokusaiHealthCheckOptions.ReadyTag));

    [Fact]
    public async Task CheckHealth_AllAnswer_Healthy()
    {
        var (services, _, _) = Build();
        await using var _ = services;

        var report = await CheckAsync(services);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Equal(["deployment_mode", "lifecycle", "model_registry", "rpc"], report.Entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("chain 31337, block 42", report.Entries["rpc"].Description);
    }

    [Fact]
    public async Task CheckHealth_RpcThrows_RpcAndOnlyRpcUnhealthy()
    {
        var (services, chain, _) = Build();
        await using var _ = services;
        chain.Status = _ => throw new ChainException(ChainErrorKind.Transient, "connection refused");

        var report = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["rpc"].Status);
        Assert.Contains("connection refused", report.Entries["rpc"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, report.Entries["model_registry"].Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["lifecycle"].Status);
    }

    [Fact]
    public async Task CheckHealth_RegistryCallReverts_ModelRegistryUnhealthy()
    {
        var (services, chain, _) = Build();
        await using var _ = services;
        chain.Registry = _ => throw new ChainException(ChainErrorKind.Reverted, "execution reverted", "NotAContract");

        var report = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["model_registry"].Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["rpc"].Status);
    }

    [Fact]
    public async Task CheckHealth_NodeOnOtherChain_RpcUnhealthyNamingChainId()
    {
        var (services, _, _) = Build(o => o.Chain.ChainId = 137);
        await using var _ = services;

        var report = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["rpc"].Status);
        Assert.Contains("CHAIN_ID", report.Entries["rpc"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckHealth_RpcHangs_UnhealthyWithinTwoSeconds()
    {
        var (services, chain, _) = Build();
        await using var _ = services;
        chain.Status = _ => new TaskCompletionSource<ChainStatus>().Task;

        var sw = Stopwatch.StartNew();
        var report = await CheckAsync(services);
        sw.Stop();

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["rpc"].Status);
        Assert.Contains("timed out", report.Entries["rpc"].Description, StringComparison.Ordinal);
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(2.8));
    }

    [Fact]
    public async Task CheckHealth_RepeatedWithinTwoSeconds_CallsChainOnce()
    {
        var (services, chain, _) = Build();
        await using var _ = services;

        for (var i = 0; i < 10; i++)
        {
            await CheckAsync(services);
        }

        Assert.Equal(1, chain.StatusCalls);
        Assert.Equal(1, chain.RegistryCalls);
    }

    [Fact]
    public async Task CheckHealth_HostNotStarted_LifecycleUnhealthyStarting()
    {
        var (services, _, _) = Build(started: false);
        await using var _ = services;

        var report = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["lifecycle"].Status);
        Assert.Equal("starting", report.Entries["lifecycle"].Description);
    }

    [Fact]
    public async Task CheckHealth_HostStopping_LifecycleUnhealthyAtOnce()
    {
        var (services, _, lifetime) = Build();
        await using var _ = services;
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(services)).Status);

        lifetime.StopApplication();
        var report = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Equal("shutting down", report.Entries["lifecycle"].Description);
    }

    [Fact]
    public async Task CheckHealth_NoChainEngineRegistered_ChainChecksUnhealthy()
    {
        var (services, _, _) = Build(registerChain: false);
        await using var _ = services;

        var report = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, report.Entries["rpc"].Status);
        Assert.Contains("IChainClient", report.Entries["rpc"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["model_registry"].Status);
    }
}
