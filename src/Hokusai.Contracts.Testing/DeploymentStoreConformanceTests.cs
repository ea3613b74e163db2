using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.Testing;

/// <summary>
/// The documented contract of <see cref="IDeploymentStore"/>. Derive in a test project and return a fresh, empty
/// store from <see cref="CreateStoreAsync"/>; every test then runs against it.
/// </summary>
public abstract class DeploymentStoreConformanceTests : IAsyncLifetime
{
    /// <summary>The retention passed to <see cref="CreateStoreAsync"/>: short, so expiry is observable in a test.</summary>
    protected static readonly TimeSpan Retention = TimeSpan.FromSeconds(2);

    /// <summary>Cancellation for every call (none: the tests bound their own waits).</summary>
    protected static CancellationToken None => CancellationToken.None;

    /// <summary>A fresh store, empty and isolated from every other store this class creates.</summary>
    /// <param name="retention">How long the store keeps a job after it became final.</param>
    /// <returns>The store under test.</returns>
    protected abstract Task<IDeploymentStore> CreateStoreAsync(TimeSpan retention);

    /// <summary>
    /// Lets <paramref name="elapsed"/> pass for the store. The default waits in real time; a store on a
    /// <see cref="TimeProvider"/> the test controls advances it instead.
    /// </summary>
    /// <param name="elapsed">How much time passes.</param>
    /// <returns>When the time has passed.</returns>
    protected virtual Task PassTimeAsync(TimeSpan elapsed) => Task.Delay(elapsed);

    /// <inheritdoc/>
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual Task DisposeAsync() => Task.CompletedTask;

    private Task<IDeploymentStore> StoreAsync() => CreateStoreAsync(Retention);

    /// <summary>A created job reads back whole, and claims its model.</summary>
    [Fact]
    public async Task TryCreateAsync_NewJob_IsStoredWholeAndClaimsModel()
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New(idempotencyKey: "k1");

        var result = await store.TryCreateAsync(job, None);

