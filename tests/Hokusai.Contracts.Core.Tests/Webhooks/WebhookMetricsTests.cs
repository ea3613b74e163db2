using System.Diagnostics.Metrics;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.Webhooks;

public sealed class WebhookMetricsTests
{
    [Fact]
    public void Instruments_DeliveriesAndOutbox_ReportOutcomeDepthAndOldestAge()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var counts = new Dictionary<string, long>();
        var gauges = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name.StartsWith("hokusai.contracts.webhook.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "hokusai.contracts.webhook.deliveries")
            {
                var outcome = (string)tags.ToArray().Single(t => t.Key == "outcome").Value!;
                counts[outcome] = counts.GetValueOrDefault(outcome) + value;
            }
            else
            {
                gauges[instrument.Name] = value;
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => gauges[instrument.Name] = value);
        listener.Start();

        using var metrics = new WebhookMetrics(time, factory);
        metrics.Delivery("failed");
        metrics.Delivery("failed");
        metrics.Delivery("delivered");
        metrics.Report(new WebhookOutboxStats(3, time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(42));
        listener.RecordObservableInstruments();

        Assert.Equal(2, counts["failed"]);
        Assert.Equal(1, counts["delivered"]);
        Assert.Equal(3, gauges["hokusai.contracts.webhook.outbox.depth"]);
        Assert.Equal(42, gauges["hokusai.contracts.webhook.oldest_pending_age"]);
    }
}
