using System.Collections.Concurrent;
using Hokusai.Contracts.Backends;
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
/// <remarks>
/// The previous owner stops by its own clock: one TTL after it sent its last renewal that Redis accepted. Redis
/// lets the key go by its own clock, or loses it with its data (a restart without persistence), and then the
/// previous owner may still be signing. So a lease taken from an owner that did not announce its release is
/// handed to the caller only after one more TTL (the settle wait), counted from when the taking command was
/// answered: by then the previous owner's deadline has certainly passed, whatever Redis's clock said. A release
/// leaves the released token behind, so a clean hand-over starts at once.
/// </remarks>
internal sealed partial class RedisSignerLeaseManager : ISignerLeaseManager
{
    // KEYS: lease, fence, released. ARGV: holder id, ttl (ms). Returns {1, token, previous} when acquired, else
    // {0, ms left}. previous says what came before: 0 = the last owner released it (its token is the one left in
    // `released`), 1 = no owner this store remembers (the fence starts at 1), 2 = the last owner's lease lapsed.
    // A holder that finds its own value (an earlier attempt whose answer timed out) takes it as acquired; what came
    // before that attempt is unknown, so it answers 2.
    private const string AcquireScript = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local prefix = ARGV[1] .. '|'
          if string.sub(current, 1, #prefix) == prefix then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return {1, tonumber(string.sub(current, #prefix + 1)), 2}
          end
          return {0, redis.call('PTTL', KEYS[1])}
        end
        local token = redis.call('INCR', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
        if token == 1 then return {1, token, 1} end
        if tonumber(redis.call('GET', KEYS[3])) == token - 1 then return {1, token, 0} end
        return {1, token, 2}
        """;

    // KEYS: lease. ARGV: value, ttl (ms).
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    // KEYS: lease, released (optional). ARGV: value, release channel, fencing token. With `released`, leaves the
    // released token behind, so the next owner knows nobody signs with the key any more; announces the release so a
    // waiting replica takes over at once.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          if KEYS[2] then redis.call('SET', KEYS[2], ARGV[3]) end
          redis.call('PUBLISH', ARGV[2], '')
          return 1
        end
        return 0
        """;

    // KEYS: replicas (sorted set). ARGV: replica id, now (ms), ttl (ms). Marks the replica alive until now + ttl,
    // drops replicas whose announcement lapsed, and returns how many are alive. The clock is the caller's: replicas'
    // clocks differ by far less than a TTL (NTP), and a lapse only shifts the fair share, never the exclusion.
    private const string AnnounceScript = """
        redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
        return redis.call('ZCARD', KEYS[1])
        """;

    // What AcquireScript says came before a lease it hands out.
    private const long ReleasedByOwner = 0;
    private const long NoOwnerKnown = 1;

    private readonly RedisExecutor _redis;
    // Lease keys this process has seen held (by itself or another replica): a fence starting afresh on one of them
    // means Redis lost its data.
    private readonly ConcurrentDictionary<string, byte> _seenHeld = new(StringComparer.Ordinal);
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

    public string ReplicaId => _holderPrefix;

    public async ValueTask<int> AnnounceAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var alive = await _redis.RunAsync(
            db => db.ScriptEvaluateAsync(AnnounceScript, [_redis.Keys.Replicas], [_holderPrefix, now, (long)_ttl.TotalMilliseconds]),
            cancellationToken).ConfigureAwait(false);
        return Math.Max(1, (int)(long)alive);
    }

    public TimeSpan AnnounceInterval => _renewEvery;

    public async ValueTask WithdrawAsync(CancellationToken cancellationToken) =>
        await _redis.RunAsync(db => db.SortedSetRemoveAsync(_redis.Keys.Replicas, _holderPrefix), cancellationToken).ConfigureAwait(false);

    public async ValueTask<string?> GetOwnerAsync(string signerAddress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signerAddress);
        var value = (string?)await _redis.RunAsync(db => db.StringGetAsync(_redis.Keys.SignerLease(signerAddress)), cancellationToken).ConfigureAwait(false);

        // The value is "<replica>:<attempt>|<token>": the replica id is what precedes the attempt's guid.
        var attempt = value?.LastIndexOf(':') ?? -1;
        return attempt > 0 ? value![..attempt] : value;
    }

