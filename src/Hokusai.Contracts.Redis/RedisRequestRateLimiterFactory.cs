using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The general per-caller request limit (<see cref="QuotaOptions.RequestsPerMinute"/>) shared by all replicas
/// without a Redis round trip per request. Each replica counts a fixed one-minute window (aligned on the clock,
/// so every replica counts the same window) locally and adds its count to the window's shared counter in Redis
/// every <see cref="SyncInterval"/>; the answer tells it what the other replicas admitted. Between syncs a replica
/// admits at most a quarter of what it last saw remaining; past that, and near the limit, it asks Redis inline.
/// When Redis cannot answer in time the request is let through: this limit protects capacity, and the
/// deployment path still answers 503.
/// </summary>
internal sealed partial class RedisRequestRateLimiterFactory : IRequestRateLimiterFactory, IAsyncDisposable
{
    /// <summary>How often a replica adds its local counts to the shared ones.</summary>
    internal static readonly TimeSpan SyncInterval = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);

    // KEYS: the partition's window counter. ARGV: units to add, expiry (ms). Returns the window's total.
    private const string AddScript = """
        local total = redis.call('INCRBY', KEYS[1], ARGV[1])
        if total == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return total
        """;

    private readonly RedisExecutor _redis;
    private readonly IOptionsMonitor<HokusaiContractsOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<SyncedWindowLimiter, byte> _live = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task? _sync;
    private bool _disposed;

    public RedisRequestRateLimiterFactory(RedisExecutor redis, IOptionsMonitor<HokusaiContractsOptions> options, TimeProvider time, ILogger<RedisRequestRateLimiterFactory> logger)
    {
        _redis = redis;
        _options = options;
        _time = time;
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

        return RateLimitPartition.Get(partitionKey, key =>
        {
            var limiter = new SyncedWindowLimiter(this, key, permits);
            _live[limiter] = 0;
            StartSync();
            return limiter;
        });
    }

    /// <summary>Adds every partition's unsynced count to Redis (the background loop calls it; tests may too).</summary>
    internal async Task SyncAllAsync(CancellationToken cancellationToken)
    {
        var pending = _live.Keys.Where(limiter => limiter.HasUnsynced).ToArray();
        if (pending.Length > 0)
        {
            await Task.WhenAll(pending.Select(limiter => limiter.SyncAsync(0, cancellationToken))).ConfigureAwait(false);
        }
    }

    private void StartSync()
    {
        lock (_gate)
        {
            if (_sync is null && !_disposed)
            {
                _sync = Task.Run(() => SyncLoopAsync(_stopping.Token));
            }
        }
    }

    private async Task SyncLoopAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(SyncInterval, TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await SyncAllAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed with the host.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? sync;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            sync = _sync;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (sync is not null)
        {
            await sync.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private static long WindowOf(DateTimeOffset now) => now.ToUnixTimeMilliseconds() / (long)s_window.TotalMilliseconds;

    /// <summary>One partition's window on this replica: what Redis last said, and what was admitted since.</summary>
    private sealed class SyncedWindowLimiter(RedisRequestRateLimiterFactory owner, string partition, int limit) : RateLimiter
    {
        private readonly Lock _gate = new();
        private long _window = -1;
        private long _known;      // the window's shared total at the last sync, this replica's synced units included
        private int _unsynced;    // admitted here, not yet added to Redis
        private int _sinceSync;   // admitted here since the last sync (the local allowance)
        private long _lastUsed = Environment.TickCount64;

        public bool HasUnsynced
        {
            get
            {
                lock (_gate)
                {
                    return _unsynced > 0;
                }
            }
        }

        public override TimeSpan? IdleDuration
        {
            get
            {
                lock (_gate)
                {
                    // Not evicted while it still owes Redis its count.
                    return _unsynced > 0 ? null : TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastUsed);
                }
            }
        }

        public override RateLimiterStatistics? GetStatistics()
        {
            lock (_gate)
            {
                return new RateLimiterStatistics { CurrentAvailablePermits = Math.Max(0, limit - _known - _unsynced) };
            }
        }

        protected override RateLimitLease AttemptAcquireCore(int permitCount) =>
            TryLocal(permitCount, out var lease) ? lease : Lease.Open;

        protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
        {
            if (TryLocal(permitCount, out var lease))
            {
                return lease;
            }

            // Past the local allowance: ask Redis now, adding this request and whatever is unsynced.
            var window = WindowOf(owner._time.GetUtcNow());
            try
            {
                // Through the executor's request breaker: its timeout tells the request's own call to fail at once.
                var total = await owner._redis.RunGuardedAsync(
                    ct => SyncAsync(permitCount, ct).WaitAsync(owner._redis.RequestTimeout, ct),
                    cancellationToken).ConfigureAwait(false);
                return total is { } known && known > limit ? Rejected(window) : Lease.Open;
            }
            catch (Exception ex) when (ex is StoreUnavailableException or RedisException)
            {
                LogFailOpen(owner._logger, ex);
                return Lease.Open;
            }
        }

        /// <summary>Answers from local state when it can; false when Redis must be asked.</summary>
        private bool TryLocal(int permits, out RateLimitLease lease)
        {
            var now = owner._time.GetUtcNow();
            var window = WindowOf(now);
            lock (_gate)
            {
                _lastUsed = Environment.TickCount64;
                if (window != _window)
                {
                    // A new window: nothing is known of it yet; unsynced units of the old one no longer matter.
                    _window = window;
                    _known = 0;
                    _unsynced = 0;
                    _sinceSync = 0;
                }

                if (_known + _unsynced + permits > limit)
                {
                    lease = Rejected(window);
                    return true;
                }

                if (_sinceSync + permits <= (limit - _known) / 4)
                {
                    _unsynced += permits;
                    _sinceSync += permits;
                    lease = Lease.Open;
                    return true;
                }
            }

            lease = Lease.Open;
            return false;
        }

        /// <summary>Adds the unsynced units (plus <paramref name="extra"/>) to Redis; returns the window's total, or null if nothing was sent.</summary>
        public async Task<long?> SyncAsync(int extra, CancellationToken cancellationToken)
        {
            long window;
            int units;
            lock (_gate)
            {
                window = _window;
                units = _unsynced + extra;
                _unsynced = 0;
                _sinceSync = 0;
            }

            if (units == 0 || window < 0)
            {
                return null;
            }

            var key = owner._redis.Keys.RateLimitWindow(partition, window);
            try
            {
                var result = await owner._redis.RunAsync(
                    db => db.ScriptEvaluateAsync(AddScript, [key], [units, 2 * (long)s_window.TotalMilliseconds]),
                    cancellationToken).ConfigureAwait(false);
                var total = (long)result;
                lock (_gate)
                {
                    if (_window == window && total > _known)
                    {
                        _known = total;
                    }
                }

                return total;
            }
            catch (Exception ex) when (extra == 0 && ex is StoreUnavailableException or RedisException)
            {
                // A background sync: keep the units for the next one rather than forget them.
                lock (_gate)
                {
                    if (_window == window)
                    {
                        _unsynced += units;
                    }
                }

                LogSyncFailed(owner._logger, ex);
                return null;
            }
        }

        private Lease Rejected(long window)
        {
            var end = DateTimeOffset.FromUnixTimeMilliseconds((window + 1) * (long)s_window.TotalMilliseconds);
            var wait = end - owner._time.GetUtcNow();
            return new Lease(false, wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1));
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                owner._live.TryRemove(this, out _);
            }

            base.Dispose(disposing);
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static Lease Open { get; } = new(true, null);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } wait && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = wait;
                return true;
            }

            metadata = null;
            return false;
        }
    }

    [LoggerMessage(EventId = 4130, Level = LogLevel.Warning, Message = "Request rate limit could not be checked in Redis; request allowed")]
    private static partial void LogFailOpen(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4131, Level = LogLevel.Warning, Message = "Adding local request counts to Redis failed; retrying with the next sync")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);
}
