using System.Threading.RateLimiting;

namespace Hokusai.Contracts.Backends;

/// <summary>
/// Supplies the general per-caller (or per-IP) request limiter used on every route. The default is an
/// in-process fixed window; the Redis package swaps in one shared by all replicas.
/// </summary>
public interface IRequestRateLimiterFactory
{
    /// <summary>The partition for <paramref name="partitionKey"/> (a caller id or a client IP).</summary>
    RateLimitPartition<string> GetPartition(string partitionKey);
}
