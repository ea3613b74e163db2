using System.Diagnostics.Metrics;

namespace Hokusai.Contracts.Webhooks;

/// <summary>
/// Webhook instruments on the library's meter, created through <see cref="IMeterFactory"/>:
/// deliveries by outcome, the outbox depth and the age of the oldest pending event (as last read by this
/// replica's dispatcher).
/// </summary>
internal sealed class WebhookMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _deliveries;
    private readonly TimeProvider _time;
    private WebhookOutboxStats? _stats;

    public WebhookMetrics(TimeProvider time, IMeterFactory? meterFactory = null)
    {
        _time = time;
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(HokusaiContractsDiagnostics.MeterName) ?? new Meter(HokusaiContractsDiagnostics.MeterName);
        const string P = HokusaiContractsDiagnostics.InstrumentPrefix;
        _deliveries = _meter.CreateCounter<long>(P + "webhook.deliveries", "{delivery}", "Webhook delivery attempts by outcome (delivered, failed, dead, refused).");
        _meter.CreateObservableGauge(P + "webhook.outbox.depth", () => Volatile.Read(ref _stats)?.Pending ?? 0, "{event}", "Webhook events waiting for delivery (last read).");
        _meter.CreateObservableGauge(P + "webhook.oldest_pending_age", ObserveOldestAge, "s", "Age of the oldest pending webhook event (last read); 0 when none.");
    }

    public WebhookOutboxStats? LastStats => Volatile.Read(ref _stats);

    public void Delivery(string outcome) => _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Report(WebhookOutboxStats stats) => Volatile.Write(ref _stats, stats);

    private double ObserveOldestAge() =>
        Volatile.Read(ref _stats)?.OldestPendingCreatedAt is { } oldest
            ? Math.Max(0, (_time.GetUtcNow() - oldest).TotalSeconds)
            : 0;

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
