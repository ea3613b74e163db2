using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Tests.Chain;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Core.Tests.Jobs;

/// <summary>One trace from the accepting request through the queue to every chain call.</summary>
[Collection(DevChainGroup.Name)]
public sealed class EngineTracingTests(DevChainFixture fixture)
{
    [Fact]
    public async Task Engine_JobWithStoredTraceParent_JoinsThatTraceDownToEachRpcCall()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var parent = $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01";
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == HokusaiContractsDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        var completed = 0L;
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == HokusaiContractsDiagnostics.MeterName && instrument.Name.EndsWith("deployments.completed", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref completed, value));
        meters.Start();

        var services = new ServiceCollection().AddLogging();
        services.AddHokusaiContracts(o =>
        {
            fixture.Chain.ApplyTo(o);
            o.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(50);
        });
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<Hokusai.Contracts.Jobs.DeploymentEngine>();
        await engine.StartAsync(default);
        var model = "trace-" + Guid.NewGuid().ToString("N")[..8];
        var submission = EngineHarness.Submission(model, supply: 3) with { TraceParent = parent };
        submission = submission with { Request = submission.Request with { UserAddress = fixture.Chain.TestAccounts[3].Address } };
        var id = (await provider.GetRequiredService<IDeploymentService>().SubmitAsync(submission, default)).Job!.Id;
        var store = provider.GetRequiredService<IDeploymentStore>();
        // Generous: a loaded shared machine can take many seconds for the three transactions.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!(await store.GetAsync(id, default))!.Status.IsFinal() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }

        await engine.StopAsync(default);
        Assert.Equal(DeploymentStatus.Completed, (await store.GetAsync(id, default))!.Status);

        var process = Assert.Single(spans, s => s.OperationName == "deployment process" && s.TraceId == traceId);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(model, process.GetTagItem("hokusai.model_id"));
        var inTrace = spans.Where(s => s.TraceId == traceId).ToList();
        Assert.Contains(inTrace, s => s.OperationName.StartsWith("deployment ", StringComparison.Ordinal) && s.ParentSpanId == process.SpanId);
        var rpc = inTrace.Where(s => s.Kind == ActivityKind.Client && s.OperationName.StartsWith("rpc ", StringComparison.Ordinal)).ToList();
        Assert.True(rpc.Count >= 6, $"expected the chain calls in the trace, saw {rpc.Count}");
        meters.RecordObservableInstruments();
        Assert.True(Interlocked.Read(ref completed) >= 1);
    }
}