    public async ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signerAddress);
        var leaseKey = _redis.Keys.SignerLease(signerAddress);
        var fenceKey = _redis.Keys.SignerFence(signerAddress);
        var releasedKey = _redis.Keys.SignerReleased(signerAddress);
        var holder = _holderPrefix + ":" + Guid.NewGuid().ToString("N");
        var waiting = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            TimeSpan delay;
            // Captured before trying, so a release announced after this attempt wakes the wait below, provided the
            // subscription was live before the attempt.
            var released = _released.Current;
            var subscribed = _released.IsSubscribed;
            try
            {
                // A waiting replica sleeps until the lease would expire, or until its owner announces the release.
                _released.EnsureSubscribed();
                var started = TimeProvider.System.GetTimestamp();
                var result = await _redis.RunAsync(
                    db => db.ScriptEvaluateAsync(AcquireScript, [leaseKey, fenceKey, releasedKey], [holder, (long)_ttl.TotalMilliseconds]),
                    cancellationToken).ConfigureAwait(false);
                var answered = TimeProvider.System.GetTimestamp();
                var parts = (RedisResult[])result!;
                if ((long)parts[0] == 1)
                {
                    var token = (long)parts[1];
                    var previous = (long)parts[2];
                    // A fence starting afresh while this process knew the key was held means Redis lost its data,
                    // lease included: its owner may still be signing, as after a lapse.
                    var known = !_seenHeld.TryAdd(leaseKey.ToString(), 0) || waiting;
                    LogAcquired(_logger, signerAddress, token);
                    var lease = new Lease(this, leaseKey, releasedKey, holder + "|" + token, token, started);
                    if (previous == ReleasedByOwner || (previous == NoOwnerKnown && !known))
                    {
                        lease.Settled();
                        return lease;
                    }

                    if (await SettleAsync(lease, signerAddress, answered, cancellationToken).ConfigureAwait(false))
                    {
                        return lease;
                    }

                    continue;
                }

                _seenHeld.TryAdd(leaseKey.ToString(), 0);
                if (!waiting)
                {
                    waiting = true;
                    LogWaiting(_logger, signerAddress);
                }

                if (!subscribed)
                {
                    // A release between this attempt and the subscription going live would not wake this replica
                    // before the lease's TTL: once subscribed, try again instead of waiting.
                    await _released.EnsureSubscribedAsync(_redis.Timeout, cancellationToken).ConfigureAwait(false);
                    if (_released.IsSubscribed)
                    {
                        continue;
                    }
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

    /// <summary>
    /// Holds (and renews) a lease taken from an owner that did not release it until one TTL has passed since the
    /// taking command was answered: that owner sent its last accepted renewal before then, so its own deadline
    /// has passed too. False, with the lease given up, when the lease is lost meanwhile (the caller tries again).
    /// </summary>
    private async Task<bool> SettleAsync(Lease lease, string signerAddress, long answered, CancellationToken cancellationToken)
    {
        var wait = _ttl - TimeProvider.System.GetElapsedTime(answered);
        LogSettling(_logger, signerAddress, lease.FencingToken, Math.Max(0, wait.TotalMilliseconds));
        using var holding = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
        try
        {
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, TimeProvider.System, holding.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Given up without announcing a release: the previous owner may still be within its deadline, so the
            // next owner must wait as well.
            await lease.DisposeAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return false;
        }

        if (lease.Lost.IsCancellationRequested)
        {
            await lease.DisposeAsync().ConfigureAwait(false);
            return false;
        }

        lease.Settled();
        return true;
    }

    private sealed class Lease : ISignerLease
    {
        private readonly RedisSignerLeaseManager _owner;
        private readonly RedisKey _key;
        private readonly RedisKey _releasedKey;
        private readonly string _value;
        private readonly CancellationTokenSource _lost;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;
        private int _disposed;
        private volatile bool _settled;

        public Lease(RedisSignerLeaseManager owner, RedisKey key, RedisKey releasedKey, string value, long token, long acquiredAt)
        {
            _owner = owner;
            _key = key;
            _releasedKey = releasedKey;
            _value = value;
            FencingToken = token;
            // The lease is ours for one TTL from when the acquiring command was sent; each renewal moves that on.
            _lost = new CancellationTokenSource(Remaining(acquiredAt));
            // Kept apart from the source, which is disposed with the lease: callers may still look at it then.
            Lost = _lost.Token;
            _renewal = Task.Run(RenewAsync);
        }

        public long FencingToken { get; }

        /// <summary>Nobody else signs with the key any more: a release may tell the next owner to start at once.</summary>
        public void Settled() => _settled = true;

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
                    // Before the settle wait ended, the previous owner may still be signing: no released token then.
                    RedisKey[] keys = _settled ? [_key, _releasedKey] : [_key];
                    await _owner._redis.RunAsync(
                        db => db.ScriptEvaluateAsync(ReleaseScript, keys, [_value, _owner._redis.Keys.LeaseChannel.ToString(), FencingToken]),
                        CancellationToken.None).ConfigureAwait(false);
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

    [LoggerMessage(EventId = 4127, Level = LogLevel.Warning, Message = "Signer {Signer} was taken with fencing token {FencingToken} from an owner that never released it (its lease lapsed, or Redis lost it); signing waits {SettleMilliseconds} ms so that owner has certainly stopped")]
    private static partial void LogSettling(ILogger logger, string signer, long fencingToken, double settleMilliseconds);

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
