using System.Globalization;
using System.Text.Json;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The webhook outbox shared by all replicas. Events are hashes (<c>doc</c> = JSON, <c>token</c> = claim counter,
/// <c>leaseUntil</c> = ms); the store's update script creates them with the status change. A claim bumps the token
/// and pushes the event's due score to the lease's end, so no other replica sees it due meanwhile; a completion
/// writes only under the token it claimed with.
/// </summary>
internal sealed class RedisWebhookOutbox : IWebhookOutbox
{
    // KEYS: due set, pending set. ARGV: now (ms), max, lease (ms), event key prefix. Returns doc, token pairs.
    private const string ClaimScript = """
        local now, leaseUntil = tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[3])
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
        local out = {}
        for _, id in ipairs(ids) do
          local key = ARGV[4] .. id
          local doc = redis.call('HGET', key, 'doc')
          if doc then
            local token = redis.call('HINCRBY', key, 'token', 1)
            redis.call('HSET', key, 'leaseUntil', leaseUntil)
            redis.call('ZADD', KEYS[1], leaseUntil, id)
            out[#out + 1] = doc
            out[#out + 1] = token
          else
            redis.call('ZREM', KEYS[1], id)
            redis.call('ZREM', KEYS[2], id)
          end
        end
        return out
        """;

    // KEYS: event, due set, pending set, job's events. ARGV: id, token, doc, due (ms; '' when settled), retention (ms).
    private const string CompleteScript = """
        if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then return 0 end
        redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'leaseUntil', 0)
        if ARGV[4] ~= '' then
          redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
        else
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('ZREM', KEYS[3], ARGV[1])
          redis.call('PEXPIRE', KEYS[1], ARGV[5])
          redis.call('PEXPIRE', KEYS[4], ARGV[5])
        end
        return 1
        """;

    // KEYS: event, due set, pending set, job's events. ARGV: id, expected token, doc, now (ms).
    // Returns 1 when scheduled, 0 when the token moved (re-read), -1 when a claim is live (in flight).
    private const string RedeliverScript = """
        local current = redis.call('HMGET', KEYS[1], 'token', 'leaseUntil')
        if current[1] ~= ARGV[2] then return 0 end
        if tonumber(current[2] or '0') > tonumber(ARGV[4]) then return -1 end
        redis.call('HINCRBY', KEYS[1], 'token', 1)
        redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'leaseUntil', 0)
        redis.call('PERSIST', KEYS[1])
        redis.call('PERSIST', KEYS[4])
        redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
        return 1
        """;

    // KEYS: job's events. ARGV: event key prefix. Returns the docs oldest first, dropping expired ids.
    private const string ListScript = """
        local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
        local out = {}
        for _, id in ipairs(ids) do
          local doc = redis.call('HGET', ARGV[1] .. id, 'doc')
          if doc then out[#out + 1] = doc else redis.call('ZREM', KEYS[1], id) end
        end
        return out
        """;

    private readonly RedisExecutor _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;

    public RedisWebhookOutbox(RedisExecutor redis, IOptions<RedisContractsOptions> options, IOptions<HokusaiContractsOptions> contracts, TimeProvider time)
    {
        _redis = redis;
        _keys = redis.Keys;
        _time = time;
        _retention = options.Value.Retention ?? contracts.Value.Jobs.Retention;
    }

    internal static string Serialize(WebhookEvent webhookEvent) => JsonSerializer.Serialize(webhookEvent, RedisJson.Options);

    internal static WebhookEvent Deserialize(string json) =>
        JsonSerializer.Deserialize<WebhookEvent>(json, RedisJson.Options) ?? throw new JsonException("A stored webhook event is empty.");

    public async Task<IReadOnlyList<WebhookLease>> ClaimDueAsync(int max, TimeSpan leaseFor, CancellationToken cancellationToken)
    {
        RedisValue[] args = [_time.GetUtcNow().ToUnixTimeMilliseconds(), max, (long)leaseFor.TotalMilliseconds, _keys.WebhookEventPrefix];
        var result = await _redis.RunAsync(db => db.ScriptEvaluateAsync(ClaimScript, [_keys.WebhookDue, _keys.WebhookPending], args), cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var leases = new List<WebhookLease>(parts.Length / 2);
        for (var i = 0; i + 1 < parts.Length; i += 2)
        {
            leases.Add(new WebhookLease(Deserialize((string)parts[i]!), (long)parts[i + 1]));
        }

        return leases;
    }

    public async Task<bool> CompleteAsync(WebhookLease lease, WebhookEvent updated, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(updated);
        var settled = updated.State != WebhookDeliveryState.Pending;
        RedisValue[] args =
        [
            updated.Id.ToString("D"),
            lease.Token.ToString(CultureInfo.InvariantCulture),
            Serialize(updated),
            settled ? "" : (updated.NextAttemptAt ?? _time.GetUtcNow()).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            (long)_retention.TotalMilliseconds,
        ];
        var result = await _redis.RunAsync(db => db.ScriptEvaluateAsync(CompleteScript, EventKeys(updated), args), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async Task<IReadOnlyList<WebhookEvent>> ListAsync(Guid jobId, CancellationToken cancellationToken)
    {
        var result = await _redis.RunRequestAsync(
            db => db.ScriptEvaluateAsync(ListScript, [_keys.WebhookJobEvents(jobId)], [_keys.WebhookEventPrefix]),
            cancellationToken).ConfigureAwait(false);
        return ((RedisResult[])result!).Select(item => Deserialize((string)item!)).ToList();
    }

    public async Task<(RedeliverOutcome Outcome, WebhookEvent? Event)> RedeliverAsync(Guid jobId, Guid eventId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var fields = await _redis.RunRequestAsync(
                db => db.HashGetAsync(_keys.WebhookEvent(eventId), ["doc", "token"]), cancellationToken).ConfigureAwait(false);
            if (fields[0].IsNull)
            {
                return (RedeliverOutcome.NotFound, null);
            }

            var current = Deserialize(fields[0]!);
            if (current.JobId != jobId)
            {
                return (RedeliverOutcome.NotFound, null);
            }

            var now = _time.GetUtcNow();
            var scheduled = current with { State = WebhookDeliveryState.Pending, NextAttemptAt = now, WindowStartedAt = now };
            RedisValue[] args = [eventId.ToString("D"), fields[1].IsNull ? "0" : fields[1], Serialize(scheduled), now.ToUnixTimeMilliseconds()];
            var result = (long)await _redis.RunAsync(db => db.ScriptEvaluateAsync(RedeliverScript, EventKeys(current), args), cancellationToken).ConfigureAwait(false);
            switch (result)
            {
                case 1:
                    return (RedeliverOutcome.Scheduled, scheduled);
                case -1:
                    return (RedeliverOutcome.InFlight, current);
            }
        }

        return (RedeliverOutcome.InFlight, null);
    }

    public async Task<WebhookOutboxStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        var (count, oldest) = await _redis.RunAsync(async db =>
        {
            var countTask = db.SortedSetLengthAsync(_keys.WebhookPending);
            var oldestTask = db.SortedSetRangeByRankWithScoresAsync(_keys.WebhookPending, 0, 0);
            return (await countTask.ConfigureAwait(false), await oldestTask.ConfigureAwait(false));
        }, cancellationToken).ConfigureAwait(false);
        return new WebhookOutboxStats(count, oldest.Length == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)oldest[0].Score));
    }

    private RedisKey[] EventKeys(WebhookEvent webhookEvent) =>
        [_keys.WebhookEvent(webhookEvent.Id), _keys.WebhookDue, _keys.WebhookPending, _keys.WebhookJobEvents(webhookEvent.JobId)];
}
