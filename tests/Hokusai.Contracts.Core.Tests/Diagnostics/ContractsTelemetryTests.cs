using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Numerics;
using Hokusai.Contracts.Diagnostics;

namespace Hokusai.Contracts.Tests.Diagnostics;

/// <summary>
/// The instruments are process-wide, and the engine tests move them too: these run alone, after the
/// parallel collections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTelemetry
{
    public const string Name = "process-wide telemetry";
}

[Collection(ProcessWideTelemetry.Name)]
public sealed class ContractsTelemetryTests
{
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        public List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = [];

        public Recorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == HokusaiContractsDiagnostics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        private void Add(Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (Measurements)
            {
                Measurements.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
            }
        }

        public void Observe() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public void DeploymentFailed_RecordsCounterWithErrorCodeAndDuration()
    {
        using var recorder = new Recorder();

        // A code no engine uses, so measurements of tests running in parallel cannot match.
        var code = "TEST_" + Guid.NewGuid().ToString("N");

        ContractsTelemetry.DeploymentFailed(code, TimeSpan.FromSeconds(3));

        var failed = Assert.Single(recorder.Measurements, m => m.Instrument == "hokusai.contracts.deployments.failed" && Equals(m.Tags["error.code"], code));
        Assert.Equal(1, failed.Value);
        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.deployment.duration" && m.Value == 3 && Equals(m.Tags["status"], "failed"));
    }

    [Fact]
    public void RpcCall_RecordsDurationByMethodAndOutcome()
    {
        using var recorder = new Recorder();

        var method = "test_" + Guid.NewGuid().ToString("N");

        ContractsTelemetry.RpcCall(method, "timeout", TimeSpan.FromMilliseconds(1500));

        var m = Assert.Single(recorder.Measurements, m => m.Instrument == "hokusai.contracts.rpc.duration" && Equals(m.Tags["rpc.method"], method));
        Assert.Equal(1.5, m.Value);
        Assert.Equal("timeout", m.Tags["outcome"]);
    }

    [Fact]
    public void StepFinished_TagsStepAndOutcome()
    {
        using var recorder = new Recorder();

        ContractsTelemetry.StepFinished(DeploymentStep.RegisteringModel, TimeSpan.FromSeconds(2), succeeded: false);

        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.deployment.step.duration"
            && Equals(m.Tags["step"], "registering_model") && Equals(m.Tags["outcome"], "failure"));
    }

    [Fact]
    public void JobStartedAndFinished_MoveInFlightUpAndDown()
    {
        using var recorder = new Recorder();
        double Observe()
        {
            recorder.Measurements.Clear();
            recorder.Observe();
            return recorder.Measurements.Single(m => m.Instrument == "hokusai.contracts.jobs.in_flight").Value;
        }

        var before = Observe();
        ContractsTelemetry.JobStarted();
        ContractsTelemetry.JobStarted();
        var during = Observe();
        ContractsTelemetry.JobFinished();
        ContractsTelemetry.JobFinished();
        var after = Observe();

        Assert.Equal(before + 2, during);
        Assert.Equal(before, after);
    }

    [Fact]
    public void ReportedGauges_AreObservedWithLastValues()
    {
        using var recorder = new Recorder();

        ContractsTelemetry.ReportQueueDepth(12);
        ContractsTelemetry.ReportRedisAvailable(true);
        ContractsTelemetry.ReportDeployerBalance(BigInteger.Parse("2500000000000000000", System.Globalization.CultureInfo.InvariantCulture));
        recorder.Observe();

        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.queue.depth" && m.Value == 12);
        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.redis.available" && m.Value == 1);
        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.deployer.balance" && m.Value == 2.5);
    }

    [Fact]
    public void AcceptedCancelledAndQuota_RecordCounters()
    {
        using var recorder = new Recorder();

        ContractsTelemetry.DeploymentAccepted();
        ContractsTelemetry.DeploymentCancelled();
        ContractsTelemetry.DeploymentCompleted(TimeSpan.FromSeconds(10));
        ContractsTelemetry.QuotaRejection("hour");

        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.deployments.accepted");
        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.deployments.cancelled");
        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.deployments.completed");
        Assert.Contains(recorder.Measurements, m => m.Instrument == "hokusai.contracts.quota.rejections" && Equals(m.Tags["window"], "hour"));
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
