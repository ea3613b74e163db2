using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Hokusai.Contracts.Health;

/// <summary>
/// Readiness gate on the host's lifecycle: unhealthy until the host has started and again from the
/// moment it begins to stop, so a load balancer stops routing to a task before its server closes.
/// Reads the lifetime's tokens directly: no I/O and nothing cached, so it flips at once.
/// </summary>
internal sealed class LifecycleHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = lifetime.ApplicationStopping.IsCancellationRequested
            ? new HealthCheckResult(context.Registration.FailureStatus, "shutting down")
            : !lifetime.ApplicationStarted.IsCancellationRequested
                ? new HealthCheckResult(context.Registration.FailureStatus, "starting")
                : HealthCheckResult.Healthy("started");
        return Task.FromResult(result);
    }
}
