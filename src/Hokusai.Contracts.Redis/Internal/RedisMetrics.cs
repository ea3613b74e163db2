using System.Diagnostics.Metrics;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The Redis backend's instrument, <c>hokusai.contracts.redis.available</c>, on the library's meter of the container's
/// <see cref="IMeterFactory"/>: it belongs to this package, so a host without Redis exports no such series.
/// </summary>
internal sealed class RedisMetrics
{
    // Unknown until the first call or probe answers; the gauge reports nothing until then.
    private long _available = -1;

    public RedisMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        // The same name and version as the core instruments, so the factory hands out the one shared meter.
        var version = typeof(HokusaiContractsDiagnostics).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var meter = meterFactory.Create(new MeterOptions(HokusaiContractsDiagnostics.MeterName) { Version = version });
        meter.CreateObservableGauge(
            HokusaiContractsDiagnostics.InstrumentPrefix + "redis.available",
            Observe,
            null,
            "1 when the last Redis operation or probe succeeded, 0 otherwise.");
    }

    /// <summary>Reports whether Redis answered the last operation or probe.</summary>
    public void ReportAvailable(bool available) => Interlocked.Exchange(ref _available, available ? 1 : 0);

    private IEnumerable<Measurement<int>> Observe()
    {
        var available = Interlocked.Read(ref _available);
        return available < 0 ? [] : [new Measurement<int>((int)available)];
    }
}
