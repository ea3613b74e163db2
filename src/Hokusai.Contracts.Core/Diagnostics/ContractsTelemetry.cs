using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Numerics;

namespace Hokusai.Contracts.Diagnostics;

/// <summary>
/// The library's meter, activity source and instruments. The job engine, chain engine, quotas and
/// health checks report through these methods; exporters are the host's choice.
/// </summary>
/// <remarks>
/// Static on purpose: every part of the engine reports to the same process-wide instruments without
/// threading a dependency through each constructor, and a host subscribes by name.
/// </remarks>
internal static class ContractsTelemetry
{
    private const string P = HokusaiContractsDiagnostics.InstrumentPrefix;

    // Chain steps take seconds to minutes; RPC calls milliseconds to seconds.
    private static readonly double[] StepBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
    private static readonly double[] RpcBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

    private static long s_inFlight;
    private static long s_queueDepth = -1;
    private static long s_redisAvailable = -1;
    private static double s_deployerBalanceEth = double.NaN;

    internal static readonly ActivitySource ActivitySource = new(HokusaiContractsDiagnostics.ActivitySourceName, Version);

    internal static readonly Meter Meter = new(HokusaiContractsDiagnostics.MeterName, Version);

    private static readonly Counter<long> Accepted = Meter.CreateCounter<long>(
        P + "deployments.accepted", "{deployment}", "Deployments accepted and queued.");

    private static readonly Counter<long> Completed = Meter.CreateCounter<long>(
        P + "deployments.completed", "{deployment}", "Deployments that completed on chain.");

    private static readonly Counter<long> Failed = Meter.CreateCounter<long>(
        P + "deployments.failed", "{deployment}", "Deployments that failed, by error.code.");

    private static readonly Counter<long> Cancelled = Meter.CreateCounter<long>(
        P + "deployments.cancelled", "{deployment}", "Deployments cancelled by their owner.");

    private static readonly Histogram<double> StepDuration = Meter.CreateHistogram(
        P + "deployment.step.duration", "s", "Duration of one deployment step, by step and outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });

    private static readonly Histogram<double> EndToEndDuration = Meter.CreateHistogram(
        P + "deployment.duration", "s", "Time from acceptance to a final status, by status.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });

    private static readonly Histogram<double> RpcDuration = Meter.CreateHistogram(
        P + "rpc.duration", "s", "JSON-RPC call duration, by rpc.method and outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RpcBuckets });

    private static readonly Counter<long> QuotaRejected = Meter.CreateCounter<long>(
        P + "quota.rejections", "{request}", "Deployments refused by a per-caller quota, by window.");

    static ContractsTelemetry()
    {
        // Observed rather than pushed, so the series exists (at 0) before the first job.
        Meter.CreateObservableUpDownCounter(P + "jobs.in_flight", () => Interlocked.Read(ref s_inFlight), "{job}", "Jobs a worker of this process is processing.");
        Meter.CreateObservableGauge(P + "queue.depth", ObserveQueueDepth, "{job}", "Queued or delivered, unacknowledged jobs (last reported).");
        Meter.CreateObservableGauge(P + "redis.available", ObserveRedisAvailable, null, "1 when the last Redis operation or probe succeeded, 0 otherwise.");
        Meter.CreateObservableGauge(P + "deployer.balance", ObserveDeployerBalance, "{ether}", "The deployer's balance in ether (last read).");
    }

    private static string Version =>
        typeof(ContractsTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// Creates the meter and its instruments now (the static constructor runs on first use), so the
    /// observed series are exported from start-up rather than from the first reported event.
    /// </summary>
    internal static void Initialize()
    {
    }

    /// <summary>A deployment was accepted and queued.</summary>
    internal static void DeploymentAccepted() => Accepted.Add(1);

    /// <summary>A deployment completed; <paramref name="endToEnd"/> is acceptance to completion.</summary>
    internal static void DeploymentCompleted(TimeSpan endToEnd)
    {
        Completed.Add(1);
        EndToEndDuration.Record(endToEnd.TotalSeconds, new KeyValuePair<string, object?>("status", "completed"));
    }

    /// <summary>A deployment failed with <paramref name="errorCode"/> (one of <see cref="ErrorCodes"/>).</summary>
    internal static void DeploymentFailed(string errorCode, TimeSpan endToEnd)
    {
        Failed.Add(1, new KeyValuePair<string, object?>("error.code", errorCode));
        EndToEndDuration.Record(endToEnd.TotalSeconds, new KeyValuePair<string, object?>("status", "failed"));
    }

    /// <summary>A pending deployment was cancelled.</summary>
    internal static void DeploymentCancelled() => Cancelled.Add(1);

    /// <summary>Records how long <paramref name="step"/> took and whether it succeeded.</summary>
    internal static void StepFinished(DeploymentStep step, TimeSpan duration, bool succeeded) =>
        StepDuration.Record(
            duration.TotalSeconds,
            new KeyValuePair<string, object?>("step", StepName(step)),
            new KeyValuePair<string, object?>("outcome", succeeded ? "success" : "failure"));

    /// <summary>A worker started on a job; pair with <see cref="JobFinished"/>.</summary>
    internal static void JobStarted() => Interlocked.Increment(ref s_inFlight);

    /// <summary>A worker stopped working on a job (final, parked or abandoned).</summary>
    internal static void JobFinished() => Interlocked.Decrement(ref s_inFlight);

    /// <summary>Records one JSON-RPC call; <paramref name="outcome"/> is e.g. <c>success</c>, <c>error</c>, <c>timeout</c>.</summary>
    internal static void RpcCall(string method, string outcome, TimeSpan duration) =>
        RpcDuration.Record(
            duration.TotalSeconds,
            new KeyValuePair<string, object?>("rpc.method", method),
            new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A deployment was refused by the quota's <paramref name="window"/> (<c>hour</c> or <c>day</c>).</summary>
    internal static void QuotaRejection(string window) =>
        QuotaRejected.Add(1, new KeyValuePair<string, object?>("window", window));

    /// <summary>Reports the queue depth observed by its owner (the gauge shows the last value).</summary>
    internal static void ReportQueueDepth(long depth) => Interlocked.Exchange(ref s_queueDepth, Math.Max(0, depth));

    /// <summary>Reports whether Redis answered the last operation or probe.</summary>
    internal static void ReportRedisAvailable(bool available) => Interlocked.Exchange(ref s_redisAvailable, available ? 1 : 0);

    /// <summary>Reports the deployer's balance read from the chain.</summary>
    internal static void ReportDeployerBalance(BigInteger wei) =>
        Volatile.Write(ref s_deployerBalanceEth, WeiToEther(wei));

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

    private static IEnumerable<Measurement<long>> ObserveQueueDepth()
    {
        var depth = Interlocked.Read(ref s_queueDepth);
        return depth < 0 ? [] : [new Measurement<long>(depth)];
    }

    private static IEnumerable<Measurement<int>> ObserveRedisAvailable()
    {
        var available = Interlocked.Read(ref s_redisAvailable);
        return available < 0 ? [] : [new Measurement<int>((int)available)];
    }

    private static IEnumerable<Measurement<double>> ObserveDeployerBalance()
    {
        var balance = Volatile.Read(ref s_deployerBalanceEth);
        return double.IsNaN(balance) ? [] : [new Measurement<double>(balance)];
    }
}
