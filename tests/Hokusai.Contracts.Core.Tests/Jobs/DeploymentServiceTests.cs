using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Core.Tests.Jobs;

public sealed class DeploymentServiceTests
{
    [Fact]
    public async Task SubmitAsync_NewModel_AcceptsPendingJobAndQueuesIt()
    {
        await using var h = EngineHarness.Create();
        var result = await h.Service.SubmitAsync(EngineHarness.Submission(), default);

        Assert.Equal(SubmitOutcome.Accepted, result.Outcome);
        Assert.NotNull(result.Job);
        Assert.Equal(DeploymentStatus.Pending, result.Job.Status);
        Assert.Equal(4, result.Job.Id.ToString("D")[14] - '0');
        Assert.Equal(1, await h.Provider.GetRequiredService<IDeploymentQueue>().GetDepthAsync(default));
        Assert.Equal(4, result.Quota!.Remaining);
    }

    [Fact]
    public async Task SubmitAsync_SameIdempotencyKeyAndBody_ReplaysTheSameJob()
    {
        await using var h = EngineHarness.Create();
        var first = await h.Service.SubmitAsync(EngineHarness.Submission(key: "k1"), default);
        var second = await h.Service.SubmitAsync(EngineHarness.Submission(key: "k1"), default);

        Assert.Equal(SubmitOutcome.Replayed, second.Outcome);
        Assert.Equal(first.Job!.Id, second.Job!.Id);
        var third = await h.Service.SubmitAsync(EngineHarness.Submission(modelId: "model-2", key: "k1"), default);
        Assert.Equal(SubmitOutcome.IdempotencyKeyReused, third.Outcome);
    }

    [Fact]
    public async Task SubmitAsync_SameKeyDifferentBody_ReportsKeyReused()
    {
        await using var h = EngineHarness.Create();
        await h.Service.SubmitAsync(EngineHarness.Submission(key: "k1"), default);
        var reused = await h.Service.SubmitAsync(EngineHarness.Submission(key: "k1", supply: 5), default);

        Assert.Equal(SubmitOutcome.IdempotencyKeyReused, reused.Outcome);
    }

    [Fact]
    public async Task SubmitAsync_ModelPendingForAnotherCaller_ReportsInProgressWithoutUsingQuota()
    {
        await using var h = EngineHarness.Create();
        await h.Service.SubmitAsync(EngineHarness.Submission(owner: "alice"), default);
        var second = await h.Service.SubmitAsync(EngineHarness.Submission(owner: "bob"), default);

        Assert.Equal(SubmitOutcome.DeploymentInProgress, second.Outcome);
        var bobQuota = await h.Provider.GetRequiredService<IDeploymentQuota>().TryAcquireAsync("bob", default);
        Assert.Equal(4, bobQuota.Remaining);
    }

    [Fact]
    public async Task SubmitAsync_ModelRegisteredOnChainWithEmptyStore_ReportsTokenAlreadyExists()
    {
        var chain = new FakeChainClient();
        chain.Registry["model-1"] = "0x00000000000000000000000000000000000000AA";
        await using var h = EngineHarness.Create(chain: chain);

        var result = await h.Service.SubmitAsync(EngineHarness.Submission(), default);

        Assert.Equal(SubmitOutcome.TokenAlreadyExists, result.Outcome);
        Assert.Equal("0x00000000000000000000000000000000000000AA", result.ExistingTokenAddress);
    }

    [Fact]
    public async Task SubmitAsync_RegistryUnreachable_StillAcceptsBecauseTheEngineChecksAgain()
    {
        var chain = new FakeChainClient { RegistryReadFails = true };
        await using var h = EngineHarness.Create(chain: chain);

        var result = await h.Service.SubmitAsync(EngineHarness.Submission(), default);

        Assert.Equal(SubmitOutcome.Accepted, result.Outcome);
    }

