using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Tests.Health;

public sealed class HealthCheckRegistrationTests
{
    [Fact]
    public void AddHokusaiContracts_CalledTwice_RegistersEachCheckOnce()
    {
        var services = new ServiceCollection();
        services.AddHealthChecks().AddHokusaiContracts();
        services.AddHealthChecks().AddHokusaiContracts();
        using var provider = services.BuildServiceProvider();

        var names = provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name).ToList();

        Assert.Equal(["lifecycle", "rpc", "model_registry", "deployment_mode", "signer_pool"], names);
    }

    [Fact]
    public void AddHokusaiContracts_Checks_AreTaggedReady()
    {
        var services = new ServiceCollection();
        services.AddHealthChecks().AddHokusaiContracts();
        using var provider = services.BuildServiceProvider();

        var registrations = provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations;

        Assert.All(registrations, r => Assert.Contains(HokusaiHealthCheckOptions.ReadyTag, r.Tags));
    }

    [Fact]
    public void AddHokusaiContracts_TimeoutAboveTwoSeconds_FailsValidationNamingTimeout()
    {
        var services = new ServiceCollection();
        services.AddHealthChecks().AddHokusaiContracts(o => o.Timeout = TimeSpan.FromSeconds(5));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiHealthCheckOptions>>().Value);

        Assert.Contains("timeout", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AddHokusaiContracts_Configure_AppliesOptions()
    {
        var services = new ServiceCollection();
        services.AddHealthChecks().AddHokusaiContracts(o => o.CacheDuration = TimeSpan.FromSeconds(1));
        using var provider = services.BuildServiceProvider();

        Assert.Equal(TimeSpan.FromSeconds(1), provider.GetRequiredService<IOptions<HokusaiHealthCheckOptions>>().Value.CacheDuration);
    }
}
