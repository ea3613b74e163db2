using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.InMemory;

/// <summary>Sliding-window quotas per caller, in process.</summary>
internal sealed class InMemoryDeploymentQuota(IOptions<HokusaiContractsOptions> options, TimeProvider timeProvider) : IDeploymentQuota
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<DateTimeOffset>> _accepted = new(StringComparer.Ordinal);

    public Task<QuotaDecision> TryAcquireAsync(string caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var quotas = options.Value.Quotas;
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            if (!_accepted.TryGetValue(caller, out var stamps))
            {
                stamps = [];
                _accepted[caller] = stamps;
            }

            stamps.RemoveAll(t => t <= now - Day);
            var hour = Evaluate(stamps, now, Hour, quotas.PerHour, "hour");
            var day = Evaluate(stamps, now, Day, quotas.PerDay, "day");
            var blocking = new[] { hour, day }.Where(w => w.Used >= w.Limit).OrderByDescending(w => w.ResetAfter).FirstOrDefault();
            if (blocking is not null)
            {
                return Task.FromResult(new QuotaDecision(false, blocking.Limit, 0, blocking.ResetAfter, blocking.Name));
            }

            stamps.Add(now);
            // After counting, the tightest window is the one with the fewest units left.
            var tightest = new[] { hour with { Used = hour.Used + 1 }, day with { Used = day.Used + 1 } }
                .OrderBy(w => w.Limit - w.Used).First();
            var reset = tightest.Used == 1 ? tightest.Length : tightest.ResetAfter;
            return Task.FromResult(new QuotaDecision(true, tightest.Limit, tightest.Limit - tightest.Used, reset, tightest.Name));
        }
    }

    public Task RefundAsync(string caller, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_accepted.TryGetValue(caller, out var stamps) && stamps.Count > 0)
            {
                stamps.RemoveAt(stamps.Count - 1);
            }
        }

        return Task.CompletedTask;
    }

    private static Window Evaluate(List<DateTimeOffset> stamps, DateTimeOffset now, TimeSpan length, int limit, string name)
    {
        var inWindow = stamps.Where(t => t > now - length).ToList();
        // A unit frees when the oldest stamp in the window leaves it.
        var resetAfter = inWindow.Count == 0 ? length : inWindow.Min() + length - now;
        return new Window(name, limit, inWindow.Count, resetAfter, length);
    }

    private sealed record Window(string Name, int Limit, int Used, TimeSpan ResetAfter, TimeSpan Length);
}
