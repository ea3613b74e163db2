using Hokusai.Contracts.Webhooks;

namespace Hokusai.Contracts.InMemory;

/// <summary>The outbox half of the in-memory store, under the store's lock.</summary>
internal sealed partial class InMemoryDeploymentStore : IWebhookOutbox
{
    private readonly Dictionary<Guid, OutboxEntry> _events = [];
    private readonly Dictionary<Guid, List<Guid>> _eventsByJob = [];

    private sealed class OutboxEntry(WebhookEvent webhookEvent)
    {
        public WebhookEvent Event { get; set; } = webhookEvent;
        public long Token { get; set; }
        public DateTimeOffset LeaseUntil { get; set; } = DateTimeOffset.MinValue;
    }

    public Task<IReadOnlyList<WebhookLease>> ClaimDueAsync(int max, TimeSpan leaseFor, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = timeProvider.GetUtcNow();
            IReadOnlyList<WebhookLease> claimed = _events.Values
                .Where(e => e.Event.State == WebhookDeliveryState.Pending && e.Event.NextAttemptAt <= now && e.LeaseUntil <= now)
                .OrderBy(e => e.Event.NextAttemptAt)
                .Take(max)
                .Select(e =>
                {
                    e.Token++;
                    e.LeaseUntil = now + leaseFor;
                    return new WebhookLease(e.Event, e.Token);
                })
                .ToList();
            return Task.FromResult(claimed);
        }
    }

    public Task<bool> CompleteAsync(WebhookLease lease, WebhookEvent updated, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(updated);
        lock (_gate)
        {
            if (!_events.TryGetValue(lease.Event.Id, out var entry) || entry.Token != lease.Token)
            {
                return Task.FromResult(false);
            }

            entry.Event = updated;
            entry.LeaseUntil = DateTimeOffset.MinValue;
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<WebhookEvent>> ListAsync(Guid jobId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<WebhookEvent> list = _eventsByJob.TryGetValue(jobId, out var ids)
                ? ids.Select(id => _events[id].Event).ToList()
                : [];
            return Task.FromResult(list);
        }
    }

    public Task<(RedeliverOutcome Outcome, WebhookEvent? Event)> RedeliverAsync(Guid jobId, Guid eventId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_events.TryGetValue(eventId, out var entry) || entry.Event.JobId != jobId)
            {
                return Task.FromResult<(RedeliverOutcome, WebhookEvent?)>((RedeliverOutcome.NotFound, null));
            }

            var now = timeProvider.GetUtcNow();
            if (entry.LeaseUntil > now)
            {
                return Task.FromResult<(RedeliverOutcome, WebhookEvent?)>((RedeliverOutcome.InFlight, entry.Event));
            }

            entry.Token++;
            entry.Event = entry.Event with { State = WebhookDeliveryState.Pending, NextAttemptAt = now, WindowStartedAt = now };
            return Task.FromResult<(RedeliverOutcome, WebhookEvent?)>((RedeliverOutcome.Scheduled, entry.Event));
        }
    }

    public Task<WebhookOutboxStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var pending = _events.Values.Where(e => e.Event.State == WebhookDeliveryState.Pending).ToList();
            return Task.FromResult(new WebhookOutboxStats(
                pending.Count,
                pending.Count == 0 ? null : pending.Min(e => e.Event.WindowStartedAt)));
        }
    }

    // Called under the lock.
    private void AddEvent(WebhookEvent raised)
    {
        _events[raised.Id] = new OutboxEntry(raised);
        if (!_eventsByJob.TryGetValue(raised.JobId, out var ids))
        {
            _eventsByJob[raised.JobId] = ids = [];
        }

        ids.Add(raised.Id);
    }

    // Called under the lock when a job expires: its settled events go with it; pending ones stay until settled.
    private void RemoveFinishedEvents(Guid jobId)
    {
        if (!_eventsByJob.TryGetValue(jobId, out var ids))
        {
            return;
        }

        ids.RemoveAll(id =>
        {
            if (_events[id].Event.State == WebhookDeliveryState.Pending)
            {
                return false;
            }

            _events.Remove(id);
            return true;
        });
        if (ids.Count == 0)
        {
            _eventsByJob.Remove(jobId);
        }
    }
}