        Assert.Equal(CreateJobOutcome.Created, result.Outcome);
        var read = await store.GetAsync(job.Id, None);
        Assert.NotNull(read);
        Assert.Equal(job.Id, read.Id);
        Assert.Equal(job.Owner, read.Owner);
        Assert.Equal(job.Request.ModelId, read.Request.ModelId);
        Assert.Equal(job.Request.InitialSupply, read.Request.InitialSupply);
        Assert.Equal(job.RequestHash, read.RequestHash);
        Assert.Equal(job.IdempotencyKey, read.IdempotencyKey);
        Assert.Equal(DeploymentStatus.Pending, read.Status);
        Assert.Equal(1, read.Version);
        Assert.Equal(job.CreatedAt, read.CreatedAt);
        Assert.Equal(job.Id, await store.GetModelClaimAsync(job.Request.ModelId, None));
        Assert.Equal(job.Id, (await store.GetSummaryAsync(job.Id, None))?.Id);
    }

    /// <summary>An unknown id reads as null, and an unclaimed model has no claim.</summary>
    [Fact]
    public async Task GetAsync_UnknownId_IsNull()
    {
        var store = await StoreAsync();

        Assert.Null(await store.GetAsync(Guid.NewGuid(), None));
        Assert.Null(await store.GetSummaryAsync(Guid.NewGuid(), None));
        Assert.Null(await store.GetModelClaimAsync("never-claimed", None));
    }

    /// <summary>Same owner, key and body: the first job comes back and nothing new is written.</summary>
    [Fact]
    public async Task TryCreateAsync_SameOwnerKeyAndBody_ReplaysFirstJob()
    {
        var store = await StoreAsync();
        var first = ConformanceJobs.New(idempotencyKey: "k1");
        await store.TryCreateAsync(first, None);
        var again = ConformanceJobs.New(idempotencyKey: "k1");

        var result = await store.TryCreateAsync(again, None);

        Assert.Equal(CreateJobOutcome.IdempotentReplay, result.Outcome);
        Assert.Equal(first.Id, result.Existing?.Id);
        Assert.Null(await store.GetAsync(again.Id, None));
        Assert.Equal(1, (await store.ListAsync("alice", new DeploymentQuery(), None)).Total);
    }

    /// <summary>Same owner and key with another body is refused, and the replay check comes before the model claim.</summary>
    [Fact]
    public async Task TryCreateAsync_SameKeyOtherBody_IsKeyReused()
    {
        var store = await StoreAsync();
        var first = ConformanceJobs.New(idempotencyKey: "k1");
        await store.TryCreateAsync(first, None);

        var otherBody = await store.TryCreateAsync(ConformanceJobs.New(idempotencyKey: "k1", requestHash: "body-2"), None);
        var otherModel = await store.TryCreateAsync(ConformanceJobs.New(modelId: "model-2", idempotencyKey: "k1", requestHash: "body-3"), None);

        Assert.Equal(CreateJobOutcome.IdempotencyKeyReused, otherBody.Outcome);
        Assert.Equal(first.Id, otherBody.Existing?.Id);
        Assert.Equal(CreateJobOutcome.IdempotencyKeyReused, otherModel.Outcome);
        Assert.Null(await store.GetModelClaimAsync("model-2", None));
    }

    /// <summary>Idempotency keys are per owner: another owner's equal key is a new request.</summary>
    [Fact]
    public async Task TryCreateAsync_SameKeyOtherOwner_IsIndependent()
    {
        var store = await StoreAsync();
        await store.TryCreateAsync(ConformanceJobs.New(owner: "alice", idempotencyKey: "k1"), None);

        var result = await store.TryCreateAsync(ConformanceJobs.New(owner: "bob", modelId: "model-2", idempotencyKey: "k1"), None);

        Assert.Equal(CreateJobOutcome.Created, result.Outcome);
    }

    /// <summary>A model claimed by a pending or processing job refuses a second job, whoever asks.</summary>
    [Theory]
    [InlineData(DeploymentStatus.Pending)]
    [InlineData(DeploymentStatus.Processing)]
    public async Task TryCreateAsync_ModelClaimedByUnfinishedJob_IsInProgress(DeploymentStatus claimantStatus)
    {
        var store = await StoreAsync();
        var claimant = ConformanceJobs.New();
        await store.TryCreateAsync(claimant, None);
        if (claimantStatus == DeploymentStatus.Processing)
        {
            Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(claimant, DeploymentStatus.Processing), None));
        }

        var second = ConformanceJobs.New(owner: "bob", idempotencyKey: "other");
        var result = await store.TryCreateAsync(second, None);

        Assert.Equal(CreateJobOutcome.ModelInProgress, result.Outcome);
        Assert.Equal(claimant.Id, result.Existing?.Id);
        Assert.Null(await store.GetAsync(second.Id, None));
        Assert.Equal(0, (await store.ListAsync("bob", new DeploymentQuery(), None)).Total);
    }

    /// <summary>Of many concurrent creates for one model exactly one wins.</summary>
    [Fact]
    public async Task TryCreateAsync_ConcurrentCreatesForOneModel_ExactlyOneWins()
    {
        var store = await StoreAsync();
        var jobs = Enumerable.Range(0, 16).Select(i => ConformanceJobs.New(owner: "owner-" + i)).ToList();

        var results = await Task.WhenAll(jobs.Select(j => Task.Run(() => store.TryCreateAsync(j, None))));

        Assert.Single(results, r => r.Outcome == CreateJobOutcome.Created);
        Assert.All(results.Where(r => r.Outcome != CreateJobOutcome.Created), r => Assert.Equal(CreateJobOutcome.ModelInProgress, r.Outcome));
        var winner = jobs[Array.FindIndex(results, r => r.Outcome == CreateJobOutcome.Created)];
        Assert.Equal(winner.Id, await store.GetModelClaimAsync("model-1", None));
        Assert.All(jobs.Where(j => j != winner), j => Assert.Null(store.GetAsync(j.Id, None).GetAwaiter().GetResult()));
    }

    /// <summary>An update lands only on the stored version plus one; a stale writer changes nothing.</summary>
    [Fact]
    public async Task TryUpdateAsync_StaleOrSkippedVersion_IsRejected()
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New();
        await store.TryCreateAsync(job, None);
        var v2 = ConformanceJobs.Next(job, DeploymentStatus.Processing) with { Progress = 10 };

        Assert.True(await store.TryUpdateAsync(v2, None));
        Assert.False(await store.TryUpdateAsync(v2 with { Progress = 20 }, None));
        Assert.False(await store.TryUpdateAsync(v2 with { Version = 4, Progress = 30 }, None));

        var read = await store.GetAsync(job.Id, None);
        Assert.Equal(2, read?.Version);
        Assert.Equal(10, read?.Progress);
        Assert.Equal(DeploymentStatus.Processing, read?.Status);
    }

    /// <summary>Updating a job the store does not hold writes nothing.</summary>
    [Fact]
    public async Task TryUpdateAsync_UnknownJob_IsRejected()
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New();

        Assert.False(await store.TryUpdateAsync(ConformanceJobs.Next(job, DeploymentStatus.Processing), None));
        Assert.Null(await store.GetAsync(job.Id, None));
    }

    /// <summary>Of concurrent writers of the same version exactly one succeeds.</summary>
    [Fact]
    public async Task TryUpdateAsync_ConcurrentWritersOfOneVersion_ExactlyOneWins()
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New();
        await store.TryCreateAsync(job, None);

        var results = await Task.WhenAll(Enumerable.Range(1, 12).Select(i =>
            Task.Run(() => store.TryUpdateAsync(ConformanceJobs.Next(job, DeploymentStatus.Processing) with { Progress = i }, None))));

        Assert.Single(results, r => r);
    }

    /// <summary>The engine's read returns the raw bytes of a persisted signed transaction.</summary>
    [Fact]
    public async Task GetAsync_PersistedTransaction_KeepsRawBytes()
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New();
        await store.TryCreateAsync(job, None);
        var sent = new SentTransaction("0x" + new string('a', 64), "0x02f8" + new string('b', 200), 7);
        var v2 = ConformanceJobs.Next(job, DeploymentStatus.Processing) with { Transactions = new JobTransactions { TokenDeployment = sent } };

        Assert.True(await store.TryUpdateAsync(v2, None));

        var read = await store.GetAsync(job.Id, None);
        Assert.Equal(sent, read?.Transactions.TokenDeployment);
        Assert.Equal(sent.Hash, (await store.GetSummaryAsync(job.Id, None))?.Transactions.TokenDeployment?.Hash);
    }

    /// <summary>A completed job keeps its model's claim: a later job for the model is refused as already deployed.</summary>
    [Fact]
    public async Task TryUpdateAsync_Completed_KeepsClaim()
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New();
        await store.TryCreateAsync(job, None);
        var processing = ConformanceJobs.Next(job, DeploymentStatus.Processing);
        Assert.True(await store.TryUpdateAsync(processing, None));
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(processing, DeploymentStatus.Completed), None));

        var result = await store.TryCreateAsync(ConformanceJobs.New(owner: "bob"), None);

        Assert.Equal(CreateJobOutcome.ModelAlreadyDeployed, result.Outcome);
        Assert.Equal(job.Id, result.Existing?.Id);
        Assert.Equal(job.Id, await store.GetModelClaimAsync("model-1", None));
        Assert.Equal(DeploymentStatus.Completed, (await store.GetAsync(job.Id, None))?.Status);
    }

    /// <summary>A failed or cancelled job releases its model: the next job for it is created.</summary>
    [Theory]
    [InlineData(DeploymentStatus.Failed)]
    [InlineData(DeploymentStatus.Cancelled)]
    public async Task TryUpdateAsync_FailedOrCancelled_ReleasesClaim(DeploymentStatus final)
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New();
        await store.TryCreateAsync(job, None);
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(job, final), None));

        Assert.Null(await store.GetModelClaimAsync("model-1", None));
        var retry = ConformanceJobs.New(createdAt: ConformanceJobs.Epoch.AddMinutes(1));
        Assert.Equal(CreateJobOutcome.Created, (await store.TryCreateAsync(retry, None)).Outcome);
        Assert.Equal(retry.Id, await store.GetModelClaimAsync("model-1", None));
        Assert.Equal(final, (await store.GetAsync(job.Id, None))?.Status);
    }

    /// <summary>The idempotency key of a failed job still replays it (the caller sees the failure, not a second job).</summary>
    [Fact]
    public async Task TryCreateAsync_KeyOfFailedJob_ReplaysIt()
    {
        var store = await StoreAsync();
        var job = ConformanceJobs.New(idempotencyKey: "k1");
        await store.TryCreateAsync(job, None);
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(job, DeploymentStatus.Failed), None));

        var result = await store.TryCreateAsync(ConformanceJobs.New(idempotencyKey: "k1"), None);

        Assert.Equal(CreateJobOutcome.IdempotentReplay, result.Outcome);
        Assert.Equal(job.Id, result.Existing?.Id);
    }

    /// <summary>A final job is kept for the retention period and then is gone; an unfinished one never expires.</summary>
    [Fact]
    public async Task TryUpdateAsync_Final_JobExpiresAfterRetention()
    {
        var store = await StoreAsync();
        var finished = ConformanceJobs.New(modelId: "finished");
        var unfinished = ConformanceJobs.New(modelId: "unfinished");
        await store.TryCreateAsync(finished, None);
        await store.TryCreateAsync(unfinished, None);
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(finished, DeploymentStatus.Failed), None));
        Assert.NotNull(await store.GetAsync(finished.Id, None));

        await PassTimeAsync(Retention + TimeSpan.FromSeconds(1));

        // Expiry may be carried out by the backend a little after it is due: wait for it, boundedly.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await store.GetAsync(finished.Id, None) is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Null(await store.GetAsync(finished.Id, None));
        Assert.Equal(0, (await store.ListAsync("alice", new DeploymentQuery(ModelId: "finished"), None)).Total);
        Assert.Equal(unfinished.Id, (await store.GetAsync(unfinished.Id, None))?.Id);
    }

    /// <summary>Listing is per owner, newest first, paged, with a total over all pages.</summary>
    [Fact]
    public async Task ListAsync_ManyJobs_PagesNewestFirstWithTotal()
    {
        var store = await StoreAsync();
        var jobs = new List<DeploymentJob>();
        for (var i = 0; i < 7; i++)
        {
            var job = ConformanceJobs.New(modelId: "model-" + i, createdAt: ConformanceJobs.Epoch.AddSeconds(i));
            jobs.Add(job);
            await store.TryCreateAsync(job, None);
        }

        await store.TryCreateAsync(ConformanceJobs.New(owner: "bob", modelId: "bobs"), None);

        var page1 = await store.ListAsync("alice", new DeploymentQuery(Page: 1, Limit: 3), None);
        var page3 = await store.ListAsync("alice", new DeploymentQuery(Page: 3, Limit: 3), None);
        var beyond = await store.ListAsync("alice", new DeploymentQuery(Page: 4, Limit: 3), None);

        Assert.Equal(7, page1.Total);
        Assert.Equal([jobs[6].Id, jobs[5].Id, jobs[4].Id], page1.Items.Select(j => j.Id));
        Assert.Equal([jobs[0].Id], page3.Items.Select(j => j.Id));
        Assert.Empty(beyond.Items);
        Assert.Equal(7, beyond.Total);
        Assert.Equal(0, (await store.ListAsync("carol", new DeploymentQuery(), None)).Total);
    }

    /// <summary>A page size above the maximum is clamped to it.</summary>
    [Fact]
    public async Task ListAsync_LimitAboveMax_IsClamped()
    {
        var store = await StoreAsync();
        for (var i = 0; i < DeploymentQuery.MaxLimit + 2; i++)
        {
            await store.TryCreateAsync(ConformanceJobs.New(modelId: "model-" + i, createdAt: ConformanceJobs.Epoch.AddSeconds(i)), None);
        }

        var page = await store.ListAsync("alice", new DeploymentQuery(Limit: 5000), None);

        Assert.Equal(DeploymentQuery.MaxLimit, page.Items.Count);
        Assert.Equal(DeploymentQuery.MaxLimit + 2, page.Total);
    }

    /// <summary>Status and model filters apply to the items and the total, and a status change moves a job between filters.</summary>
    [Fact]
    public async Task ListAsync_StatusAndModelFilters_ApplyToItemsAndTotal()
    {
        var store = await StoreAsync();
        var a = ConformanceJobs.New(modelId: "model-a", createdAt: ConformanceJobs.Epoch.AddSeconds(1));
        var b = ConformanceJobs.New(modelId: "model-b", createdAt: ConformanceJobs.Epoch.AddSeconds(2));
        var c = ConformanceJobs.New(modelId: "model-c", createdAt: ConformanceJobs.Epoch.AddSeconds(3));
        foreach (var job in new[] { a, b, c })
        {
            await store.TryCreateAsync(job, None);
        }

        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(b, DeploymentStatus.Failed), None));

        var pending = await store.ListAsync("alice", new DeploymentQuery(Status: DeploymentStatus.Pending), None);
        var failed = await store.ListAsync("alice", new DeploymentQuery(Status: DeploymentStatus.Failed), None);
        var byModel = await store.ListAsync("alice", new DeploymentQuery(ModelId: "model-c"), None);
        var both = await store.ListAsync("alice", new DeploymentQuery(Status: DeploymentStatus.Failed, ModelId: "model-c"), None);

        Assert.Equal([c.Id, a.Id], pending.Items.Select(j => j.Id));
        Assert.Equal(2, pending.Total);
        Assert.Equal([b.Id], failed.Items.Select(j => j.Id));
        Assert.Equal(DeploymentStatus.Failed, failed.Items[0].Status);
        Assert.Equal([c.Id], byModel.Items.Select(j => j.Id));
        Assert.Equal(1, byModel.Total);
        Assert.Empty(both.Items);
        Assert.Equal(0, both.Total);
    }

    /// <summary>Unfinished means pending or processing; a final job leaves the set.</summary>
    [Fact]
    public async Task GetUnfinishedAsync_PendingAndProcessing_AreListedFinalAreNot()
    {
        var store = await StoreAsync();
        var pending = ConformanceJobs.New(modelId: "p");
        var processing = ConformanceJobs.New(modelId: "r");
        var completed = ConformanceJobs.New(modelId: "c");
        var cancelled = ConformanceJobs.New(modelId: "x");
        foreach (var job in new[] { pending, processing, completed, cancelled })
        {
            await store.TryCreateAsync(job, None);
        }

        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(processing, DeploymentStatus.Processing), None));
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(completed, DeploymentStatus.Completed), None));
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(cancelled, DeploymentStatus.Cancelled), None));

        var unfinished = await store.GetUnfinishedAsync(None);

        Assert.Equal(new[] { pending.Id, processing.Id }.Order(), unfinished.Order());
    }

    /// <summary>Counts follow every status change.</summary>
    [Fact]
    public async Task CountByStatusAsync_AfterTransitions_CountsEachStatus()
    {
        var store = await StoreAsync();
        var empty = await store.CountByStatusAsync(None);
        Assert.All(Enum.GetValues<DeploymentStatus>(), s => Assert.Equal(0, empty.GetValueOrDefault(s)));
        var jobs = Enumerable.Range(0, 5).Select(i => ConformanceJobs.New(modelId: "model-" + i)).ToList();
        foreach (var job in jobs)
        {
            await store.TryCreateAsync(job, None);
        }

        var processing = ConformanceJobs.Next(jobs[0], DeploymentStatus.Processing);
        Assert.True(await store.TryUpdateAsync(processing, None));
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(processing, DeploymentStatus.Completed), None));
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(jobs[1], DeploymentStatus.Processing), None));
        Assert.True(await store.TryUpdateAsync(ConformanceJobs.Next(jobs[2], DeploymentStatus.Failed), None));

        var counts = await store.CountByStatusAsync(None);

        Assert.Equal(2, counts.GetValueOrDefault(DeploymentStatus.Pending));
        Assert.Equal(1, counts.GetValueOrDefault(DeploymentStatus.Processing));
        Assert.Equal(1, counts.GetValueOrDefault(DeploymentStatus.Completed));
        Assert.Equal(1, counts.GetValueOrDefault(DeploymentStatus.Failed));
        Assert.Equal(0, counts.GetValueOrDefault(DeploymentStatus.Cancelled));
    }
}
