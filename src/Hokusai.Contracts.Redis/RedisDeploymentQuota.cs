using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Per-caller sliding-window quotas shared by all replicas. One sorted set per caller holds the acceptance
/// times of the longest window; one script counts every window and adds the new unit only when all allow it,
/// so two replicas can never both take the last unit.
/// </summary>
internal sealed class RedisDeploymentQuota : IDeploymentQuota
{
    // KEYS: the caller's sorted set. ARGV: now (ms), unique member, then (window ms, limit) pairs.
    // Returns allowed, then per window: remaining after this decision, ms until the window frees a unit.
    private const string AcquireScript = """
        local now = tonumber(ARGV[1])
        local windows = (#ARGV - 2) / 2
        local longest = 0
        for i = 0, windows - 1 do
          local span = tonumber(ARGV[3 + 2 * i])
          if span > longest then longest = span end
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
        local counts, allowed = {}, 1
        for i = 0, windows - 1 do
          local span, limit = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
          counts[i] = redis.call('ZCOUNT', KEYS[1], '(' .. (now - span), '+inf')
          if counts[i] >= limit then allowed = 0 end
        end
        if allowed == 1 then
          redis.call('ZADD', KEYS[1], now, ARGV[2])
          redis.call('PEXPIRE', KEYS[1], longest)
        end
        local result = {allowed}
        for i = 0, windows - 1 do
          local span, limit = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
          local count = counts[i] + allowed
          local remaining = limit - count
          if remaining < 0 then remaining = 0 end
          local offset = count - limit
          if offset < 0 then offset = 0 end
          local reset = span
          local entry = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - span), '+inf', 'WITHSCORES', 'LIMIT', offset, 1)
          if entry[2] then reset = tonumber(entry[2]) + span - now end
          result[#result + 1] = remaining
          result[#result + 1] = reset
        end
        return result
        """;

    private readonly RedisExecutor _redis;
    private readonly IOptionsMonitor<HokusaiContractsOptions> _options;
    private readonly TimeProvider _time;

    public RedisDeploymentQuota(RedisExecutor redis, IOptionsMonitor<HokusaiContractsOptions> options, TimeProvider time)
    {
        _redis = redis;
        _options = options;
        _time = time;
    }

    public async Task<QuotaDecision> TryAcquireAsync(string caller, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(caller);
        var quotas = _options.CurrentValue.Quotas;
        var windows = new List<(string Name, TimeSpan Span, int Limit)>(2);
        if (quotas.PerHour > 0)
        {
            windows.Add(("hour", TimeSpan.FromHours(1), quotas.PerHour));
        }

        if (quotas.PerDay > 0)
        {
            windows.Add(("day", TimeSpan.FromDays(1), quotas.PerDay));
        }

        if (windows.Count == 0)
        {
            return new QuotaDecision(true, int.MaxValue, int.MaxValue, TimeSpan.Zero, "none");
        }

        var args = new List<RedisValue>(2 + (windows.Count * 2))
        {
            _time.GetUtcNow().ToUnixTimeMilliseconds(),
            Guid.NewGuid().ToString("N"),
        };
        foreach (var window in windows)
        {
            args.Add((long)window.Span.TotalMilliseconds);
            args.Add(window.Limit);
        }

        var result = await _redis.RunAsync(
            db => db.ScriptEvaluateAsync(AcquireScript, [_redis.Keys.Quota(caller)], [.. args]),
            cancellationToken).ConfigureAwait(false);
        var values = (RedisResult[])result!;
        var allowed = (long)values[0] == 1;

        QuotaDecision? tightest = null;
        for (var i = 0; i < windows.Count; i++)
        {
            var decision = new QuotaDecision(
                allowed,
                windows[i].Limit,
                (int)(long)values[1 + (2 * i)],
                TimeSpan.FromMilliseconds(Math.Max(0, (long)values[2 + (2 * i)])),
                windows[i].Name);
            if (tightest is null || IsTighter(decision, tightest))
            {
                tightest = decision;
            }
        }

        return tightest!;
    }

    public async Task RefundAsync(string caller, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(caller);
        await _redis.RunAsync(db => db.SortedSetPopAsync(_redis.Keys.Quota(caller), Order.Descending), cancellationToken).ConfigureAwait(false);
    }

    // The window that leaves fewest units wins; on a tie the one that frees later, since the caller has to wait for it.
    private static bool IsTighter(QuotaDecision candidate, QuotaDecision current) =>
        candidate.Remaining < current.Remaining
        || (candidate.Remaining == current.Remaining && candidate.ResetAfter > current.ResetAfter);
}
