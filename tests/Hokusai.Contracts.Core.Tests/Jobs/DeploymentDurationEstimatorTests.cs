using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.Jobs;

public sealed class DeploymentDurationEstimatorTests
{
    private static DeploymentDurationEstimator Create(int fallbackSeconds = 60) =>
        new(Options.Create(new HokusaiContractsOptions { Jobs = { EstimatedCompletionSeconds = fallbackSeconds } }));

    [Fact]
    public void Estimate_NothingMeasured_IsTheConfiguredEstimate()
    {
        var estimator = Create(fallbackSeconds: 45);

        Assert.Equal(TimeSpan.FromSeconds(45), estimator.Estimate);
    }

    [Fact]
    public void Estimate_MeasuredCompletions_IsTheirMedian()
    {
        var estimator = Create();

        foreach (var seconds in new[] { 12.0, 30.2, 14.0, 3_600.0, 13.5 })
        {
            estimator.RecordCompleted(TimeSpan.FromSeconds(seconds));
        }

        // One job held back for an hour does not move the estimate far from the typical job.
        Assert.Equal(TimeSpan.FromSeconds(14), estimator.Estimate);
        estimator.RecordCompleted(TimeSpan.FromSeconds(20.1));
        Assert.Equal(TimeSpan.FromSeconds(17.05), estimator.Estimate);
    }

    [Fact]
    public void Estimate_MoreCompletionsThanTheSample_ForgetsTheOldest()
    {
        var estimator = Create();
        for (var i = 0; i < DeploymentDurationEstimator.SampleSize; i++)
        {
            estimator.RecordCompleted(TimeSpan.FromSeconds(100));
        }

        for (var i = 0; i < (DeploymentDurationEstimator.SampleSize / 2) + 1; i++)
        {
            estimator.RecordCompleted(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(TimeSpan.FromSeconds(5), estimator.Estimate);
    }

    [Fact]
    public void RecordCompleted_NegativeDuration_Ignored()
    {
        var estimator = Create();

        // A clock stepped back between acceptance and completion: not a measurement.
        estimator.RecordCompleted(TimeSpan.FromSeconds(-5));
        Assert.Equal(TimeSpan.FromSeconds(60), estimator.Estimate);
        estimator.RecordCompleted(TimeSpan.FromMilliseconds(40));

        Assert.Equal(TimeSpan.FromMilliseconds(40), estimator.Estimate);
    }

    [Fact]
    public async Task EstimatedDuration_JobCompleted_IsItsTimeFromAcceptanceToCompletion()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var h = EngineHarness.Create(time: time);
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;

        // Accepted, then picked up 42 s later: the engine measures on the host's clock.
        time.Advance(TimeSpan.FromSeconds(42));
        await h.StartAsync();
        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal(), timeoutMs: 60_000);

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(done.CompletedAt!.Value - job.CreatedAt, h.Service.EstimatedDuration);
        Assert.Equal(TimeSpan.FromSeconds(42), h.Service.EstimatedDuration);
    }
}
