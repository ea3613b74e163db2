using Hokusai.Contracts.Diagnostics;
using Hokusai.Contracts.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts;

/// <summary>Adds the service's readiness checks to a host's health check setup.</summary>
public static class HokusaiHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds the readiness checks <c>lifecycle</c> (starting / shutting down), <c>rpc</c> (latest block),
    /// <c>model_registry</c> (a view call), <c>deployment_mode</c> (the mode new jobs start in, and why) and
    /// <c>signer_pool</c> (with more than one key: each key's <c>DEPLOYER_ROLE</c> and funds), all tagged <see cref="HokusaiHealthCheckOptions.ReadyTag"/>.
    /// Each probe has a timeout and its result is cached briefly (both 2 s by default). With a
    /// <see cref="HokusaiHealthCheckOptions.ShutdownDelay"/>, the host keeps serving that long after
    /// shutdown begins, with readiness failing. Safe to call twice.
    /// </summary>
    /// <param name="builder">The host's health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="configure">Optional changes to timeout, cache duration and shutdown delay.</param>
    /// <returns>The same builder.</returns>
    public static IHealthChecksBuilder AddHokusaiContracts(this IHealthChecksBuilder builder, Action<HokusaiHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var options = builder.Services.AddOptions<HokusaiHealthCheckOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (builder.Services.Any(d => d.ServiceType == typeof(HealthProbes)))
        {
            return builder;
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HokusaiHealthCheckOptions>, HokusaiHealthCheckOptionsValidator>());
        options.ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddContractsTelemetry();
        builder.Services.AddSingleton(sp => new HealthProbes(
            sp,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<HokusaiHealthCheckOptions>>(),
            sp.GetRequiredService<ContractsTelemetry>()));
        builder.Services.AddHostedService<ShutdownDelayService>();

        string[] tags = [HokusaiHealthCheckOptions.ReadyTag];
        // The probes enforce the configured timeout themselves; this is only a backstop.
        var backstop = TimeSpan.FromSeconds(5);
        builder.Add(new HealthCheckRegistration(
            HokusaiHealthCheckOptions.LifecycleCheckName,
            sp => ActivatorUtilities.CreateInstance<LifecycleHealthCheck>(sp),
            HealthStatus.Unhealthy,
            tags,
            backstop));
        builder.Add(new HealthCheckRegistration(
            HokusaiHealthCheckOptions.RpcCheckName,
            sp => new RpcHealthCheck(sp.GetRequiredService<HealthProbes>(), sp.GetService<IOptions<HokusaiContractsOptions>>() ?? Options.Create(new HokusaiContractsOptions())),
            HealthStatus.Unhealthy,
            tags,
            backstop));
        builder.Add(new HealthCheckRegistration(
            HokusaiHealthCheckOptions.ModelRegistryCheckName,
            sp => new ModelRegistryHealthCheck(sp.GetRequiredService<HealthProbes>()),
            HealthStatus.Unhealthy,
            tags,
            backstop));
        builder.Add(new HealthCheckRegistration(
            HokusaiHealthCheckOptions.DeploymentModeCheckName,
            sp => new DeploymentModeHealthCheck(sp, sp.GetRequiredService<IOptions<HokusaiHealthCheckOptions>>()),
            HealthStatus.Unhealthy,
            tags,
            backstop));
        builder.Add(new HealthCheckRegistration(
            HokusaiHealthCheckOptions.SignerPoolCheckName,
            sp => new SignerPoolHealthCheck(sp, sp.GetRequiredService<IOptions<HokusaiHealthCheckOptions>>()),
            HealthStatus.Unhealthy,
            tags,
            backstop));
        return builder;
    }
}

/// <summary>Keeps probe timeout and cache within what the load balancer's probing tolerates.</summary>
internal sealed class HokusaiHealthCheckOptionsValidator : IValidateOptions<HokusaiHealthCheckOptions>
{
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxShutdownDelay = TimeSpan.FromSeconds(20);

    public ValidateOptionsResult Validate(string? name, HokusaiHealthCheckOptions options)
    {
        var failures = new List<string>();
        if (options.Timeout <= TimeSpan.Zero || options.Timeout > Max)
        {
            failures.Add($"Health check timeout must be greater than 0 and at most 2 s (was {options.Timeout}).");
        }

        if (options.CacheDuration < TimeSpan.Zero || options.CacheDuration > Max)
        {
            failures.Add($"Health check cache duration must be between 0 and 2 s (was {options.CacheDuration}).");
        }

        if (options.ShutdownDelay < TimeSpan.Zero || options.ShutdownDelay > MaxShutdownDelay)
        {
            failures.Add($"Health shutdown delay must be between 0 and 20 s (was {options.ShutdownDelay}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
