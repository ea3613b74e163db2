using Hokusai.Contracts.Backends;
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
    internal const string AcceptScript = RedisDeploymentStore.CreateFunctions + "\n" + RedisDeploymentQuota.QuotaFunction + "\n" + """
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

    // KEYS: 1 a key under the store's hash tag (it routes the call to the shard that runs AcceptScript).
    // Returns the server's clock as {seconds, microseconds}; reads nothing.
    private const string ClockScript = "return redis.call('TIME')";

    /// <summary>Clock samples taken by <see cref="WarmUpAsync"/>: the estimate is the best of them.</summary>
    internal const int WarmUpSamples = 5;

    private readonly RedisExecutor _redis;
    private readonly IOptionsMonitor<HokusaiContractsOptions> _options;
    private readonly TimeProvider _time;
    private readonly ServerClock _clock;

    public RedisDeploymentAcceptor(RedisExecutor redis, IOptionsMonitor<HokusaiContractsOptions> options, TimeProvider time)
        : this(redis, options, time, new ServerClock())
    {
    }

    internal RedisDeploymentAcceptor(RedisExecutor redis, IOptionsMonitor<HokusaiContractsOptions> options, TimeProvider time, ServerClock clock)
    {
        _redis = redis;
        _options = options;
        _time = time;
        _clock = clock;
    }

    internal ServerClock Clock => _clock;

    /// <summary>
    /// Readies the accept path before the first request: loads the script on the shard that runs it, builds the
    /// job's stored form once (serializer metadata), and samples the server's clock several times so the deadline
    /// guard starts from a good estimate. A cold first acceptance otherwise paid for all of it inside its request
    /// timeout, and its slow round trip became the clock estimate.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        var keys = _redis.Keys;
        var sample = new DeploymentJob
        {
            Id = Guid.Empty,
            Owner = "warm-up",
            Request = new DeploymentRequest
            {
                ModelId = "warm-up",
                UserAddress = "0x0000000000000000000000000000000000000000",
                TokenName = "warm-up",
                TokenSymbol = "WARM",
                PerformanceMetric = "accuracy",
            },
            RequestHash = string.Empty,
            CreatedAt = _time.GetUtcNow(),
            UpdatedAt = _time.GetUtcNow(),
        };
        _ = RedisDeploymentStore.CreateArgs(keys, sample);
        _ = RedisDeploymentStore.CreateKeys(keys, sample, extra: 2);
        await _redis.RunAsync(async db =>
        {
            foreach (var endpoint in db.Multiplexer.GetEndPoints())
            {
                var server = db.Multiplexer.GetServer(endpoint);
                if (server.IsConnected && !server.IsReplica)
                {
                    await server.ScriptLoadAsync(AcceptScript).ConfigureAwait(false);
                }
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);

        RedisKey[] clockKeys = [keys.Stream];
        for (var i = 0; i < WarmUpSamples; i++)
        {
            var sent = _clock.Monotonic.GetTimestamp();
            var time = (RedisResult[])(await _redis.RunAsync(db => db.ScriptEvaluateAsync(ClockScript, clockKeys), cancellationToken).ConfigureAwait(false))!;
            var received = _clock.Monotonic.GetTimestamp();
            _clock.Observe(sent, received, ((long)time[0] * 1000) + ((long)time[1] / 1000));
        }
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
            var sent = _clock.Monotonic.GetTimestamp();
            args[^1] = _clock.Deadline(sent, _redis.RequestTimeout) is { } deadline ? deadline : string.Empty;
            var result = await _redis.RunRequestAsync(db => db.ScriptEvaluateAsync(AcceptScript, redisKeys, [.. args]), cancellationToken).ConfigureAwait(false);
            parts = (RedisResult[])result!;
            if ((string?)parts[0] == "created")
            {
                _clock.Observe(sent, _clock.Monotonic.GetTimestamp(), (long)parts[^1]);
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
