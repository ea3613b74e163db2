using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Redis;

/// <summary>Readiness: Redis answers a PING within the configured timeout (at most 2 seconds).</summary>
internal sealed class RedisHealthCheck : IHealthCheck
{
    private readonly RedisExecutor _redis;
    private readonly TimeSpan _timeout;

    public RedisHealthCheck(RedisExecutor redis, IOptions<RedisContractsOptions> options)
    {
        _redis = redis;
        _timeout = options.Value.HealthCheckTimeout;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await _redis.RunAsync(db => db.PingAsync(), _timeout, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy(
                "Redis answered PING.",
                new Dictionary<string, object> { ["latencyMs"] = Math.Round(latency.TotalMilliseconds, 2) });
        }
        catch (StoreUnavailableException ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis did not answer PING.", ex);
        }
    }
}
