using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Tests.Health;

public sealed class ReadinessCheckTests
{
    private static (ServiceProvider Services, FakeChainClient Chain, FakeLifetime Lifetime) Build(
        Action<HokusaiContractsOptions>? contracts = null, bool registerChain = true, bool started = true, TimeProvider? time = null)
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
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddHealthChecks().AddHokusaiContracts();
        if (time is not null)
        {
            // The health check service's backstop runs on the real clock; on fake time only the probes' own
            // deadline may end a check, however slowly the machine gets to advancing it.
            services.Configure<HealthCheckServiceOptions>(o =>
            {
                foreach (var registration in o.Registrations)
                {
                    registration.Timeout = Timeout.InfiniteTimeSpan;
                }
            });
        }
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
        Assert.Equal(["deployment_mode", "lifecycle", "model_registry", "rpc", "signer_pool"], report.Entries.Keys.Order(StringComparer.Ordinal));
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
        // The probe's deadline runs on the host's TimeProvider: fake time makes "after two seconds" exact.
        var time = new FakeTimeProvider();
        var (services, chain, _) = Build(time: time);
        await using var _ = services;
        var invoked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        chain.Status = _ =>
        {
            invoked.TrySetResult();
            return new TaskCompletionSource<ChainStatus>().Task;
        };

        var check = CheckAsync(services);
        // The deadline is armed before the RPC is called, so from here on advancing the clock reaches it.
        await invoked.Task.WaitAsync(TimeSpan.FromSeconds(60));
        time.Advance(TimeSpan.FromMilliseconds(1999));
        var early = check.IsCompleted;
        time.Advance(TimeSpan.FromMilliseconds(1));
        var report = await check.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.False(early);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["rpc"].Status);
        Assert.Contains("timed out after 2 s", report.Entries["rpc"].Description, StringComparison.Ordinal);
        var probe = await services.GetRequiredService<HealthProbes>().GetChainStatusAsync(CancellationToken.None);
        Assert.True(probe.TimedOut);
        Assert.Equal(TimeSpan.FromSeconds(2), probe.Duration);
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
