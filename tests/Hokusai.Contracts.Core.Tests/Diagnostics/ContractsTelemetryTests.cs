using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Numerics;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Hokusai.Contracts.Tests.Diagnostics;

/// <summary>
/// Each test has its own container, so its own meter and instruments: measurements of other tests (the engine
/// tests report too) never reach these collectors.
/// </summary>
public sealed class ContractsTelemetryTests : IDisposable
{
    private const string P = HokusaiContractsDiagnostics.InstrumentPrefix;
    private readonly ServiceProvider _provider;

    public ContractsTelemetryTests()
    {
        var services = new ServiceCollection();
        services.AddContractsTelemetry();
        _provider = services.BuildServiceProvider();
    }

    private IMeterFactory Factory => _provider.GetRequiredService<IMeterFactory>();

    private ContractsTelemetry Telemetry => _provider.GetRequiredService<ContractsTelemetry>();

    private MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(Factory, HokusaiContractsDiagnostics.MeterName, P + instrument);

    public void Dispose() => _provider.Dispose();

    [Fact]
    public void DeploymentFailed_RecordsCounterWithErrorCodeAndDuration()
    {
        using var failed = Collect<long>("deployments.failed");
        using var duration = Collect<double>("deployment.duration");

        Telemetry.DeploymentFailed(ErrorCodes.InsufficientFunds, TimeSpan.FromSeconds(3));

        var count = Assert.Single(failed.GetMeasurementSnapshot());
        Assert.Equal(1, count.Value);
        Assert.Equal(ErrorCodes.InsufficientFunds, count.Tags["error.code"]);
        var seconds = Assert.Single(duration.GetMeasurementSnapshot());
        Assert.Equal(3, seconds.Value);
        Assert.Equal("failed", seconds.Tags["status"]);
    }

    [Fact]
    public void RpcCall_RecordsDurationByMethodAndOutcome()
    {
        using var rpc = Collect<double>("rpc.duration");

        Telemetry.RpcCall("eth_getTransactionReceipt", "timeout", TimeSpan.FromMilliseconds(1500));

        var m = Assert.Single(rpc.GetMeasurementSnapshot());
        Assert.Equal(1.5, m.Value);
        Assert.Equal("eth_getTransactionReceipt", m.Tags["rpc.method"]);
        Assert.Equal("timeout", m.Tags["outcome"]);
    }

    [Fact]
    public void StepFinished_TagsStepAndOutcome()
    {
        using var steps = Collect<double>("deployment.step.duration");

        Telemetry.StepFinished(DeploymentStep.RegisteringModel, TimeSpan.FromSeconds(2), succeeded: false);

        var m = Assert.Single(steps.GetMeasurementSnapshot());
        Assert.Equal(2, m.Value);
        Assert.Equal("registering_model", m.Tags["step"]);
        Assert.Equal("failure", m.Tags["outcome"]);
    }

    [Fact]
    public void JobStartedAndFinished_MoveInFlightUpAndDown()
    {
        using var inFlight = Collect<long>("jobs.in_flight");
        var telemetry = Telemetry;
        long Observe()
        {
            inFlight.RecordObservableInstruments();
            return inFlight.LastMeasurement!.Value;
        }

        var before = Observe();
        telemetry.JobStarted();
        telemetry.JobStarted();
        var during = Observe();
        telemetry.JobFinished();
        telemetry.JobFinished();
        var after = Observe();

        Assert.Equal(0, before);
        Assert.Equal(2, during);
        Assert.Equal(0, after);
    }

    [Fact]
    public void ReportedGauges_AreObservedWithLastValues()
    {
        using var depth = Collect<long>("queue.depth");
        using var balance = Collect<double>("deployer.balance");

        Telemetry.ReportQueueDepth(7);
        Telemetry.ReportQueueDepth(12);
        Telemetry.ReportDeployerBalance(BigInteger.Parse("2500000000000000000", System.Globalization.CultureInfo.InvariantCulture));
        depth.RecordObservableInstruments();
        balance.RecordObservableInstruments();

        Assert.Equal(12, depth.LastMeasurement?.Value);
        Assert.Equal(2.5, balance.LastMeasurement?.Value);
    }

    [Fact]
    public void ReportedGauges_BeforeAnyReport_ReportNothing()
    {
        using var depth = Collect<long>("queue.depth");
        using var balance = Collect<double>("deployer.balance");
        _ = Telemetry;

        depth.RecordObservableInstruments();
        balance.RecordObservableInstruments();

        Assert.Empty(depth.GetMeasurementSnapshot());
        Assert.Empty(balance.GetMeasurementSnapshot());
    }

    [Fact]
    public void AcceptedCancelledCompletedAndQuota_RecordCounters()
    {
        using var accepted = Collect<long>("deployments.accepted");
        using var cancelled = Collect<long>("deployments.cancelled");
        using var completed = Collect<long>("deployments.completed");
        using var quota = Collect<long>("quota.rejections");

        Telemetry.DeploymentAccepted();
        Telemetry.DeploymentCancelled();
        Telemetry.DeploymentCompleted(TimeSpan.FromSeconds(10));
        Telemetry.QuotaRejection("hour");

        Assert.Equal(1, Assert.Single(accepted.GetMeasurementSnapshot()).Value);
        Assert.Equal(1, Assert.Single(cancelled.GetMeasurementSnapshot()).Value);
        Assert.Equal(1, Assert.Single(completed.GetMeasurementSnapshot()).Value);
        Assert.Equal("hour", Assert.Single(quota.GetMeasurementSnapshot()).Tags["window"]);
    }

    [Fact]
    public void Telemetry_TwoContainers_KeepTheirOwnInstrumentsAndGaugeState()
    {
        var services = new ServiceCollection();
        services.AddContractsTelemetry();
        using var other = services.BuildServiceProvider();
        using var mine = Collect<long>("jobs.in_flight");
        using var theirs = new MetricCollector<long>(other.GetRequiredService<IMeterFactory>(), HokusaiContractsDiagnostics.MeterName, P + "jobs.in_flight");

        other.GetRequiredService<ContractsTelemetry>().JobStarted();
        _ = Telemetry;
        mine.RecordObservableInstruments();
        theirs.RecordObservableInstruments();

        Assert.NotSame(Telemetry, other.GetRequiredService<ContractsTelemetry>());
        Assert.Equal(0, mine.LastMeasurement?.Value);
        Assert.Equal(1, theirs.LastMeasurement?.Value);
    }

    [Fact]
    public void AddHokusaiContracts_ResolvesOneTelemetryFromTheContainersMeterFactory()
    {
        var services = new ServiceCollection();
        services.AddHokusaiContracts(_ => { });
        services.AddHealthChecks().AddHokusaiContracts();
        using var provider = services.BuildServiceProvider();
        using var accepted = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), HokusaiContractsDiagnostics.MeterName, P + "deployments.accepted");

        var telemetry = provider.GetRequiredService<ContractsTelemetry>();
        telemetry.DeploymentAccepted();

        Assert.Same(telemetry, provider.GetRequiredService<ContractsTelemetry>());
        Assert.Single(accepted.GetMeasurementSnapshot());
    }

    [Fact]
    public void StartActivity_WithStoredTraceParent_JoinsThatTrace()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == HokusaiContractsDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        const string traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        using var activity = ContractsTelemetry.StartActivity("deployment.process", traceParent: traceParent);

        Assert.NotNull(activity);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", activity.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", activity.ParentSpanId.ToHexString());
    }
}
