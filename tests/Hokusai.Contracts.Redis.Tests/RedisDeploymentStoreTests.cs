using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisDeploymentStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly CancellationToken _ct = CancellationToken.None;

    [Fact]
    public async Task TryCreateAsync_NewJob_StoresJobClaimAndIndexes()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var job = Jobs.New();

        var result = await app.Store.TryCreateAsync(job, _ct);

        Assert.Equal(CreateJobOutcome.Created, result.Outcome);
        var stored = await app.Store.GetAsync(job.Id, _ct);
        Assert.NotNull(stored);
        Assert.Equal(job.Request.InitialSupply, stored.Request.InitialSupply);
        Assert.Equal("v", stored.Request.Metadata!.Tags!["k"]);
        Assert.Equal(job.CreatedAt, stored.CreatedAt);
        Assert.Single(stored.History);
        Assert.Equal(job.Id, await app.Store.GetModelClaimAsync("model-1", _ct));
        Assert.Equal([job.Id], await app.Store.GetUnfinishedAsync(_ct));
    }

    [Fact]
    public async Task GetAsync_UnknownId_ReturnsNull()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);

        Assert.Null(await app.Store.GetAsync(Guid.NewGuid(), _ct));
    }

    [Fact]
    public async Task TryCreateAsync_SameIdempotencyKeyAndBody_ReplaysExistingJob()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var first = Jobs.New(idempotencyKey: "key-1");
        await app.Store.TryCreateAsync(first, _ct);

        var retry = Jobs.New(idempotencyKey: "key-1");
        var result = await app.Store.TryCreateAsync(retry, _ct);

        Assert.Equal(CreateJobOutcome.IdempotentReplay, result.Outcome);
        Assert.Equal(first.Id, result.Existing?.Id);
        Assert.Null(await app.Store.GetAsync(retry.Id, _ct));
    }

    [Fact]
    public async Task TryCreateAsync_SameIdempotencyKeyOtherBody_ReportsKeyReused()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var first = Jobs.New(idempotencyKey: "key-1", hash: "hash-1");
        await app.Store.TryCreateAsync(first, _ct);

        var other = Jobs.New(model: "model-2", idempotencyKey: "key-1", hash: "hash-2");
        var result = await app.Store.TryCreateAsync(other, _ct);

        Assert.Equal(CreateJobOutcome.IdempotencyKeyReused, result.Outcome);
        Assert.Equal(first.Id, result.Existing?.Id);
        Assert.Null(await app.Store.GetAsync(other.Id, _ct));
        Assert.Null(await app.Store.GetModelClaimAsync("model-2", _ct));
    }

    [Fact]
    public async Task TryCreateAsync_SameIdempotencyKeyOtherOwner_IsIndependent()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        await app.Store.TryCreateAsync(Jobs.New(owner: "alice", model: "m-a", idempotencyKey: "shared"), _ct);

        var result = await app.Store.TryCreateAsync(Jobs.New(owner: "bob", model: "m-b", idempotencyKey: "shared"), _ct);

        Assert.Equal(CreateJobOutcome.Created, result.Outcome);
    }

    [Theory]
    [InlineData(DeploymentStatus.Pending)]
    [InlineData(DeploymentStatus.Processing)]
    public async Task TryCreateAsync_ModelClaimedByUnfinishedJob_ReportsInProgressAndWritesNothing(DeploymentStatus status)
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var first = Jobs.New();
        await app.Store.TryCreateAsync(first, _ct);
        if (status == DeploymentStatus.Processing)
        {
            Assert.True(await app.Store.TryUpdateAsync(first = first.Next(status), _ct));
        }

        var second = Jobs.New(owner: "bob");
        var result = await app.Store.TryCreateAsync(second, _ct);

        Assert.Equal(CreateJobOutcome.ModelInProgress, result.Outcome);
        Assert.Equal(first.Id, result.Existing?.Id);
        Assert.Equal(status, result.Existing?.Status);
        Assert.Null(await app.Store.GetAsync(second.Id, _ct));
        Assert.Equal(0, (await app.Store.ListAsync("bob", new DeploymentQuery(), _ct)).Total);
        Assert.Equal(first.Id, await app.Store.GetModelClaimAsync("model-1", _ct));
    }

    [Fact]
    public async Task TryCreateAsync_ModelOfCompletedJob_ReportsAlreadyDeployedEvenAfterJobExpired()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, configure: o => o.Retention = TimeSpan.FromSeconds(1));
        var first = Jobs.New();
        await app.Store.TryCreateAsync(first, _ct);
        var completed = first.Next(DeploymentStatus.Processing).Next(DeploymentStatus.Completed);
        Assert.True(await app.Store.TryUpdateAsync(first.Next(DeploymentStatus.Processing), _ct));
        Assert.True(await app.Store.TryUpdateAsync(completed, _ct));

        var whileKept = await app.Store.TryCreateAsync(Jobs.New(owner: "bob"), _ct);
        Assert.Equal(CreateJobOutcome.ModelAlreadyDeployed, whileKept.Outcome);
        Assert.Equal(first.Id, whileKept.Existing?.Id);

        await WaitUntilAsync(async () => await app.Store.GetAsync(first.Id, _ct) is null);
        var afterExpiry = await app.Store.TryCreateAsync(Jobs.New(owner: "bob"), _ct);

        Assert.Equal(CreateJobOutcome.ModelAlreadyDeployed, afterExpiry.Outcome);
        Assert.Null(afterExpiry.Existing);
        Assert.Equal(first.Id, await app.Store.GetModelClaimAsync("model-1", _ct));
        Assert.Equal(TimeSpan.Zero, await app.Database.KeyTimeToLiveAsync(app.Keys.Claim("model-1")) ?? TimeSpan.Zero);
    }

    [Theory]
    [InlineData(DeploymentStatus.Failed)]
    [InlineData(DeploymentStatus.Cancelled)]
    public async Task TryUpdateAsync_FailedOrCancelled_ReleasesClaim(DeploymentStatus final)
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var first = Jobs.New();
        await app.Store.TryCreateAsync(first, _ct);

        Assert.True(await app.Store.TryUpdateAsync(first.Next(final), _ct));

        Assert.Null(await app.Store.GetModelClaimAsync("model-1", _ct));
        var retry = Jobs.New();
        Assert.Equal(CreateJobOutcome.Created, (await app.Store.TryCreateAsync(retry, _ct)).Outcome);
        Assert.Equal(retry.Id, await app.Store.GetModelClaimAsync("model-1", _ct));
    }

    [Fact]
    public async Task TryUpdateAsync_StaleVersion_ReturnsFalseAndWritesNothing()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var job = Jobs.New();
        await app.Store.TryCreateAsync(job, _ct);
        var winner = job.Next(DeploymentStatus.Processing);
        Assert.True(await app.Store.TryUpdateAsync(winner, _ct));

        var loser = job.Next(DeploymentStatus.Cancelled);
        Assert.False(await app.Store.TryUpdateAsync(loser, _ct));
        Assert.False(await app.Store.TryUpdateAsync(winner with { Version = 5 }, _ct));

        var stored = await app.Store.GetAsync(job.Id, _ct);
        Assert.Equal(DeploymentStatus.Processing, stored?.Status);
        Assert.Equal(2, stored?.Version);
        Assert.Equal(job.Id, await app.Store.GetModelClaimAsync("model-1", _ct));
    }

    [Fact]
    public async Task TryUpdateAsync_UnknownJob_ReturnsFalse()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);

        Assert.False(await app.Store.TryUpdateAsync(Jobs.New().Next(DeploymentStatus.Processing), _ct));
    }

    [Fact]
    public async Task TryUpdateAsync_FinalStatus_StartsRetentionOnJobAndIdempotencyKey()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var job = Jobs.New(idempotencyKey: "key-ttl");
        await app.Store.TryCreateAsync(job, _ct);
        var processing = job.Next(DeploymentStatus.Processing);
        Assert.True(await app.Store.TryUpdateAsync(processing, _ct));
        Assert.Null(await app.Database.KeyTimeToLiveAsync(app.Keys.Job(job.Id)));
        Assert.Null(await app.Database.KeyTimeToLiveAsync(app.Keys.Idempotency("alice", "key-ttl")));

        Assert.True(await app.Store.TryUpdateAsync(processing.Next(DeploymentStatus.Completed), _ct));

        var jobTtl = await app.Database.KeyTimeToLiveAsync(app.Keys.Job(job.Id));
        var keyTtl = await app.Database.KeyTimeToLiveAsync(app.Keys.Idempotency("alice", "key-ttl"));
        Assert.InRange(jobTtl!.Value, TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(7));
        Assert.InRange(keyTtl!.Value, TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(7));
        Assert.Empty(await app.Store.GetUnfinishedAsync(_ct));
    }

    [Fact]
    public async Task TryUpdateAsync_RetentionFromJobEngineOptions_IsUsedWhenNotOverridden()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, contracts: o => o.Jobs.Retention = TimeSpan.FromHours(3));
        var job = Jobs.New();
        await app.Store.TryCreateAsync(job, _ct);

        Assert.True(await app.Store.TryUpdateAsync(job.Next(DeploymentStatus.Failed), _ct));

        var ttl = await app.Database.KeyTimeToLiveAsync(app.Keys.Job(job.Id));
        Assert.InRange(ttl!.Value, TimeSpan.FromHours(3) - TimeSpan.FromMinutes(1), TimeSpan.FromHours(3));
    }

    [Fact]
    public async Task ListAsync_FiltersAndPages_NewestFirst()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var jobs = new List<DeploymentJob>();
        for (var i = 0; i < 5; i++)
        {
            var job = Jobs.New(model: $"model-{i}", createdAt: Jobs.Epoch.AddMinutes(i));
            await app.Store.TryCreateAsync(job, _ct);
            jobs.Add(job);
        }

        await app.Store.TryCreateAsync(Jobs.New(owner: "bob", model: "model-bob"), _ct);
        Assert.True(await app.Store.TryUpdateAsync(jobs[1].Next(DeploymentStatus.Failed), _ct));
        Assert.True(await app.Store.TryUpdateAsync(jobs[3].Next(DeploymentStatus.Failed), _ct));

        var all = await app.Store.ListAsync("alice", new DeploymentQuery(), _ct);
        Assert.Equal(5, all.Total);
        Assert.Equal(jobs.Select(j => j.Id).Reverse(), all.Items.Select(j => j.Id));

        var page2 = await app.Store.ListAsync("alice", new DeploymentQuery(Page: 2, Limit: 2), _ct);
        Assert.Equal(5, page2.Total);
        Assert.Equal([jobs[2].Id, jobs[1].Id], page2.Items.Select(j => j.Id));

        var failed = await app.Store.ListAsync("alice", new DeploymentQuery(Status: DeploymentStatus.Failed), _ct);
        Assert.Equal(2, failed.Total);
        Assert.Equal([jobs[3].Id, jobs[1].Id], failed.Items.Select(j => j.Id));

        var byModel = await app.Store.ListAsync("alice", new DeploymentQuery(ModelId: "model-4"), _ct);
        Assert.Equal([jobs[4].Id], byModel.Items.Select(j => j.Id));

        var beyond = await app.Store.ListAsync("alice", new DeploymentQuery(Page: 9, Limit: 2), _ct);
        Assert.Empty(beyond.Items);

        // (page - 1) × limit beyond int.MaxValue must not wrap around to an earlier page.
        var overflow = await app.Store.ListAsync("alice", new DeploymentQuery(Page: int.MaxValue, Limit: 100), _ct);
        Assert.Empty(overflow.Items);
        Assert.Equal(5, overflow.Total);
        Assert.Equal(5, beyond.Total);
    }

    [Fact]
    public async Task ListAsync_ExpiredJob_IsSkippedAndPrunedFromIndex()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, configure: o => o.Retention = TimeSpan.FromSeconds(1));
        var kept = Jobs.New(model: "kept");
        var expiring = Jobs.New(model: "expiring");
        await app.Store.TryCreateAsync(kept, _ct);
        await app.Store.TryCreateAsync(expiring, _ct);
        Assert.True(await app.Store.TryUpdateAsync(expiring.Next(DeploymentStatus.Failed), _ct));

        await WaitUntilAsync(async () => await app.Store.GetAsync(expiring.Id, _ct) is null);
        var page = await app.Store.ListAsync("alice", new DeploymentQuery(), _ct);

        Assert.Equal([kept.Id], page.Items.Select(j => j.Id));
        Assert.Equal(1, page.Total);
        Assert.Equal(1, await app.Database.SortedSetLengthAsync(app.Keys.Owner("alice")));
    }

    [Fact]
    public async Task GetUnfinishedAsync_ReturnsPendingAndProcessingOnly()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var pending = Jobs.New(model: "a", createdAt: Jobs.Epoch);
        var processing = Jobs.New(model: "b", createdAt: Jobs.Epoch.AddSeconds(1));
        var done = Jobs.New(model: "c", createdAt: Jobs.Epoch.AddSeconds(2));
        foreach (var job in new[] { pending, processing, done })
        {
            await app.Store.TryCreateAsync(job, _ct);
        }

        Assert.True(await app.Store.TryUpdateAsync(processing.Next(DeploymentStatus.Processing), _ct));
        Assert.True(await app.Store.TryUpdateAsync(done.Next(DeploymentStatus.Completed), _ct));

        Assert.Equal([pending.Id, processing.Id], await app.Store.GetUnfinishedAsync(_ct));
    }

    [Fact]
    public async Task CountByStatusAsync_CountsEachStatusAndDropsExpiredFinals()
    {
        var time = new FakeTimeProvider(Jobs.Epoch);
        await using var app = TestApp.Create(redis.Server.ConnectionString, time: time, configure: o => o.Retention = TimeSpan.FromHours(1));
        var jobs = Enumerable.Range(0, 5).Select(i => Jobs.New(model: $"m{i}")).ToArray();
        foreach (var job in jobs)
        {
            await app.Store.TryCreateAsync(job, _ct);
        }

        Assert.True(await app.Store.TryUpdateAsync(jobs[1].Next(DeploymentStatus.Processing), _ct));
        Assert.True(await app.Store.TryUpdateAsync(jobs[2].Next(DeploymentStatus.Completed), _ct));
        Assert.True(await app.Store.TryUpdateAsync(jobs[3].Next(DeploymentStatus.Failed), _ct));
        Assert.True(await app.Store.TryUpdateAsync(jobs[4].Next(DeploymentStatus.Cancelled), _ct));

        var counts = await app.Store.CountByStatusAsync(_ct);
        Assert.All(Enum.GetValues<DeploymentStatus>(), status => Assert.Equal(1, counts[status]));

        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var later = await app.Store.CountByStatusAsync(_ct);
        Assert.Equal(1, later[DeploymentStatus.Pending]);
        Assert.Equal(1, later[DeploymentStatus.Processing]);
        Assert.Equal(0, later[DeploymentStatus.Completed]);
        Assert.Equal(0, later[DeploymentStatus.Failed]);
        Assert.Equal(0, later[DeploymentStatus.Cancelled]);
    }

    [Fact]
    public async Task TryCreateAsync_TwentyParallelFromTwoInstances_CreatesExactlyOne()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = TestApp.Create(redis.Server.ConnectionString, prefix);
        await using var second = TestApp.Create(redis.Server.ConnectionString, prefix);
        Assert.NotSame(first.Database.Multiplexer, second.Database.Multiplexer);

        var attempts = Enumerable.Range(0, 20)
            .Select(i => (i % 2 == 0 ? first : second).Store.TryCreateAsync(Jobs.New(owner: $"user-{i}", model: "contested"), _ct))
            .ToArray();
        var results = await Task.WhenAll(attempts);

        Assert.Single(results, r => r.Outcome == CreateJobOutcome.Created);
        Assert.Equal(19, results.Count(r => r.Outcome == CreateJobOutcome.ModelInProgress));
        Assert.Single(await first.Store.GetUnfinishedAsync(_ct));
    }

    [Fact]
    public async Task Keys_TouchedByOneScript_ShareOneClusterSlot()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, prefix: "hokusai:contracts:");
        var multiplexer = app.Database.Multiplexer;
        RedisKey[] keys =
        [
            app.Keys.Job(Guid.NewGuid()), app.Keys.Owner("alice:x"), app.Keys.Idempotency("alice", "k}{"), app.Keys.Claim("m"),
            app.Keys.Unfinished, app.Keys.Stream, app.Keys.SignerLease("0xAbC"), app.Keys.SignerFence("0xabc"), .. app.Keys.StatusSets,
            app.Keys.Quota("alice"), .. app.Keys.OwnerStatusSets("alice:x"), app.Keys.OwnerExpiry("alice:x"), app.Keys.OwnerModel("alice:x", "m"),
        ];

        Assert.Single(keys.Select(key => multiplexer.HashSlot(key)).Distinct());
        Assert.StartsWith("{hokusai:contracts}:job:", (string)keys[0]!);
        Assert.Equal("{hokusai:contracts}:quota:alice", (string)app.Keys.Quota("alice")!);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Condition not met within 60 s.");
            await Task.Delay(100);
        }
    }
}
