using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The accept path in one round trip: one script checks the owner's idempotency key, the model's claim, the
/// registry's answer and the caller's quota windows, then writes the job with its indexes, idempotency key and
/// claim, takes the quota unit and queues the job (<c>XADD</c>, plus a wake-up for idle workers). Every key
/// carries the store's hash tag, so on a cluster the whole acceptance runs on one shard, atomically.
/// </summary>
internal sealed class RedisDeploymentAcceptor : IDeploymentAcceptor
{
    // KEYS: 1-8 as the create script (RedisDeploymentStore.CreateFunctions), 9 the caller's quota set, 10 the stream.
    // ARGV: 1-10 as the create script, 11 token already registered on chain ('' for none), 12 now (ms),
    //       13 unique quota member, 14 window count n, then n (window ms, limit) pairs, then the wake channel,
    //       then the deadline in the server's clock (ms, '' for none).
    // A script that starts after its deadline writes nothing: the caller has answered 503 by then (Redis was
    // frozen and ran the queued command on resuming), and a job it never acknowledged must not appear.
    // The order is the default acceptor's (StoreDeploymentAcceptor), so both backends answer alike: the model's
    // claim (a replay of the claimant's own key first), the registry's answer, the quota, then the store's
    // atomic create checks (idempotency key, claim), which give the quota unit back when they refuse.
    // Returns {'created', quota…}, {'quota', quota…}, {'onchain'}, or a conflict as the create script does.
    private const string AcceptScript = RedisDeploymentStore.CreateFunctions + "\n" + RedisDeploymentQuota.QuotaFunction + "\n" + """
        local clock = redis.call('TIME')
        local serverNow = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        local deadline = ARGV[16 + 2 * tonumber(ARGV[14])]
        if deadline ~= '' and serverNow > tonumber(deadline) then return {'late'} end
        local claim = redis.call('HGET', KEYS[4], 'jobId')
        if claim then
          local claimed = redis.call('HMGET', jobPrefix .. claim, 'data', 'status', 'owner', 'requestHash')
          if claimed[1] then
            if ARGV[9] == '1' and claimed[3] == ARGV[6] and redis.call('GET', KEYS[3]) == claim then
              if claimed[4] == ARGV[7] then return {'replay', claimed[1]} end
              return {'reused', claimed[1]}
            end
            if claimed[2] == 'completed' then return {'deployed', claimed[1]} end
            if claimed[2] == 'pending' or claimed[2] == 'processing' then return {'inprogress', claimed[1]} end
          end
        end
        if ARGV[11] ~= '' then return {'onchain'} end
        local windows = tonumber(ARGV[14])
        local quota = {1}
        if windows > 0 then
          quota = take_quota(KEYS[9], tonumber(ARGV[12]), ARGV[13], read_windows(15, windows))
          if quota[1] == 0 then
            table.insert(quota, 1, 'quota')
            return quota
          end
        end
        local conflict = conflicts()
        if conflict then
          if windows > 0 then redis.call('ZREM', KEYS[9], ARGV[13]) end
          return conflict
        end
        write_job()
        redis.call('XADD', KEYS[10], '*', 'jobId', ARGV[1])
        redis.call('PUBLISH', ARGV[15 + 2 * windows], '')
        table.insert(quota, 1, 'created')
        quota[#quota + 1] = serverNow
        return quota
        """;

    private readonly RedisExecutor _redis;
    private readonly IOptionsMonitor<HokusaiContractsOptions> _options;
    private readonly TimeProvider _time;
    private readonly ServerClock _clock = new();

    public RedisDeploymentAcceptor(RedisExecutor redis, IOptionsMonitor<HokusaiContractsOptions> options, TimeProvider time)
    {
        _redis = redis;
        _options = options;
        _time = time;
    }

