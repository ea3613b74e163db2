using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// One owner per signing key across replicas: a lease key set only when absent, with a fencing token from a
/// counter that only grows. The owner renews it every <see cref="RedisContractsOptions.LeaseRenewInterval"/>
/// (a third of its TTL by default); a waiting replica sleeps until the lease would lapse or a release is
/// announced, so it costs Redis about one command per renewal interval; when renewal fails for a whole TTL
/// (or finds another owner) <see cref="ISignerLease.Lost"/> fires. A new owner resynchronises its nonce from
/// the chain's pending count, so a handover never reuses or skips a nonce.
/// </summary>
internal sealed partial class RedisSignerLeaseManager : ISignerLeaseManager
{
    // KEYS: lease, fence. ARGV: holder id, ttl (ms). Returns {1, token} when acquired, else {0, ms left}.
    // A holder that finds its own value (an earlier attempt whose answer timed out) takes it as acquired.
    private const string AcquireScript = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local prefix = ARGV[1] .. '|'
          if string.sub(current, 1, #prefix) == prefix then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return {1, tonumber(string.sub(current, #prefix + 1))}
          end
          return {0, redis.call('PTTL', KEYS[1])}
        end
        local token = redis.call('INCR', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
        return {1, token}
        """;

    // KEYS: lease. ARGV: value, ttl (ms).
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    // KEYS: lease. ARGV: value, release channel. Announces the release so a waiting replica takes over at once.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          redis.call('PUBLISH', ARGV[2], '')
          return 1
        end
        return 0
        """;

    private readonly RedisExecutor _redis;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _renewEvery;
    private readonly WakeSignal _released;
    private readonly string _holderPrefix;
    private readonly ILogger _logger;

    public RedisSignerLeaseManager(RedisExecutor redis, IOptions<RedisContractsOptions> options, ILogger<RedisSignerLeaseManager> logger)
    {
        _redis = redis;
        _ttl = options.Value.LeaseTtl;
        _renewEvery = options.Value.LeaseRenewInterval ?? options.Value.LeaseTtl / 3;
        _released = new WakeSignal(redis, redis.Keys.LeaseChannel);
        _holderPrefix = options.Value.ConsumerName ?? RedisDeploymentQueue.DefaultConsumerName();
        _logger = logger;
    }

    public async ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signerAddress);
        var leaseKey = _redis.Keys.SignerLease(signerAddress);
        var fenceKey = _redis.Keys.SignerFence(signerAddress);
        var holder = _holderPrefix + ":" + Guid.NewGuid().ToString("N");
        var waiting = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            TimeSpan delay;
            var released = _released.Current;
            try
            {
                // A waiting replica sleeps until the lease would expire, or until its owner announces the release.
                _released.EnsureSubscribed();
                var started = TimeProvider.System.GetTimestamp();
                var result = await _redis.RunAsync(
                    db => db.ScriptEvaluateAsync(AcquireScript, [leaseKey, fenceKey], [holder, (long)_ttl.TotalMilliseconds]),
                    cancellationToken).ConfigureAwait(false);
                var parts = (RedisResult[])result!;
                if ((long)parts[0] == 1)
                {
                    var token = (long)parts[1];
                    LogAcquired(_logger, signerAddress, token);
                    return new Lease(this, leaseKey, holder + "|" + token, token, started);
                }

                if (!waiting)
                {
                    waiting = true;
                    LogWaiting(_logger, signerAddress);
                }

                // Just past the expiry the owner would have to miss: a live owner renews before it, so a waiting
                // replica looks about once per renewal interval, and a crashed owner's lease is taken when it lapses.
                var left = TimeSpan.FromMilliseconds(Math.Max((long)parts[1], 0) + 5);
                delay = left < _ttl ? left : _ttl;
            }
            catch (StoreUnavailableException ex)
            {
                // Owning the signer is what the caller waits for; keep trying through an outage.
                LogAcquireFailed(_logger, signerAddress, ex);
                delay = TimeSpan.FromSeconds(1);
            }

            await WakeSignal.WaitAsync(released, delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class Lease : ISignerLease
    {
        private readonly RedisSignerLeaseManager _owner;
        private readonly RedisKey _key;
        private readonly string _value;
        private readonly CancellationTokenSource _lost;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;
        private int _disposed;

        public Lease(RedisSignerLeaseManager owner, RedisKey key, string value, long token, long acquiredAt)
        {
            _owner = owner;
            _key = key;
            _value = value;
            FencingToken = token;
            // The lease is ours for one TTL from when the acquiring command was sent; each renewal moves that on.
            _lost = new CancellationTokenSource(Remaining(acquiredAt));
            // Kept apart from the source, which is disposed with the lease: callers may still look at it then.
            Lost = _lost.Token;
            _renewal = Task.Run(RenewAsync);
        }

        public long FencingToken { get; }

        public CancellationToken Lost { get; }

        private TimeSpan Remaining(long sentAt)
        {
            var left = _owner._ttl - TimeProvider.System.GetElapsedTime(sentAt);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }

        private async Task RenewAsync()
        {
            var stopping = _stop.Token;
            using var timer = new PeriodicTimer(_owner._renewEvery);
            try
            {
                while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false) && !_lost.IsCancellationRequested)
                {
                    var sent = TimeProvider.System.GetTimestamp();
                    try
                    {
                        var renewed = await _owner._redis.RunAsync(
                            db => db.ScriptEvaluateAsync(RenewScript, [_key], [_value, (long)_owner._ttl.TotalMilliseconds]),
                            stopping).ConfigureAwait(false);
                        if ((long)renewed == 1)
                        {
                            _lost.CancelAfter(Remaining(sent));
                            continue;
                        }

                        LogLost(_owner._logger, FencingToken, null);
                        await _lost.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                    catch (StoreUnavailableException ex)
                    {
                        // Lost fires by itself once a whole TTL has passed without a renewal.
                        LogRenewFailed(_owner._logger, FencingToken, ex);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Disposed.
            }
            catch (ObjectDisposedException) when (stopping.IsCancellationRequested)
            {
                // Disposed while a renewal was in flight.
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewal.ConfigureAwait(false);
            var handedOver = !_lost.IsCancellationRequested;
            await _lost.CancelAsync().ConfigureAwait(false);
            if (handedOver)
            {
                try
                {
                    await _owner._redis.RunAsync(db => db.ScriptEvaluateAsync(ReleaseScript, [_key], [_value, _owner._redis.Keys.LeaseChannel.ToString()]), CancellationToken.None).ConfigureAwait(false);
                    LogReleased(_owner._logger, FencingToken);
                }
                catch (StoreUnavailableException ex)
                {
                    // It expires by itself after one TTL.
                    LogReleaseFailed(_owner._logger, FencingToken, ex);
                }
            }

            _lost.Dispose();
            _stop.Dispose();
        }
    }

    [LoggerMessage(EventId = 4120, Level = LogLevel.Information, Message = "Signer {Signer} leased with fencing token {FencingToken}")]
    private static partial void LogAcquired(ILogger logger, string signer, long fencingToken);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Information, Message = "Signer {Signer} is leased by another replica; waiting")]
    private static partial void LogWaiting(ILogger logger, string signer);

    [LoggerMessage(EventId = 4122, Level = LogLevel.Warning, Message = "Leasing signer {Signer} failed; retrying")]
    private static partial void LogAcquireFailed(ILogger logger, string signer, Exception exception);

    [LoggerMessage(EventId = 4123, Level = LogLevel.Warning, Message = "Signer lease {FencingToken} was lost")]
    private static partial void LogLost(ILogger logger, long fencingToken, Exception? exception);

    [LoggerMessage(EventId = 4124, Level = LogLevel.Warning, Message = "Renewing signer lease {FencingToken} failed")]
    private static partial void LogRenewFailed(ILogger logger, long fencingToken, Exception exception);

    [LoggerMessage(EventId = 4125, Level = LogLevel.Information, Message = "Signer lease {FencingToken} released")]
    private static partial void LogReleased(ILogger logger, long fencingToken);

    [LoggerMessage(EventId = 4126, Level = LogLevel.Warning, Message = "Releasing signer lease {FencingToken} failed; it expires by itself")]
    private static partial void LogReleaseFailed(ILogger logger, long fencingToken, Exception exception);
}
