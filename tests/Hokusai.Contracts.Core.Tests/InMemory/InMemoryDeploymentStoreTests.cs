using Hokusai.Contracts.Backends;
using Hokusai.Contracts.InMemory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.InMemory;

public sealed class InMemoryDeploymentStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private InMemoryDeploymentStore Create() => new(Options.Create(new HokusaiContractsOptions { Jobs = { Retention = TimeSpan.FromDays(7) } }), _time);

    private DeploymentJob Job(string model = "m1", string owner = "alice", string? key = null) => new()
    {
        Id = Guid.NewGuid(),
        Owner = owner,
        Request = Jobs.EngineHarness.Request(model),
        RequestHash = "h-" + model,
        IdempotencyKey = key,
        CreatedAt = _time.GetUtcNow(),
        UpdatedAt = _time.GetUtcNow(),
    };

    [Theory]
    [InlineData(int.MaxValue, 100)]
    [InlineData(21_474_837, 100)]
    [InlineData(1_073_741_825, 2)]
    public async Task ListAsync_PageWhoseOffsetOverflowsInt_IsEmptyNotPageOne(int page, int limit)
    {
        var store = Create();
        for (var i = 0; i < 3; i++)
        {
            await store.TryCreateAsync(Job("m" + i), default);
        }

        var result = await store.ListAsync("alice", new DeploymentQuery(Page: page, Limit: limit), default);

        Assert.Empty(result.Items);
        Assert.Equal(3, result.Total);
    }

    [Fact]
    public void DeploymentQuery_Offset_IsComputedIn64Bits()
    {
        Assert.Equal((long)(int.MaxValue - 1) * 100, new DeploymentQuery(Page: int.MaxValue, Limit: 100).Offset);
        Assert.Equal(0, new DeploymentQuery(Page: int.MinValue, Limit: 5).Offset);
        Assert.Equal(100, new DeploymentQuery(Limit: 5000).EffectiveLimit);
    }

    [Fact]
    public async Task TryUpdateAsync_StaleVersion_IsRejected()
    {
        var store = Create();
        var job = Job();
        await store.TryCreateAsync(job, default);

        Assert.True(await store.TryUpdateAsync(job with { Version = 2, Progress = 10 }, default));
        Assert.False(await store.TryUpdateAsync(job with { Version = 2, Progress = 20 }, default));
        Assert.Equal(10, (await store.GetAsync(job.Id, default))!.Progress);
    }

    [Fact]
    public async Task TryUpdateAsync_Completed_KeepsClaimAndExpiresAfterRetention()
    {
        var store = Create();
        var job = Job();
        await store.TryCreateAsync(job, default);
        await store.TryUpdateAsync(job with { Version = 2, Status = DeploymentStatus.Completed }, default);

        Assert.Equal(job.Id, await store.GetModelClaimAsync("m1", default));
        Assert.Equal(CreateJobOutcome.ModelAlreadyDeployed, (await store.TryCreateAsync(Job(), default)).Outcome);

        _time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1));
        Assert.Null(await store.GetAsync(job.Id, default));
    }

    [Fact]
    public async Task TryUpdateAsync_Failed_ReleasesClaim()
    {
        var store = Create();
        var job = Job();
        await store.TryCreateAsync(job, default);
        await store.TryUpdateAsync(job with { Version = 2, Status = DeploymentStatus.Failed }, default);

        Assert.Null(await store.GetModelClaimAsync("m1", default));
        Assert.Equal(CreateJobOutcome.Created, (await store.TryCreateAsync(Job(), default)).Outcome);
    }

    [Fact]
    public async Task TryCreateAsync_ConcurrentSameModel_CreatesExactlyOne()
    {
        var store = Create();
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => store.TryCreateAsync(Job(owner: "o" + i), default))));

        Assert.Single(results, r => r.Outcome == CreateJobOutcome.Created);
        Assert.Equal(49, results.Count(r => r.Outcome == CreateJobOutcome.ModelInProgress));
    }

    [Fact]
    public async Task GetUnfinishedAsync_MixedStatuses_ReturnsPendingAndProcessingOnly()
    {
        var store = Create();
        var a = Job("a");
        var b = Job("b");
        var c = Job("c");
        foreach (var j in new[] { a, b, c })
        {
            await store.TryCreateAsync(j, default);
        }

        await store.TryUpdateAsync(b with { Version = 2, Status = DeploymentStatus.Processing }, default);
        await store.TryUpdateAsync(c with { Version = 2, Status = DeploymentStatus.Completed }, default);

        Assert.Equal([a.Id, b.Id], await store.GetUnfinishedAsync(default));
        var counts = await store.CountByStatusAsync(default);
        Assert.Equal(1, counts[DeploymentStatus.Completed]);
        Assert.Equal(1, counts[DeploymentStatus.Pending]);
    }

    [Theory]
    [InlineData(int.MaxValue, 100)]
    [InlineData(21_474_837, 100)]
    [InlineData(2, 2)]
    public async Task ListAsync_PageBeyondTheEnd_ReturnsNothingWithTheTotal(int page, int limit)
    {
        var store = Create();
        foreach (var model in new[] { "a", "b" })
        {
            await store.TryCreateAsync(Job(model), default);
        }

        var result = await store.ListAsync("alice", new DeploymentQuery(Page: page, Limit: limit), default);

        Assert.Empty(result.Items);
        Assert.Equal(2, result.Total);
    }
}