    public async Task<AcceptResult> AcceptAsync(DeploymentJob job, string? tokenOnChain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var keys = _redis.Keys;
        var windows = RedisDeploymentQuota.Windows(_options.CurrentValue.Quotas);
        var redisKeys = RedisDeploymentStore.CreateKeys(keys, job, extra: 2);
        redisKeys[8] = keys.Quota(job.Owner);
        redisKeys[9] = keys.Stream;
        var args = RedisDeploymentStore.CreateArgs(keys, job);
        args.Add(tokenOnChain ?? string.Empty);
        args.Add(_time.GetUtcNow().ToUnixTimeMilliseconds());
        args.Add(Guid.NewGuid().ToString("N"));
        RedisDeploymentQuota.AddWindows(args, windows);
        args.Add(keys.WakeChannel.ToString());
        args.Add(string.Empty);

        // The request's one Redis call: it fails at once while a timeout moments ago suspends Redis.
        RedisResult[] parts;
        while (true)
        {
            var sent = TimeProvider.System.GetTimestamp();
            args[^1] = _clock.Deadline(sent, _redis.RequestTimeout) is { } deadline ? deadline : string.Empty;
            var result = await _redis.RunRequestAsync(db => db.ScriptEvaluateAsync(AcceptScript, redisKeys, [.. args]), cancellationToken).ConfigureAwait(false);
            parts = (RedisResult[])result!;
            if ((string?)parts[0] == "created")
            {
                _clock.Observe(sent, (long)parts[^1]);
            }

            // 'late' reaching this process means the script ran while it still waited: the clock estimate is
            // wrong (the server's clock stepped). Forget it and ask once more without a deadline.
            if ((string?)parts[0] != "late" || args[^1].IsNullOrEmpty)
            {
                break;
            }

            _clock.Reset();
        }

        var existing = parts.Length > 1 && parts[1].Resp2Type == ResultType.BulkString && !parts[1].IsNull
            ? RedisJson.Deserialize((string)parts[1]!)
            : null;
        return (string?)parts[0] switch
        {
            "created" => new AcceptResult(AcceptOutcome.Accepted, job, RedisDeploymentQuota.Decide(windows, parts, 1)),
            "quota" => new AcceptResult(AcceptOutcome.QuotaExceeded, Quota: RedisDeploymentQuota.Decide(windows, parts, 1)),
            "onchain" => new AcceptResult(AcceptOutcome.RegisteredOnChain),
            "replay" => new AcceptResult(AcceptOutcome.IdempotentReplay, existing),
            "reused" => new AcceptResult(AcceptOutcome.IdempotencyKeyReused, existing),
            "inprogress" => new AcceptResult(AcceptOutcome.ModelInProgress, existing),
            "deployed" => new AcceptResult(AcceptOutcome.ModelAlreadyDeployed, existing),
            "late" => throw new StoreUnavailableException("Redis ran the acceptance after its deadline; nothing was written."),
            "duplicate" => throw new InvalidOperationException($"A job with id {job.Id} already exists."),
            var other => throw new InvalidOperationException($"Unexpected accept result '{other}'."),
        };
    }
}

/// <summary>
/// Estimates the Redis server's clock from this process's monotonic clock, so a deadline can be written in the
/// server's time without trusting the two wall clocks to agree. Each successful acceptance gives a sample
/// (server time − local send time), which is the true offset plus the one-way delay; the smallest sample of
/// the last two minutes is the estimate, so the deadline errs late (never refusing a timely script) and a
/// server clock step is forgotten within two minutes.
/// </summary>
internal sealed class ServerClock
{
    private static readonly long s_window = 60 * TimeProvider.System.TimestampFrequency;
    private readonly Lock _gate = new();
    private long _windowStart;
    private long? _current;
    private long? _previous;

    public long? Deadline(long sentTimestamp, TimeSpan timeout)
    {
        long? offset;
        lock (_gate)
        {
            offset = (_current, _previous) switch
            {
                ({ } a, { } b) => Math.Min(a, b),
                ({ } a, null) => a,
                (null, var b) => b,
            };
        }

        return offset is { } known ? LocalMilliseconds(sentTimestamp) + known + (long)timeout.TotalMilliseconds : null;
    }

    public void Observe(long sentTimestamp, long serverMilliseconds)
    {
        var sample = serverMilliseconds - LocalMilliseconds(sentTimestamp);
        lock (_gate)
        {
            if (_windowStart == 0 || sentTimestamp - _windowStart > s_window)
            {
                _previous = _current;
                _current = null;
                _windowStart = sentTimestamp;
            }

            _current = _current is { } min ? Math.Min(min, sample) : sample;
        }
    }

    /// <summary>Forgets the estimate: the next call sends no deadline and samples afresh.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _current = null;
            _previous = null;
            _windowStart = 0;
        }
    }

    private static long LocalMilliseconds(long timestamp) => timestamp / Math.Max(1, TimeProvider.System.TimestampFrequency / 1000);
}
