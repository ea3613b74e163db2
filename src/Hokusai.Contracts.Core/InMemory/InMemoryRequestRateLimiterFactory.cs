using System.Threading.RateLimiting;
using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.InMemory;

/// <summary>Per-partition fixed windows of one minute, in process.</summary>
internal sealed class InMemoryRequestRateLimiterFactory(IOptions<HokusaiContractsOptions> options) : IRequestRateLimiterFactory
{
    public RateLimitPartition<string> GetPartition(string partitionKey)
    {
        var perMinute = options.Value.Quotas.RequestsPerMinute;
        return perMinute <= 0
            ? RateLimitPartition.GetNoLimiter(partitionKey)
            : RateLimitPartition.GetFixedWindowLimiter(partitionKey, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = perMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
    }
}
