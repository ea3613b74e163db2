using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Per-caller sliding-window quotas shared by all replicas. One sorted set per caller holds the acceptance
/// times of the longest window; one script counts every window and adds the new unit only when all allow it,
/// so two replicas can never both take the last unit. The accept script runs the same function in the same
/// step as the job's creation (<see cref="RedisDeploymentAcceptor"/>).
/// </summary>
internal sealed class RedisDeploymentQuota : IDeploymentQuota
{
    // take_quota(key, now, member, windows): windows is {{span ms, limit}, …}. Drops units older than the
    // longest window, counts each window and adds the unit only when every window allows it. Returns allowed
    // (1/0), then per window: units remaining after this decision, ms until the window frees a unit.
    internal const string QuotaFunction = """
        local function take_quota(key, now, member, windows)
          local longest = 0
          for _, w in ipairs(windows) do
            if w[1] > longest then longest = w[1] end
          end
          redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
          local counts, allowed = {}, 1
          for i, w in ipairs(windows) do
            counts[i] = redis.call('ZCOUNT', key, '(' .. (now - w[1]), '+inf')
            if counts[i] >= w[2] then allowed = 0 end
          end
          if allowed == 1 then
            redis.call('ZADD', key, now, member)
            redis.call('PEXPIRE', key, longest)
          end
          local result = {allowed}
          for i, w in ipairs(windows) do
            local span, limit = w[1], w[2]
            local count = counts[i] + allowed
            local remaining = limit - count
            if remaining < 0 then remaining = 0 end
            local offset = count - limit
            if offset < 0 then offset = 0 end
            local reset = span
            local entry = redis.call('ZRANGEBYSCORE', key, '(' .. (now - span), '+inf', 'WITHSCORES', 'LIMIT', offset, 1)
            if entry[2] then reset = tonumber(entry[2]) + span - now end
            result[#result + 1] = remaining
            result[#result + 1] = reset
          end
          return result
        end
        local function read_windows(first, count)
          local windows = {}
          for i = 0, count - 1 do
            windows[#windows + 1] = {tonumber(ARGV[first + 2 * i]), tonumber(ARGV[first + 1 + 2 * i])}
          end
          return windows
        end
        """;

    // KEYS: the caller's sorted set. ARGV: now (ms), unique member, window count, then (window ms, limit) pairs.
    private const string AcquireScript = QuotaFunction + "\n" + """
        return take_quota(KEYS[1], tonumber(ARGV[1]), ARGV[2], read_windows(4, tonumber(ARGV[3])))
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
        var windows = Windows(_options.CurrentValue.Quotas);
        if (windows.Count == 0)
        {
            return Unlimited;
        }

        var args = new List<RedisValue> { _time.GetUtcNow().ToUnixTimeMilliseconds(), Guid.NewGuid().ToString("N") };
        AddWindows(args, windows);
        var result = await _redis.RunAsync(
            db => db.ScriptEvaluateAsync(AcquireScript, [_redis.Keys.Quota(caller)], [.. args]),
            cancellationToken).ConfigureAwait(false);
        return Decide(windows, (RedisResult[])result!, 0);
    }

    public async Task RefundAsync(string caller, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(caller);
        await _redis.RunAsync(db => db.SortedSetPopAsync(_redis.Keys.Quota(caller), Order.Descending), cancellationToken).ConfigureAwait(false);
    }

    internal static QuotaDecision Unlimited { get; } = new(true, int.MaxValue, int.MaxValue, TimeSpan.Zero, "none");

    internal static List<(string Name, TimeSpan Span, int Limit)> Windows(QuotaOptions quotas)
    {
        var windows = new List<(string Name, TimeSpan Span, int Limit)>(2);
        if (quotas.PerHour > 0)
        {
            windows.Add(("hour", TimeSpan.FromHours(1), quotas.PerHour));
        }

        if (quotas.PerDay > 0)
        {
            windows.Add(("day", TimeSpan.FromDays(1), quotas.PerDay));
        }

        return windows;
    }

    /// <summary>Appends the window count and the (span ms, limit) pairs <c>read_windows</c> expects.</summary>
    internal static void AddWindows(List<RedisValue> args, List<(string Name, TimeSpan Span, int Limit)> windows)
    {
        args.Add(windows.Count);
        foreach (var window in windows)
        {
            args.Add((long)window.Span.TotalMilliseconds);
            args.Add(window.Limit);
        }
    }

    /// <summary>The tightest window's decision from <c>take_quota</c>'s result starting at <paramref name="offset"/>.</summary>
    internal static QuotaDecision Decide(List<(string Name, TimeSpan Span, int Limit)> windows, RedisResult[] values, int offset)
    {
        if (windows.Count == 0)
        {
            return Unlimited;
        }

        var allowed = (long)values[offset] == 1;
        QuotaDecision? tightest = null;
        for (var i = 0; i < windows.Count; i++)
        {
            var decision = new QuotaDecision(
                allowed,
                windows[i].Limit,
                (int)(long)values[offset + 1 + (2 * i)],
                TimeSpan.FromMilliseconds(Math.Max(0, (long)values[offset + 2 + (2 * i)])),
                windows[i].Name);
            if (tightest is null || IsTighter(decision, tightest))
            {
                tightest = decision;
            }
        }

        return tightest!;
    }

    // The window that leaves fewest units wins; on a tie the one that frees later, since the caller has to wait for it.
    private static bool IsTighter(QuotaDecision candidate, QuotaDecision current) =>
        candidate.Remaining < current.Remaining
        || (candidate.Remaining == current.Remaining && candidate.ResetAfter > current.ResetAfter);
}
