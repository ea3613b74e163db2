using System.Globalization;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The job store shared by all replicas. Jobs are hashes (<c>data</c> = JSON, plus the fields the scripts
/// need: <c>version</c>, <c>status</c>, <c>requestHash</c>, <c>createdAt</c>); creation and updates are single
/// Lua scripts, so the idempotency key, the per-model claim, the indexes and the job change together.
/// </summary>
internal sealed class RedisDeploymentStore : IDeploymentStore
{
    // KEYS: job, owner index, idempotency key, claim, unfinished, status set.
    // ARGV: id, json, version, status, model, owner, request hash, created (ms), has idempotency key, job key prefix.
    // The job a claim or idempotency key points to is read through a key derived here; that is safe on a
    // cluster because every store key carries the same hash tag.
    private const string CreateScript = """
        local jobPrefix = ARGV[10]
        if ARGV[9] == '1' then
          local existingId = redis.call('GET', KEYS[3])
          if existingId then
            local existing = redis.call('HMGET', jobPrefix .. existingId, 'data', 'requestHash')
            if existing[1] then
              if existing[2] == ARGV[7] then return {'replay', existing[1]} end
              return {'reused', existing[1]}
            end
            redis.call('DEL', KEYS[3])
          end
        end
        local claim = redis.call('HMGET', KEYS[4], 'jobId', 'status')
        if claim[1] then
          local claimed = redis.call('HMGET', jobPrefix .. claim[1], 'data', 'status')
          local status = claimed[2] or claim[2]
          if status == 'completed' then return {'deployed', claimed[1] or false} end
          if (status == 'pending' or status == 'processing') and claimed[1] then return {'inprogress', claimed[1]} end
        end
        if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate'} end
        redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', ARGV[3], 'status', ARGV[4], 'modelId', ARGV[5],
          'owner', ARGV[6], 'requestHash', ARGV[7], 'createdAt', ARGV[8])
        redis.call('ZADD', KEYS[2], ARGV[8], ARGV[1])
        if ARGV[9] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
        redis.call('DEL', KEYS[4])
        redis.call('HSET', KEYS[4], 'jobId', ARGV[1], 'status', ARGV[4])
        redis.call('ZADD', KEYS[5], ARGV[8], ARGV[1])
        redis.call('ZADD', KEYS[6], ARGV[8], ARGV[1])
        return {'created'}
        """;

    // KEYS: job, claim, idempotency key (or the job key again), unfinished, then the five status sets,
    //       then (always the LAST FOUR) the webhook outbox keys: event, job's events, due set, pending set.
    // ARGV: id, expected version, new version, json, new status, retention (ms), now (ms), has idempotency key,
    //       then (always the LAST FOUR) webhook event id ('' for none), event JSON, due (ms), created (ms).
    private const string UpdateScript = """
        local current = redis.call('HMGET', KEYS[1], 'version', 'status', 'createdAt')
        if not current[1] or current[1] ~= ARGV[2] then return 0 end
        local id, old, new = ARGV[1], current[2], ARGV[5]
        local sets = {pending = KEYS[5], processing = KEYS[6], completed = KEYS[7], failed = KEYS[8], cancelled = KEYS[9]}
        redis.call('HSET', KEYS[1], 'data', ARGV[4], 'version', ARGV[3], 'status', new)
        if old ~= new and sets[old] then redis.call('ZREM', sets[old], id) end
        local claimOwner = redis.call('HGET', KEYS[2], 'jobId')
        if new == 'completed' or new == 'failed' or new == 'cancelled' then
          local retention = tonumber(ARGV[6])
          redis.call('PEXPIRE', KEYS[1], retention)
          if ARGV[8] == '1' then redis.call('PEXPIRE', KEYS[3], retention) end
          redis.call('ZREM', KEYS[4], id)
          redis.call('ZADD', sets[new], tonumber(ARGV[7]) + retention, id)
          if claimOwner == id then
            if new == 'completed' then
              redis.call('HSET', KEYS[2], 'status', new)
            else
              redis.call('DEL', KEYS[2])
            end
          end
        else
          redis.call('PERSIST', KEYS[1])
          if ARGV[8] == '1' then redis.call('PERSIST', KEYS[3]) end
          redis.call('ZADD', KEYS[4], current[3], id)
          redis.call('ZADD', sets[new], current[3], id)
          if claimOwner == id then redis.call('HSET', KEYS[2], 'status', new) end
        end

        -- Webhook outbox: the event of a final status is written by this same script, so a status change
        -- and its event exist together or not at all. Addressed from the end of KEYS/ARGV.
        local wk, wa = #KEYS - 3, #ARGV - 3
        local final = {completed = true, failed = true, cancelled = true}
        if ARGV[wa] ~= '' and final[new] and not final[old] then
          redis.call('HSET', KEYS[wk], 'doc', ARGV[wa + 1], 'token', 0, 'leaseUntil', 0, 'jobId', id)
          redis.call('ZADD', KEYS[wk + 1], ARGV[wa + 3], ARGV[wa])
          redis.call('ZADD', KEYS[wk + 2], ARGV[wa + 2], ARGV[wa])
          redis.call('ZADD', KEYS[wk + 3], ARGV[wa + 3], ARGV[wa])
        end
        return 1
        """;

    // KEYS: owner index. ARGV: job key prefix. Returns the owner's jobs newest first, dropping expired ids.
    private const string ListScript = """
        local ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
        local result = {}
        for _, id in ipairs(ids) do
          local data = redis.call('HGET', ARGV[1] .. id, 'data')
          if data then result[#result + 1] = data else redis.call('ZREM', KEYS[1], id) end
        end
        return result
        """;

    // KEYS: the five status sets. ARGV: now (ms). Final sets are scored by expiry and pruned first.
    private const string CountScript = """
        local now = tonumber(ARGV[1])
        local counts = {}
        for i = 1, #KEYS do
          if i > 2 then redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
          counts[i] = redis.call('ZCARD', KEYS[i])
        end
        return counts
        """;

    private readonly RedisExecutor _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;
    private readonly WebhookEventFactory? _events;

    public RedisDeploymentStore(RedisExecutor redis, IOptions<RedisContractsOptions> options, IOptions<HokusaiContractsOptions> contracts, TimeProvider time, WebhookEventFactory? events = null)
    {
        _redis = redis;
        _events = events;
        _keys = redis.Keys;
        _time = time;
        _retention = options.Value.Retention ?? contracts.Value.Jobs.Retention;
    }

    public async Task<CreateJobResult> TryCreateAsync(DeploymentJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Status.IsFinal())
        {
            throw new ArgumentException("A new job cannot be final.", nameof(job));
        }

        var hasIdempotencyKey = !string.IsNullOrEmpty(job.IdempotencyKey);
        var jobKey = _keys.Job(job.Id);
        RedisKey[] keys =
        [
            jobKey,
            _keys.Owner(job.Owner),
            hasIdempotencyKey ? _keys.Idempotency(job.Owner, job.IdempotencyKey!) : jobKey,
            _keys.Claim(job.Request.ModelId),
            _keys.Unfinished,
            _keys.Status(job.Status),
        ];
        RedisValue[] args =
        [
            job.Id.ToString("D"),
            RedisJson.Serialize(job),
            job.Version,
            job.Status.ToWireValue(),
            job.Request.ModelId,
            job.Owner,
            job.RequestHash,
            job.CreatedAt.ToUnixTimeMilliseconds(),
            hasIdempotencyKey ? "1" : "0",
            _keys.JobPrefix,
        ];

        var result = await _redis.RunAsync(db => db.ScriptEvaluateAsync(CreateScript, keys, args), cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var existing = parts.Length > 1 && !parts[1].IsNull ? RedisJson.Deserialize((string)parts[1]!) : null;
        return (string?)parts[0] switch
        {
            "created" => new CreateJobResult(CreateJobOutcome.Created),
            "replay" => new CreateJobResult(CreateJobOutcome.IdempotentReplay, existing),
            "reused" => new CreateJobResult(CreateJobOutcome.IdempotencyKeyReused, existing),
            "inprogress" => new CreateJobResult(CreateJobOutcome.ModelInProgress, existing),
            "deployed" => new CreateJobResult(CreateJobOutcome.ModelAlreadyDeployed, existing),
            "duplicate" => throw new InvalidOperationException($"A job with id {job.Id} already exists."),
            var other => throw new InvalidOperationException($"Unexpected create result '{other}'."),
        };
    }

    public async Task<DeploymentJob?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var data = await _redis.RunAsync(db => db.HashGetAsync(_keys.Job(id), "data"), cancellationToken).ConfigureAwait(false);
        return data.IsNull ? null : RedisJson.Deserialize(data!);
    }

    public async Task<bool> TryUpdateAsync(DeploymentJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var hasIdempotencyKey = !string.IsNullOrEmpty(job.IdempotencyKey);
        var jobKey = _keys.Job(job.Id);

        // The event is built for every final write; the script keeps it only if this write is the transition.
        var raised = job.Status.IsFinal() ? _events?.ForTransition(job) : null;
        RedisKey[] keys =
        [
            jobKey,
            _keys.Claim(job.Request.ModelId),
            hasIdempotencyKey ? _keys.Idempotency(job.Owner, job.IdempotencyKey!) : jobKey,
            _keys.Unfinished,
            .. _keys.StatusSets,
            .. WebhookKeys(raised, jobKey),
        ];
        RedisValue[] args =
        [
            job.Id.ToString("D"),
            (job.Version - 1).ToString(CultureInfo.InvariantCulture),
            job.Version.ToString(CultureInfo.InvariantCulture),
            RedisJson.Serialize(job),
            job.Status.ToWireValue(),
            (long)_retention.TotalMilliseconds,
            _time.GetUtcNow().ToUnixTimeMilliseconds(),
            hasIdempotencyKey ? "1" : "0",
            .. WebhookArgs(raised),
        ];
        var result = await _redis.RunAsync(db => db.ScriptEvaluateAsync(UpdateScript, keys, args), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    private RedisKey[] WebhookKeys(WebhookEvent? raised, RedisKey placeholder) => raised is null
        ? [placeholder, placeholder, placeholder, placeholder]
        : [_keys.WebhookEvent(raised.Id), _keys.WebhookJobEvents(raised.JobId), _keys.WebhookDue, _keys.WebhookPending];

    private static RedisValue[] WebhookArgs(WebhookEvent? raised) => raised is null
        ? ["", "", "0", "0"]
        : [raised.Id.ToString("D"), RedisWebhookOutbox.Serialize(raised), raised.NextAttemptAt!.Value.ToUnixTimeMilliseconds(), raised.CreatedAt.ToUnixTimeMilliseconds()];

    public async Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentNullException.ThrowIfNull(query);
        var result = await _redis.RunRequestAsync(
            db => db.ScriptEvaluateAsync(ListScript, [_keys.Owner(owner)], [_keys.JobPrefix]),
            cancellationToken).ConfigureAwait(false);

        var matching = ((RedisResult[])result!)
            .Select(item => RedisJson.Deserialize((string)item!))
            .Where(job => query.Status is null || job.Status == query.Status)
            .Where(job => query.ModelId is null || string.Equals(job.Request.ModelId, query.ModelId, StringComparison.Ordinal))
            .OrderByDescending(job => job.CreatedAt)
            .ToList();

        var limit = Math.Clamp(query.Limit, 1, 100);
        var page = Math.Max(query.Page, 1);
        var items = matching.Skip((int)Math.Min((long)(page - 1) * limit, int.MaxValue)).Take(limit).ToList();
        return new DeploymentPage(items, matching.Count);
    }

    public async Task<Guid?> GetModelClaimAsync(string modelId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        var value = await _redis.RunRequestAsync(db => db.HashGetAsync(_keys.Claim(modelId), "jobId"), cancellationToken).ConfigureAwait(false);
        return !value.IsNull && Guid.TryParse((string)value!, out var id) ? id : null;
    }

    public async Task<IReadOnlyList<Guid>> GetUnfinishedAsync(CancellationToken cancellationToken)
    {
        var values = await _redis.RunAsync(db => db.SortedSetRangeByRankAsync(_keys.Unfinished), cancellationToken).ConfigureAwait(false);
        return values.Select(value => Guid.TryParse((string)value!, out var id) ? id : (Guid?)null)
            .OfType<Guid>()
            .ToList();
    }

    public async Task<IReadOnlyDictionary<DeploymentStatus, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var result = await _redis.RunAsync(db => db.ScriptEvaluateAsync(CountScript, _keys.StatusSets, [now]), cancellationToken).ConfigureAwait(false);
        var counts = (RedisResult[])result!;
        return Enum.GetValues<DeploymentStatus>().ToDictionary(status => status, status => (long)counts[(int)status]);
    }
}
