using System.Globalization;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The job store shared by all replicas. Jobs are hashes (<c>data</c> = JSON, plus the fields the scripts
/// need: <c>version</c>, <c>status</c>, <c>requestHash</c>, <c>createdAt</c>); creation and updates are single
/// Lua scripts, so the idempotency key, the per-model claim, the indexes and the job change together. Raw
/// signed transactions are kept in fields beside <c>data</c> (<see cref="StoredTransactions"/>): status and list
/// reads never carry them, the engine's <see cref="GetAsync"/> does.
/// </summary>
internal sealed class RedisDeploymentStore : IDeploymentStore
{
    // The create and accept scripts share their first KEYS and ARGV:
    // KEYS: 1 job, 2 owner index, 3 idempotency key (or the job key again), 4 claim, 5 unfinished, 6 status set
    //       (pending), 7 the owner's pending set, 8 the owner's index of the model.
    // ARGV: 1 id, 2 json, 3 version, 4 status, 5 model, 6 owner, 7 request hash, 8 created (ms),
    //       9 has idempotency key, 10 job key prefix.
    // The job a claim or idempotency key points to is read through a key derived here; that is safe on a
    // cluster because every store key carries the same hash tag.
    internal const string CreateFunctions = """
        local jobPrefix = ARGV[10]
        local function conflicts()
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
          return nil
        end
        local function write_job()
          redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', ARGV[3], 'status', ARGV[4], 'modelId', ARGV[5],
            'owner', ARGV[6], 'requestHash', ARGV[7], 'createdAt', ARGV[8])
          redis.call('ZADD', KEYS[2], ARGV[8], ARGV[1])
          if ARGV[9] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
          redis.call('DEL', KEYS[4])
          redis.call('HSET', KEYS[4], 'jobId', ARGV[1], 'status', ARGV[4])
          redis.call('ZADD', KEYS[5], ARGV[8], ARGV[1])
          redis.call('ZADD', KEYS[6], ARGV[8], ARGV[1])
          redis.call('ZADD', KEYS[7], ARGV[8], ARGV[1])
          redis.call('ZADD', KEYS[8], ARGV[8], ARGV[1])
        end
        """;

    private const string CreateScript = CreateFunctions + "\n" + """
        local conflict = conflicts()
        if conflict then return conflict end
        write_job()
        return {'created'}
        """;

    // KEYS: 1 job, 2 claim, 3 idempotency key (or the job key again), 4 unfinished, 5-9 the five status sets,
    //       10-14 the owner's five status sets, 15 the owner's expiry index,
    //       then (always the LAST FOUR) the webhook outbox keys: event, job's events, due set, pending set.
    // ARGV: 1 id, 2 expected version, 3 new version, 4 json, 5 new status, 6 retention (ms), 7 now (ms),
    //       8 has idempotency key, 9 model id, 10 count n of raw transactions, then n (field, raw transaction)
    //       pairs, then (always the LAST FOUR) webhook event id ('' for none), event JSON, due (ms), created (ms).
    private const string UpdateScript = """
        local current = redis.call('HMGET', KEYS[1], 'version', 'status', 'createdAt')
        if not current[1] or current[1] ~= ARGV[2] then return 0 end
        local id, old, new = ARGV[1], current[2], ARGV[5]
        local sets = {pending = KEYS[5], processing = KEYS[6], completed = KEYS[7], failed = KEYS[8], cancelled = KEYS[9]}
        redis.call('HSET', KEYS[1], 'data', ARGV[4], 'version', ARGV[3], 'status', new)
        if old ~= new and sets[old] then redis.call('ZREM', sets[old], id) end
        local claimOwner = redis.call('HGET', KEYS[2], 'jobId')
        local isFinal = new == 'completed' or new == 'failed' or new == 'cancelled'
        if isFinal then
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

        -- Signed transactions: their raw bytes live beside the job's data, in fields only the engine reads.
        for i = 11, 10 + 2 * tonumber(ARGV[10]), 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end

        -- The owner's listing indexes: the job moves to its new status set; a finished job is recorded by
        -- expiry so the next listing prunes it from every index once it is gone.
        local ownerSets = {pending = KEYS[10], processing = KEYS[11], completed = KEYS[12], failed = KEYS[13], cancelled = KEYS[14]}
        if old ~= new and ownerSets[old] then redis.call('ZREM', ownerSets[old], id) end
        redis.call('ZADD', ownerSets[new], current[3], id)
        if isFinal then redis.call('ZADD', KEYS[15], tonumber(ARGV[7]) + tonumber(ARGV[6]), ARGV[9] .. '|' .. id) end

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

    // KEYS: 1 owner index, 2-6 the owner's five status sets, 7 the owner's expiry index, 8 the index to read.
    // ARGV: 1 now (ms), 2 first rank, 3 last rank, 4 job key prefix, 5 the owner's model index prefix,
    //       6 status to keep ('' for all), 7 'range' (read ranks of KEYS[8]) or 'filter' (KEYS[8] is a model
    //       index, small by nature: walk it and keep the status).
    // Returns {total, {json…}}. Work is O(page + log n) plus what expired since the last listing (at most 256
    // ids per call; the rest goes on the next one).
    private const string ListScript = """
        local now = tonumber(ARGV[1])
        for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now, 'LIMIT', 0, 256)) do
          local sep = string.find(member, '|', 1, true)
          local id = string.sub(member, sep + 1)
          for i = 1, 6 do redis.call('ZREM', KEYS[i], id) end
          redis.call('ZREM', ARGV[5] .. string.sub(member, 1, sep - 1), id)
          redis.call('ZREM', KEYS[7], member)
        end
        local items = {}
        if ARGV[7] == 'filter' then
          local total, first, last = 0, tonumber(ARGV[2]), tonumber(ARGV[3])
          for _, id in ipairs(redis.call('ZREVRANGE', KEYS[8], 0, -1)) do
            local fields = redis.call('HMGET', ARGV[4] .. id, 'status', 'data')
            if not fields[1] then
              redis.call('ZREM', KEYS[8], id)
            elseif fields[1] == ARGV[6] then
              if total >= first and total <= last then items[#items + 1] = fields[2] end
              total = total + 1
            end
          end
          return {total, items}
        end
        local total = redis.call('ZCARD', KEYS[8])
        for _, id in ipairs(redis.call('ZREVRANGE', KEYS[8], ARGV[2], ARGV[3])) do
          local data = redis.call('HGET', ARGV[4] .. id, 'data')
          if data then
            items[#items + 1] = data
          else
            -- A job written before these indexes existed, gone with its retention.
            redis.call('ZREM', KEYS[8], id)
            total = total - 1
          end
        end
        return {total, items}
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

        var result = await _redis.RunAsync(
            db => db.ScriptEvaluateAsync(CreateScript, CreateKeys(_keys, job), [.. CreateArgs(_keys, job)]),
            cancellationToken).ConfigureAwait(false);
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

    /// <summary>The first KEYS of the create and accept scripts (see <see cref="CreateFunctions"/>).</summary>
    internal static RedisKey[] CreateKeys(RedisKeys keys, DeploymentJob job, int extra = 0)
    {
        var jobKey = keys.Job(job.Id);
        var result = new RedisKey[8 + extra];
        result[0] = jobKey;
        result[1] = keys.Owner(job.Owner);
        result[2] = string.IsNullOrEmpty(job.IdempotencyKey) ? jobKey : keys.Idempotency(job.Owner, job.IdempotencyKey);
        result[3] = keys.Claim(job.Request.ModelId);
        result[4] = keys.Unfinished;
        result[5] = keys.Status(job.Status);
        result[6] = keys.OwnerStatus(job.Owner, job.Status);
        result[7] = keys.OwnerModel(job.Owner, job.Request.ModelId);
        return result;
    }

    /// <summary>The first ARGV of the create and accept scripts (see <see cref="CreateFunctions"/>).</summary>
    internal static List<RedisValue> CreateArgs(RedisKeys keys, DeploymentJob job)
    {
        if (job.Status.IsFinal())
        {
            throw new ArgumentException("A new job cannot be final.", nameof(job));
        }

        return
        [
            job.Id.ToString("D"),
            RedisJson.Serialize(StoredTransactions.Split(job, out _)),
            job.Version,
            job.Status.ToWireValue(),
            job.Request.ModelId,
            job.Owner,
            job.RequestHash,
            job.CreatedAt.ToUnixTimeMilliseconds(),
            string.IsNullOrEmpty(job.IdempotencyKey) ? "0" : "1",
            keys.JobPrefix,
        ];
    }

    public async Task<DeploymentJob?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        // The whole hash: the data plus the raw transaction fields beside it (a few small fields).
        var fields = await _redis.RunAsync(db => db.HashGetAllAsync(_keys.Job(id)), cancellationToken).ConfigureAwait(false);
        string? data = null;
        Dictionary<string, string>? raw = null;
        foreach (var field in fields)
        {
            var name = (string)field.Name!;
            if (name == "data")
            {
                data = field.Value;
            }
            else if (name.StartsWith(StoredTransactions.FieldPrefix, StringComparison.Ordinal))
            {
                (raw ??= new(StringComparer.Ordinal))[name] = field.Value!;
            }
        }

        return data is null ? null : StoredTransactions.Merge(RedisJson.Deserialize(data), raw);
    }

    public async Task<DeploymentJob?> GetSummaryAsync(Guid id, CancellationToken cancellationToken)
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
            .. _keys.OwnerStatusSets(job.Owner),
            _keys.OwnerExpiry(job.Owner),
            .. WebhookKeys(raised, jobKey),
        ];
        var stored = StoredTransactions.Split(job, out var raw);
        List<RedisValue> args =
        [
            job.Id.ToString("D"),
            (job.Version - 1).ToString(CultureInfo.InvariantCulture),
            job.Version.ToString(CultureInfo.InvariantCulture),
            RedisJson.Serialize(stored),
            job.Status.ToWireValue(),
            (long)_retention.TotalMilliseconds,
            _time.GetUtcNow().ToUnixTimeMilliseconds(),
            hasIdempotencyKey ? "1" : "0",
            job.Request.ModelId,
            raw.Count,
        ];
        foreach (var (field, value) in raw)
        {
            args.Add(field);
            args.Add(value);
        }

        args.AddRange(WebhookArgs(raised));
        var result = await _redis.RunAsync(db => db.ScriptEvaluateAsync(UpdateScript, keys, [.. args]), cancellationToken).ConfigureAwait(false);
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
        // In long arithmetic: int.MaxValue pages of 100 stay far inside a long and inside Lua's exact integers.
        var first = query.Offset;
        var last = first + query.EffectiveLimit - 1;
        var (index, mode) = (query.ModelId, query.Status) switch
        {
            (null, null) => (_keys.Owner(owner), "range"),
            (null, { } status) => (_keys.OwnerStatus(owner, status), "range"),
            ({ } model, null) => (_keys.OwnerModel(owner, model), "range"),
            ({ } model, _) => (_keys.OwnerModel(owner, model), "filter"),
        };
        RedisKey[] keys = [_keys.Owner(owner), .. _keys.OwnerStatusSets(owner), _keys.OwnerExpiry(owner), index];
        RedisValue[] args =
        [
            _time.GetUtcNow().ToUnixTimeMilliseconds(),
            first,
            last,
            _keys.JobPrefix,
            _keys.OwnerModelPrefix(owner),
            query.Status?.ToWireValue() ?? string.Empty,
            mode,
        ];
        var result = await _redis.RunRequestAsync(db => db.ScriptEvaluateAsync(ListScript, keys, args), cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var items = ((RedisResult[])parts[1]!).Select(item => RedisJson.Deserialize((string)item!)).ToList();
        return new DeploymentPage(items, Math.Max(0, (long)parts[0]));
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