    [Theory]
    [InlineData(nameof(ChainErrorKind.Reverted))]
    [InlineData(nameof(ChainErrorKind.Permanent))]
    public async Task SubmitAsync_RegistryReadFailsWithNodeError_StillAcceptsBecauseTheEngineChecksAgain(string kind)
    {
        var chain = new FakeChainClient { RegistryReadFails = true, RegistryReadFailure = Enum.Parse<ChainErrorKind>(kind) };
        await using var h = EngineHarness.Create(chain: chain);

        var result = await h.Service.SubmitAsync(EngineHarness.Submission(), default);

        Assert.Equal(SubmitOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public async Task SubmitAsync_SixthInAnHour_ReportsQuotaExceeded()
    {
        await using var h = EngineHarness.Create();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(SubmitOutcome.Accepted, (await h.Service.SubmitAsync(EngineHarness.Submission($"m{i}"), default)).Outcome);
        }

        var sixth = await h.Service.SubmitAsync(EngineHarness.Submission("m5"), default);

        Assert.Equal(SubmitOutcome.QuotaExceeded, sixth.Outcome);
        Assert.False(sixth.Quota!.Allowed);
        Assert.Equal("hour", sixth.Quota.Window);
        Assert.True(sixth.Quota.ResetAfter > TimeSpan.Zero && sixth.Quota.ResetAfter <= TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task CancelAsync_PendingJob_CancelsAndReleasesTheModel()
    {
        await using var h = EngineHarness.Create();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;

        var cancelled = await h.Service.CancelAsync("alice", job.Id, default);

        Assert.Equal(CancelOutcome.Cancelled, cancelled.Outcome);
        Assert.Equal(DeploymentStatus.Cancelled, cancelled.Job!.Status);
        Assert.Null(await h.Store.GetModelClaimAsync("model-1", default));
        var again = await h.Service.SubmitAsync(EngineHarness.Submission(), default);
        Assert.Equal(SubmitOutcome.Accepted, again.Outcome);
    }

    [Fact]
    public async Task CancelAsync_OtherOwner_ReportsNotFound()
    {
        await using var h = EngineHarness.Create();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;

        Assert.Equal(CancelOutcome.NotFound, (await h.Service.CancelAsync("mallory", job.Id, default)).Outcome);
        Assert.Null(await h.Service.GetAsync("mallory", job.Id, default));
    }

    [Fact]
    public async Task CancelAsync_CompletedJob_ReportsNotCancellable()
    {
        await using var h = EngineHarness.Create();
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;
        await h.WaitForAsync(job.Id, j => j.Status == DeploymentStatus.Completed);

        var result = await h.Service.CancelAsync("alice", job.Id, default);

        Assert.Equal(CancelOutcome.NotCancellable, result.Outcome);
        Assert.Equal(DeploymentStatus.Completed, result.Job!.Status);
    }

    [Fact]
    public async Task ListAsync_OwnersJobs_NewestFirstWithFilters()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var h = EngineHarness.Create(o => { o.Quotas.PerHour = 50; o.Quotas.PerDay = 50; }, time: time);
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            ids.Add((await h.Service.SubmitAsync(EngineHarness.Submission($"m{i}"), default)).Job!.Id);
        }

        await h.Service.SubmitAsync(EngineHarness.Submission("other", owner: "bob"), default);
        await h.Service.CancelAsync("alice", ids[1], default);

        var all = await h.Service.ListAsync("alice", new DeploymentQuery(Limit: 2), default);
        Assert.Equal(3, all.Total);
        Assert.Equal([ids[2], ids[1]], all.Items.Select(j => j.Id));
        var cancelled = await h.Service.ListAsync("alice", new DeploymentQuery(Status: DeploymentStatus.Cancelled), default);
        Assert.Equal([ids[1]], cancelled.Items.Select(j => j.Id));
        var byModel = await h.Service.ListAsync("alice", new DeploymentQuery(ModelId: "m0"), default);
        Assert.Equal([ids[0]], byModel.Items.Select(j => j.Id));
    }
}
