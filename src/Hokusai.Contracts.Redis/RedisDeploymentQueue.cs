using System.Collections.Concurrent;
using System.Globalization;
using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// A durable queue on a Redis Stream read through one consumer group; every process is a consumer. An entry
/// stays in the group's pending list until acknowledged; while this process holds it, a keep-alive resets its
/// idle time, so only a dead consumer's entries go idle long enough for another replica to reclaim them.
/// Idle workers do not poll: every enqueue publishes on a wake-up channel, and only one waiting worker per
/// process keeps a slow safety poll (<see cref="RedisContractsOptions.PollInterval"/>) for a missed message.
/// </summary>
internal sealed partial class RedisDeploymentQueue : IDeploymentQueue, IAsyncDisposable, IDisposable
{
    private const string JobIdField = "jobId";
    private const string HandOverMessage = "handover";

    // KEYS: stream. ARGV: job id, wake channel. Queues the job and wakes idle workers of every replica.
    private const string EnqueueScript = """
        local id = redis.call('XADD', KEYS[1], '*', 'jobId', ARGV[1])
        redis.call('PUBLISH', ARGV[2], '')
        return id
        """;

    // KEYS: stream. ARGV: group, entry id.
    private const string AcknowledgeScript = """
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        return redis.call('XDEL', KEYS[1], ARGV[2])
        """;

    // KEYS: stream. ARGV: group, consumer, entry ids. Resets the idle time of the entries this consumer still
    // owns and returns the ids it no longer owns (acknowledged, or reclaimed by another consumer).
    private const string KeepAliveScript = """
        local gone = {}
        for i = 3, #ARGV do
          local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if pending[1] and pending[1][2] == ARGV[2] then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
          else
            gone[#gone + 1] = ARGV[i]
          end
        end
        return gone
        """;

    // KEYS: stream. ARGV: group, consumer, idle (ms), entry ids, wake channel. On shutdown: marks the entries this
    // consumer still owns as idle for the full claim timeout, so another replica takes them over at once (woken
    // now), and removes the consumer from the group when it owns nothing any more.
    private const string HandOverScript = """
        for i = 4, #ARGV - 1 do
          local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if pending[1] and pending[1][2] == ARGV[2] then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
          end
        end
        if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
          redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
        end
        redis.call('PUBLISH', ARGV[#ARGV], 'handover')
        return 1
        """;

    // KEYS: stream. ARGV: group, minimum idle (ms). Removes consumers that own nothing and have not been seen
    // for a while (replicas that went away), atomically so a consumer that reads meanwhile keeps its entries.
    private const string PruneConsumersScript = """
        local removed = 0
        for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
          local info = {}
          for j = 1, #consumer, 2 do info[consumer[j]] = consumer[j + 1] end
          if info['pending'] == 0 and info['idle'] >= tonumber(ARGV[2]) then
            redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
            removed = removed + 1
          end
        end
        return removed
        """;

    private readonly RedisExecutor _redis;
    private readonly RedisKey _stream;
    private readonly RedisChannel _wakeChannel;
    private readonly string _group;
    private readonly TimeSpan _claimIdle;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, byte> _inFlight = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly WakeSignal _wake;
    private int _poller;
    private long _nextReclaim;
    private Task? _keepAlive;
    private volatile bool _groupReady;
    // A string so concurrent workers read and write it atomically.
    private volatile string _reclaimCursor = "0-0";
    private long _lastPrune;
    private bool _disposed;

    public RedisDeploymentQueue(RedisExecutor redis, IOptions<RedisContractsOptions> options, ILogger<RedisDeploymentQueue> logger)
        : this(redis, options, logger, redis.Keys.Stream, redis.Keys.WakeChannel)
    {
    }

    /// <summary>A queue on another stream of the same tag (one pool key's bound jobs), woken on its own channel.</summary>
    internal RedisDeploymentQueue(RedisExecutor redis, IOptions<RedisContractsOptions> options, ILogger<RedisDeploymentQueue> logger, RedisKey stream, RedisChannel wakeChannel)
    {
        _redis = redis;
        _stream = stream;
        _wakeChannel = wakeChannel;
        _group = options.Value.ConsumerGroup;
        ConsumerName = options.Value.ConsumerName ?? DefaultConsumerName();
        _claimIdle = options.Value.ClaimIdleTimeout;
        _pollInterval = options.Value.PollInterval;
        _logger = logger;
        // A hand-over announces entries that are reclaimable now: the next read walks the pending list at once.
        _wake = new WakeSignal(redis, wakeChannel, message =>
        {
            if (message == HandOverMessage)
            {
                Interlocked.Exchange(ref _nextReclaim, 0);
            }
        });
    }

    /// <summary>This process's consumer name in the group.</summary>
    public string ConsumerName { get; }

    public bool IsDurable => true;

