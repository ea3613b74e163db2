using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Numerics;

namespace Hokusai.Contracts.Diagnostics;

/// <summary>
/// The library's instruments and activity source. The job engine, chain engine, quotas and health probes
/// report through this singleton; exporters are the host's choice.
/// </summary>
/// <remarks>
/// A DI singleton whose meter comes from the container's <see cref="IMeterFactory"/>: each container (a host, a
/// test) has its own instruments and gauge state, which the factory disposes with the container, and a listener
/// can tell the containers apart by <see cref="Instrument.Meter"/>'s scope.
/// </remarks>
internal sealed class ContractsTelemetry
{
    private const string P = HokusaiContractsDiagnostics.InstrumentPrefix;

    /// <summary>The library's spans.</summary>
    /// <remarks>
    /// Static, unlike the meter: an <see cref="System.Diagnostics.ActivitySource"/> holds no state of its own (listeners
    /// subscribe to it by name, process-wide, and spans belong to the trace, not to a container), so one immutable
    /// instance per process is what the runtime's and OpenTelemetry's own instrumentation do.
    /// </remarks>
    internal static readonly ActivitySource ActivitySource = new(HokusaiContractsDiagnostics.ActivitySourceName, Version);

    // Chain steps take seconds to minutes; RPC calls milliseconds to seconds.
    private static readonly double[] StepBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
    private static readonly double[] RpcBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

    private readonly Counter<long> _accepted;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _cancelled;
    private readonly Histogram<double> _stepDuration;
    private readonly Histogram<double> _endToEndDuration;
    private readonly Histogram<double> _rpcDuration;
    private readonly Counter<long> _quotaRejected;

    private long _inFlight;
    private long _queueDepth = -1;
    private double _deployerBalanceEth = double.NaN;

    /// <summary>Creates the instruments on the <see cref="HokusaiContractsDiagnostics.MeterName"/> meter of <paramref name="meterFactory"/>.</summary>
    public ContractsTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(new MeterOptions(HokusaiContractsDiagnostics.MeterName) { Version = Version });

        _accepted = meter.CreateCounter<long>(P + "deployments.accepted", "{deployment}", "Deployments accepted and queued.");
        _completed = meter.CreateCounter<long>(P + "deployments.completed", "{deployment}", "Deployments that completed on chain.");
        _failed = meter.CreateCounter<long>(P + "deployments.failed", "{deployment}", "Deployments that failed, by error.code.");
        _cancelled = meter.CreateCounter<long>(P + "deployments.cancelled", "{deployment}", "Deployments cancelled by their owner.");
        _stepDuration = meter.CreateHistogram(
            P + "deployment.step.duration", "s", "Duration of one deployment step, by step and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _endToEndDuration = meter.CreateHistogram(
            P + "deployment.duration", "s", "Time from acceptance to a final status, by status.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _rpcDuration = meter.CreateHistogram(
            P + "rpc.duration", "s", "JSON-RPC call duration, by rpc.method and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RpcBuckets });
        _quotaRejected = meter.CreateCounter<long>(P + "quota.rejections", "{request}", "Deployments refused by a per-caller quota, by window.");

        // Observed rather than pushed, so the series exists (at 0) before the first job.
        meter.CreateObservableUpDownCounter(P + "jobs.in_flight", () => Interlocked.Read(ref _inFlight), "{job}", "Jobs a worker of this process is processing.");
        meter.CreateObservableGauge(P + "queue.depth", ObserveQueueDepth, "{job}", "Queued or delivered, unacknowledged jobs (last reported).");
        meter.CreateObservableGauge(P + "deployer.balance", ObserveDeployerBalance, "{ether}", "The deployer's balance in ether (last read).");
    }

