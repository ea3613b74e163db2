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
    //       13 unique quota member, 14 window count n, then n (window ms, limit) pairs, then the wake channel.
    // The order is the default acceptor's (StoreDeploymentAcceptor), so both backends answer alike: the model's
    // claim (a replay of the claimant's own key first), the registry's answer, the quota, then the store's
    // atomic create checks (idempotency key, claim), which give the quota unit back when they refuse.
    // Returns {'created', quota…}, {'quota', quota…}, {'onchain'}, or a conflict as the create script does.
    private const string AcceptScript = RedisDeploymentStore.CreateFunctions + "\n" + RedisDeploymentQuota.QuotaFunction + "\n" + """
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
        return quota
        """;

    private readonly RedisExecutor _redis;
    private readonly IOptionsMonitor<HokusaiContractsOptions> _options;
    private readonly TimeProvider _time;

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

        // The request's one Redis call: it fails at once while a timeout moments ago suspends Redis.
        var result = await _redis.RunRequestAsync(db => db.ScriptEvaluateAsync(AcceptScript, redisKeys, [.. args]), cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
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
            "duplicate" => throw new InvalidOperationException($"A job with id {job.Id} already exists."),
            var other => throw new InvalidOperationException($"Unexpected accept result '{other}'."),
        };
    }
}
