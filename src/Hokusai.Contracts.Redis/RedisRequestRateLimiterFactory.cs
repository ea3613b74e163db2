using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The general per-caller request limit (<see cref="QuotaOptions.RequestsPerMinute"/>), counted in Redis by
/// RedisRateLimiting's fixed window so all replicas share it. When Redis cannot answer in time the request is
/// let through: this limit protects capacity, and the deployment quota and store still refuse with 503.
/// </summary>
internal sealed partial class RedisRequestRateLimiterFactory : IRequestRateLimiterFactory
{
    private readonly RedisExecutor _redis;
    private readonly IOptionsMonitor<HokusaiContractsOptions> _options;
    private readonly ILogger _logger;

    public RedisRequestRateLimiterFactory(RedisExecutor redis, IOptionsMonitor<HokusaiContractsOptions> options, ILogger<RedisRequestRateLimiterFactory> logger)
    {
        _redis = redis;
        _options = options;
        _logger = logger;
    }

    public RateLimitPartition<string> GetPartition(string partitionKey)
    {
        ArgumentNullException.ThrowIfNull(partitionKey);
        var permits = _options.CurrentValue.Quotas.RequestsPerMinute;
        if (permits <= 0)
        {
            return RateLimitPartition.GetNoLimiter(partitionKey);
        }

        return RateLimitPartition.Get(partitionKey, key => new FailOpenRateLimiter(
            new RedisFixedWindowRateLimiter<string>(
                _redis.Keys.RateLimitPartition(key),
                new RedisFixedWindowRateLimiterOptions
                {
                    ConnectionMultiplexerFactory = _redis.Connection.Get,
                    PermitLimit = permits,
                    Window = TimeSpan.FromMinutes(1),
                }),
            _redis,
            _logger));
    }

    /// <summary>Lets a request through when Redis is unreachable instead of failing it with a 500.</summary>
    private sealed class FailOpenRateLimiter(RateLimiter inner, RedisExecutor redis, ILogger logger) : RateLimiter
    {
        public override TimeSpan? IdleDuration => inner.IdleDuration;

        // RedisRateLimiting does not implement statistics.
        public override RateLimiterStatistics? GetStatistics() => null;

        protected override RateLimitLease AttemptAcquireCore(int permitCount) => inner.AttemptAcquire(permitCount);

        protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
        {
            if (redis.IsSuspended)
            {
                // Redis just timed out elsewhere: waiting out another timeout here would only delay the
                // store's 503.
                return OpenLease.Instance;
            }

            try
            {
                // Half the store's budget: the limiter fails open anyway, and the request's store calls
                // still need time to answer (or to fail with 503) within about one operation timeout.
                return await inner.AcquireAsync(permitCount, cancellationToken).AsTask().WaitAsync(redis.Timeout / 2, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                // Tell the store too, so the same request's next call fails at once.
                redis.Suspend();
                LogFailOpen(logger, ex);
                return OpenLease.Instance;
            }
            catch (Exception ex) when (RedisExecutor.IsUnavailable(ex) || ex is RedisException)
            {
                LogFailOpen(logger, ex);
                return OpenLease.Instance;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class OpenLease : RateLimitLease
    {
        public static OpenLease Instance { get; } = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }

    [LoggerMessage(EventId = 4130, Level = LogLevel.Warning, Message = "Request rate limit could not be checked in Redis; request allowed")]
    private static partial void LogFailOpen(ILogger logger, Exception exception);
}