    private static string Version =>
        typeof(ContractsTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>A deployment was accepted and queued.</summary>
    public void DeploymentAccepted() => _accepted.Add(1);

    /// <summary>A deployment completed; <paramref name="endToEnd"/> is acceptance to completion.</summary>
    public void DeploymentCompleted(TimeSpan endToEnd)
    {
        _completed.Add(1);
        _endToEndDuration.Record(endToEnd.TotalSeconds, new KeyValuePair<string, object?>("status", "completed"));
    }

    /// <summary>A deployment failed with <paramref name="errorCode"/> (one of <see cref="ErrorCodes"/>).</summary>
    public void DeploymentFailed(string errorCode, TimeSpan endToEnd)
    {
        _failed.Add(1, new KeyValuePair<string, object?>("error.code", errorCode));
        _endToEndDuration.Record(endToEnd.TotalSeconds, new KeyValuePair<string, object?>("status", "failed"));
    }

    /// <summary>A pending deployment was cancelled.</summary>
    public void DeploymentCancelled() => _cancelled.Add(1);

    /// <summary>Records how long <paramref name="step"/> took and whether it succeeded.</summary>
    public void StepFinished(DeploymentStep step, TimeSpan duration, bool succeeded) =>
        _stepDuration.Record(
            duration.TotalSeconds,
            new KeyValuePair<string, object?>("step", StepName(step)),
            new KeyValuePair<string, object?>("outcome", succeeded ? "success" : "failure"));

    /// <summary>A worker started on a job; pair with <see cref="JobFinished"/>.</summary>
    public void JobStarted() => Interlocked.Increment(ref _inFlight);

    /// <summary>A worker stopped working on a job (final, parked or abandoned).</summary>
    public void JobFinished() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Records one JSON-RPC call; <paramref name="outcome"/> is e.g. <c>success</c>, <c>error</c>, <c>timeout</c>.</summary>
    public void RpcCall(string method, string outcome, TimeSpan duration) =>
        _rpcDuration.Record(
            duration.TotalSeconds,
            new KeyValuePair<string, object?>("rpc.method", method),
            new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A deployment was refused by the quota's <paramref name="window"/> (<c>hour</c> or <c>day</c>).</summary>
    public void QuotaRejection(string window) =>
        _quotaRejected.Add(1, new KeyValuePair<string, object?>("window", window));

    /// <summary>Reports the queue depth observed by its owner (the gauge shows the last value).</summary>
    public void ReportQueueDepth(long depth) => Interlocked.Exchange(ref _queueDepth, Math.Max(0, depth));

    /// <summary>Reports the deployer's balance read from the chain.</summary>
    public void ReportDeployerBalance(BigInteger wei) =>
        Volatile.Write(ref _deployerBalanceEth, WeiToEther(wei));

    /// <summary>
    /// Starts a span of the library. With <paramref name="traceParent"/> (a stored W3C <c>traceparent</c>)
    /// the span joins the trace of the request that accepted the job.
    /// </summary>
    internal static Activity? StartActivity(string name, ActivityKind kind = ActivityKind.Internal, string? traceParent = null)
    {
        if (traceParent is not null && ActivityContext.TryParse(traceParent, null, out var parent))
        {
            return ActivitySource.StartActivity(name, kind, parent);
        }

        return ActivitySource.StartActivity(name, kind);
    }

    /// <summary>Converts wei to ether as a double (precision is ample for a gauge).</summary>
    internal static double WeiToEther(BigInteger wei) => (double)wei / 1e18;

    internal static string StepName(DeploymentStep step) => step.ToWireValue();

    private IEnumerable<Measurement<long>> ObserveQueueDepth()
    {
        var depth = Interlocked.Read(ref _queueDepth);
        return depth < 0 ? [] : [new Measurement<long>(depth)];
    }

    private IEnumerable<Measurement<double>> ObserveDeployerBalance()
    {
        var balance = Volatile.Read(ref _deployerBalanceEth);
        return double.IsNaN(balance) ? [] : [new Measurement<double>(balance)];
    }
}
