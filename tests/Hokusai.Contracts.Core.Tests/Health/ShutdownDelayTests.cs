using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Tests.Health;

public sealed class ShutdownDelayTests
{
    /// <summary>Stands in for the web server: registered last, so the host stops it first.</summary>
    private sealed class Server(IHostApplicationLifetime lifetime, HealthCheckService health) : IHostedService
    {
        private readonly Stopwatch _sinceStopping = new();

        public TimeSpan? StoppedAfter { get; private set; }

        public HealthStatus? ReadinessWhileServing { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStopping.Register(() => _sinceStopping.Start());
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            StoppedAfter = _sinceStopping.Elapsed;
            ReadinessWhileServing = (await health.CheckHealthAsync(r => r.Name == HokusaiHealthCheckOptions.LifecycleCheckName, cancellationToken)).Status;
        }
    }

    private static async Task<Server> StopHostAsync(Action<HokusaiHealthCheckOptions>? configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHealthChecks().AddHokusaiContracts(configure);
        builder.Services.AddSingleton<Server>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Server>());
        using var host = builder.Build();
        await host.StartAsync();
        var server = host.Services.GetRequiredService<Server>();
        await host.StopAsync();
        return server;
    }

    [Fact]
    public async Task StopAsync_ShutdownDelaySet_LaterServicesStopOnlyAfterTheDelayWithReadinessFailing()
    {
        var server = await StopHostAsync(o => o.ShutdownDelay = TimeSpan.FromMilliseconds(600));

        Assert.True(server.StoppedAfter >= TimeSpan.FromMilliseconds(550), $"stopped after {server.StoppedAfter}");
        Assert.Equal(HealthStatus.Unhealthy, server.ReadinessWhileServing);
    }

    [Fact]
    public async Task StopAsync_DefaultShutdownDelay_StopsAtOnce()
    {
        var server = await StopHostAsync(null);

        Assert.True(server.StoppedAfter < TimeSpan.FromMilliseconds(500), $"stopped after {server.StoppedAfter}");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(21)]
    public void AddHokusaiContracts_ShutdownDelayOutOfRange_FailsValidationNamingIt(int seconds)
    {
        var services = new ServiceCollection();
        services.AddHealthChecks().AddHokusaiContracts(o => o.ShutdownDelay = TimeSpan.FromSeconds(seconds));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiHealthCheckOptions>>().Value);

        Assert.Contains("shutdown delay", ex.Message, StringComparison.Ordinal);
    }
}