    public async ValueTask EnqueueAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await _redis.RunAsync(
            db => db.ScriptEvaluateAsync(EnqueueScript, [_stream], [jobId.ToString("D"), _wakeChannel.ToString()]),
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<QueueItem?> DequeueAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var poller = false;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Captured before looking, so a job queued while this worker reads still wakes it, provided this
                // process was subscribed before the read: a job queued after the read but before the subscription is
                // live announces itself to no one here.
                var signal = _wake.Current;
                var subscribed = _wake.IsSubscribed;
                try
                {
                    _wake.EnsureSubscribed();
                    await PruneConsumersAsync(cancellationToken).ConfigureAwait(false);
                    var item = await TryReclaimAsync(cancellationToken).ConfigureAwait(false)
                        ?? await TryReadNewAsync(cancellationToken).ConfigureAwait(false);
                    if (item is not null)
                    {
                        Track(item.DeliveryId);
                        return item;
                    }

                    failures = 0;

                    await _wake.EnsureSubscribedAsync(_redis.Timeout, cancellationToken).ConfigureAwait(false);
                    if (!subscribed && _wake.IsSubscribed)
                    {
                        // Live only since the read: look again rather than wait for a wake-up that may have been missed.
                        continue;
                    }

                    // One waiting worker per process keeps the safety poll; the others wait for a wake-up alone.
                    poller = poller || Interlocked.CompareExchange(ref _poller, 1, 0) == 0;
                    await WakeSignal.WaitAsync(signal, poller ? _pollInterval : Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is StoreUnavailableException or RedisException)
                {
                    // The engine keeps waiting for work through an outage (or an unexpected server error); back off.
                    failures++;
                    LogDequeueFailed(_logger, ex);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250 * (1 << Math.Min(failures, 3)), 2000)), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return null;
        }
        finally
        {
            if (poller)
            {
                // The other waiters have no timeout: wake them so one of them takes the safety poll over.
                Volatile.Write(ref _poller, 0);
                _wake.Wake();
            }
        }
    }

    public async ValueTask AcknowledgeAsync(QueueItem item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        await _redis.RunAsync(db => db.ScriptEvaluateAsync(AcknowledgeScript, [_stream], [_group, item.DeliveryId]), cancellationToken).ConfigureAwait(false);
        _inFlight.TryRemove(item.DeliveryId, out _);
    }

    public async ValueTask<long> GetDepthAsync(CancellationToken cancellationToken) =>
        // Acknowledged entries are deleted, so the length is what waits plus what is delivered but unacknowledged.
        await _redis.RunAsync(db => db.StreamLengthAsync(_stream), cancellationToken).ConfigureAwait(false);

    private async Task<QueueItem?> TryReclaimAsync(CancellationToken cancellationToken)
    {
        // XAUTOCLAIM inspects only a few pending entries per call; the cursor walks the whole pending list
        // across calls, so idle entries behind many live ones are still found.
        // Nothing can be reclaimable before it sat idle for the claim timeout, so an idle walk is due only every
        // quarter of it; a walk that found something, or has more to walk, goes on at once.
        var now = Environment.TickCount64;
        if (now < Interlocked.Read(ref _nextReclaim))
        {
            return null;
        }

        var cursor = _reclaimCursor;
        var claimed = await WithGroupAsync(
            db => db.StreamAutoClaimAsync(_stream, _group, ConsumerName, (long)_claimIdle.TotalMilliseconds, cursor, 1),
            cancellationToken).ConfigureAwait(false);
        _reclaimCursor = claimed.NextStartId.IsNullOrEmpty ? "0-0" : claimed.NextStartId.ToString();
        if (claimed.ClaimedEntries.Length == 0 && _reclaimCursor == "0-0")
        {
            Interlocked.Exchange(ref _nextReclaim, now + (long)(_claimIdle.TotalMilliseconds / 4));
        }

        foreach (var entry in claimed.ClaimedEntries)
        {
            var pending = await _redis.RunAsync(
                db => db.StreamPendingMessagesAsync(_stream, _group, 1, ConsumerName, entry.Id, entry.Id),
                cancellationToken).ConfigureAwait(false);
            var deliveries = pending.Length > 0 ? pending[0].DeliveryCount : 2;
            var item = await ToItemAsync(entry, deliveries, cancellationToken).ConfigureAwait(false);
            if (item is not null)
            {
                LogReclaimed(_logger, item.JobId, item.DeliveryId, deliveries);
                return item;
            }
        }

        return null;
    }

    /// <summary>At most once per claim timeout: forget consumers of replicas that are gone.</summary>
    private async Task PruneConsumersAsync(CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastPrune);
        if ((last != 0 && now - last < (long)_claimIdle.TotalMilliseconds) || Interlocked.CompareExchange(ref _lastPrune, now, last) != last)
        {
            return;
        }

        await WithGroupAsync(
            db => db.ScriptEvaluateAsync(PruneConsumersScript, [_stream], [_group, 2 * (long)_claimIdle.TotalMilliseconds]),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<QueueItem?> TryReadNewAsync(CancellationToken cancellationToken)
    {
        var entries = await WithGroupAsync(
            db => db.StreamReadGroupAsync(_stream, _group, ConsumerName, StreamPosition.NewMessages, 1),
            cancellationToken).ConfigureAwait(false);
        foreach (var entry in entries)
        {
            var item = await ToItemAsync(entry, 1, cancellationToken).ConfigureAwait(false);
            if (item is not null)
            {
                return item;
            }
        }

        return null;
    }

    private async Task<QueueItem?> ToItemAsync(StreamEntry entry, int deliveries, CancellationToken cancellationToken)
    {
        // Redis 6.2 hands out a deleted entry's id with no fields; it is dropped like a malformed one.
        var value = entry.IsNull ? RedisValue.Null : entry[JobIdField];
        if (!value.IsNull && Guid.TryParse((string)value!, out var jobId))
        {
            return new QueueItem(jobId, entry.Id!, deliveries);
        }

        // Not ours to process and never will be: drop it rather than redeliver it forever.
        LogMalformedEntry(_logger, entry.Id.ToString());
        await _redis.RunAsync(db => db.ScriptEvaluateAsync(AcknowledgeScript, [_stream], [_group, entry.Id]), cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Runs a group command, creating the group (and the stream) when it does not exist yet or was lost.</summary>
    private async Task<T> WithGroupAsync<T>(Func<IDatabase, Task<T>> operation, CancellationToken cancellationToken)
    {
        if (!_groupReady)
        {
            await EnsureGroupAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await _redis.RunAsync(operation, cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            _groupReady = false;
            await EnsureGroupAsync(cancellationToken).ConfigureAwait(false);
            return await _redis.RunAsync(operation, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task EnsureGroupAsync(CancellationToken cancellationToken)
    {
        try
        {
            // From the start of the stream, so entries added before the group existed are not skipped.
            await _redis.RunAsync(db => db.StreamCreateConsumerGroupAsync(_stream, _group, "0", createStream: true), cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another replica created it first.
        }

        _groupReady = true;
    }

    private void Track(string deliveryId)
    {
        _inFlight[deliveryId] = 0;
        lock (_gate)
        {
            if (_keepAlive is null && !_disposed)
            {
                _keepAlive = Task.Run(() => KeepAliveAsync(_stopping.Token));
            }
        }
    }

    private async Task KeepAliveAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_claimIdle / 4, TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                var ids = _inFlight.Keys.ToArray();
                if (ids.Length == 0)
                {
                    continue;
                }

                try
                {
                    RedisValue[] args = [_group, ConsumerName, .. ids.Select(id => (RedisValue)id)];
                    var gone = await _redis.RunAsync(db => db.ScriptEvaluateAsync(KeepAliveScript, [_stream], args), stopping).ConfigureAwait(false);
                    foreach (var id in (RedisResult[])gone!)
                    {
                        _inFlight.TryRemove((string)id!, out _);
                    }
                }
                catch (StoreUnavailableException ex)
                {
                    LogKeepAliveFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? keepAlive;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            keepAlive = _keepAlive;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (keepAlive is not null)
        {
            await keepAlive.ConfigureAwait(false);
            await HandOverAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Runs once the engine has stopped: whatever it left unacknowledged goes to another replica now rather
    /// than after the claim timeout. Best effort; if Redis is away the entries are reclaimed the slow way.
    /// </summary>
    private async Task HandOverAsync()
    {
        try
        {
            RedisValue[] args = [_group, ConsumerName, (long)_claimIdle.TotalMilliseconds, .. _inFlight.Keys.Select(id => (RedisValue)id), _wakeChannel.ToString()];
            await _redis.RunAsync(db => db.ScriptEvaluateAsync(HandOverScript, [_stream], args), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or RedisException)
        {
            LogHandOverFailed(_logger, ex);
        }
    }

    internal static string DefaultConsumerName() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}");

    [LoggerMessage(EventId = 4110, Level = LogLevel.Warning, Message = "Reading the job stream failed; retrying")]
    private static partial void LogDequeueFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Reclaimed job {JobId} (entry {EntryId}) from an idle consumer; delivery {DeliveryCount}")]
    private static partial void LogReclaimed(ILogger logger, Guid jobId, string? entryId, int deliveryCount);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Warning, Message = "Dropped stream entry {EntryId} without a job id")]
    private static partial void LogMalformedEntry(ILogger logger, string? entryId);

    [LoggerMessage(EventId = 4114, Level = LogLevel.Warning, Message = "Handing over unacknowledged stream entries on shutdown failed; they are reclaimed after the claim timeout")]
    private static partial void LogHandOverFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Warning, Message = "Refreshing in-flight stream entries failed; retrying")]
    private static partial void LogKeepAliveFailed(ILogger logger, Exception exception);
}
