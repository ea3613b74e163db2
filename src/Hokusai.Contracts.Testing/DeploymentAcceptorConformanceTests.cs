using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.Testing;

/// <summary>
/// The documented contract of <see cref="IDeploymentAcceptor"/>: the order of its decisions (idempotency key, model
/// claim, on-chain answer, quota) and "nothing is written unless accepted". Derive in a test project and return a
/// fresh backend from <see cref="CreateAcceptorAsync"/>.
/// </summary>
public abstract class DeploymentAcceptorConformanceTests : IAsyncLifetime
{
    private const string OnChainToken = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    /// <summary>Cancellation for every call.</summary>
    protected static CancellationToken None => CancellationToken.None;

    /// <summary>
    /// A fresh acceptor with the store and queue it writes to, empty and isolated from every other backend this class
    /// creates, with quotas of <paramref name="perHour"/> and <paramref name="perDay"/> accepted deployments per caller.
    /// </summary>
    /// <param name="perHour">Hourly quota per caller.</param>
    /// <param name="perDay">Daily quota per caller.</param>
    /// <returns>The backend under test.</returns>
    protected abstract Task<AcceptorUnderTest> CreateAcceptorAsync(int perHour, int perDay);

    /// <inheritdoc/>
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>An accepted job is stored, claims its model, takes a quota unit and is queued.</summary>
    [Fact]
    public async Task AcceptAsync_NewJob_StoresClaimsCountsAndQueues()
    {
        var backend = await CreateAcceptorAsync(5, 20);
        var job = ConformanceJobs.New(idempotencyKey: "k1");

        var result = await backend.Acceptor.AcceptAsync(job, null, None);

        Assert.Equal(AcceptOutcome.Accepted, result.Outcome);
        Assert.True(result.Queued);
        Assert.NotNull(result.Quota);
        Assert.True(result.Quota.Allowed);
        Assert.Equal(5, result.Quota.Limit);
        Assert.Equal(4, result.Quota.Remaining);
        Assert.Equal(job.Id, (await backend.Store.GetAsync(job.Id, None))?.Id);
        Assert.Equal(job.Id, await backend.Store.GetModelClaimAsync(job.Request.ModelId, None));
        Assert.Equal(1, await backend.Queue.GetDepthAsync(None));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var item = await backend.Queue.DequeueAsync(timeout.Token);
        Assert.Equal(job.Id, item?.JobId);
    }

    /// <summary>
    /// The owner's key on the model's claimant replays it (same body) or is reused (another body), before the registry's
    /// answer and the quota are consulted.
    /// </summary>
    [Fact]
    public async Task AcceptAsync_KeyOfClaimant_ReplaysOrIsReusedBeforeRegistryAndQuota()
    {
        var backend = await CreateAcceptorAsync(1, 1);
        var first = ConformanceJobs.New(idempotencyKey: "k1");
        Assert.Equal(AcceptOutcome.Accepted, (await backend.Acceptor.AcceptAsync(first, null, None)).Outcome);

        var replay = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(idempotencyKey: "k1"), OnChainToken, None);
        var reused = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(idempotencyKey: "k1", requestHash: "body-2"), OnChainToken, None);

        Assert.Equal(AcceptOutcome.IdempotentReplay, replay.Outcome);
        Assert.Equal(first.Id, replay.Existing?.Id);
        Assert.Equal(AcceptOutcome.IdempotencyKeyReused, reused.Outcome);
        Assert.Equal(1, await backend.Queue.GetDepthAsync(None));
        Assert.Equal(1, (await backend.Store.ListAsync("alice", new DeploymentQuery(), None)).Total);
    }

    /// <summary>
    /// The owner's key used for another model (or for a job that no longer claims its model) is answered by the
    /// store's create, after the registry and the quota, and takes no quota unit.
    /// </summary>
    [Fact]
    public async Task AcceptAsync_KeyUsedForAnotherModel_ReplaysOrIsReusedWithoutTakingQuota()
    {
        var backend = await CreateAcceptorAsync(2, 20);
        var failed = ConformanceJobs.New(idempotencyKey: "k1");
        Assert.Equal(AcceptOutcome.Accepted, (await backend.Acceptor.AcceptAsync(failed, null, None)).Outcome);
        Assert.True(await backend.Store.TryUpdateAsync(ConformanceJobs.Next(failed, DeploymentStatus.Failed), None));

        var replay = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(idempotencyKey: "k1"), null, None);
        var reused = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "model-2", idempotencyKey: "k1", requestHash: "body-2"), null, None);
        var next = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "model-3"), null, None);

        Assert.Equal(AcceptOutcome.IdempotentReplay, replay.Outcome);
        Assert.Equal(failed.Id, replay.Existing?.Id);
        Assert.Equal(AcceptOutcome.IdempotencyKeyReused, reused.Outcome);
        Assert.Null(await backend.Store.GetModelClaimAsync("model-2", None));
        Assert.Equal(AcceptOutcome.Accepted, next.Outcome);
        Assert.Equal(0, next.Quota?.Remaining);
    }

    /// <summary>A model claimed by an unfinished job refuses another caller's job before the registry and quota are consulted.</summary>
    [Fact]
    public async Task AcceptAsync_ModelClaimedByUnfinishedJob_IsInProgressAndWritesNothing()
    {
        var backend = await CreateAcceptorAsync(5, 20);
        var claimant = ConformanceJobs.New();
        await backend.Acceptor.AcceptAsync(claimant, null, None);
        var second = ConformanceJobs.New(owner: "bob");

        var result = await backend.Acceptor.AcceptAsync(second, OnChainToken, None);

        Assert.Equal(AcceptOutcome.ModelInProgress, result.Outcome);
        Assert.Equal(claimant.Id, result.Existing?.Id);
        Assert.Null(await backend.Store.GetAsync(second.Id, None));
        Assert.Equal(1, await backend.Queue.GetDepthAsync(None));
    }

    /// <summary>A model deployed by a completed job is already deployed; one whose job failed is free again.</summary>
    [Fact]
    public async Task AcceptAsync_AfterCompletedOrFailedClaimant_IsAlreadyDeployedOrAccepted()
    {
        var backend = await CreateAcceptorAsync(10, 20);
        var completed = ConformanceJobs.New(modelId: "done");
        var failed = ConformanceJobs.New(modelId: "broken");
        await backend.Acceptor.AcceptAsync(completed, null, None);
        await backend.Acceptor.AcceptAsync(failed, null, None);
        Assert.True(await backend.Store.TryUpdateAsync(ConformanceJobs.Next(completed, DeploymentStatus.Completed), None));
        Assert.True(await backend.Store.TryUpdateAsync(ConformanceJobs.Next(failed, DeploymentStatus.Failed), None));

        var again = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(owner: "bob", modelId: "done"), null, None);
        var retry = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(owner: "bob", modelId: "broken"), null, None);

        Assert.Equal(AcceptOutcome.ModelAlreadyDeployed, again.Outcome);
        Assert.Equal(completed.Id, again.Existing?.Id);
        Assert.Equal(AcceptOutcome.Accepted, retry.Outcome);
    }

    /// <summary>A model the registry already maps to a token is refused before the quota, and nothing is written or counted.</summary>
    [Fact]
    public async Task AcceptAsync_TokenOnChain_IsRegisteredOnChainAndWritesNothing()
    {
        var backend = await CreateAcceptorAsync(1, 1);
        var job = ConformanceJobs.New(idempotencyKey: "k1");

        var result = await backend.Acceptor.AcceptAsync(job, OnChainToken, None);

        Assert.Equal(AcceptOutcome.RegisteredOnChain, result.Outcome);
        Assert.Null(await backend.Store.GetAsync(job.Id, None));
        Assert.Null(await backend.Store.GetModelClaimAsync(job.Request.ModelId, None));
        Assert.Equal(0, await backend.Queue.GetDepthAsync(None));
        // The key was not recorded and no quota unit was taken: the same key for another model is a fresh accept.
        Assert.Equal(AcceptOutcome.Accepted, (await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "model-2", idempotencyKey: "k1", requestHash: "body-2"), null, None)).Outcome);
    }

    /// <summary>Beyond the quota a job is refused with the quota's decision, and nothing is written.</summary>
    [Fact]
    public async Task AcceptAsync_QuotaUsedUp_IsQuotaExceededAndWritesNothing()
    {
        var backend = await CreateAcceptorAsync(2, 20);
        await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "m1"), null, None);
        await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "m2"), null, None);
        var third = ConformanceJobs.New(modelId: "m3", idempotencyKey: "k3");

        var result = await backend.Acceptor.AcceptAsync(third, null, None);
        var otherCaller = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(owner: "bob", modelId: "m4"), null, None);

        Assert.Equal(AcceptOutcome.QuotaExceeded, result.Outcome);
        Assert.NotNull(result.Quota);
        Assert.False(result.Quota.Allowed);
        Assert.Equal(0, result.Quota.Remaining);
        Assert.True(result.Quota.ResetAfter > TimeSpan.Zero);
        Assert.Null(await backend.Store.GetAsync(third.Id, None));
        Assert.Null(await backend.Store.GetModelClaimAsync("m3", None));
        Assert.Equal(AcceptOutcome.Accepted, otherCaller.Outcome);
        Assert.Equal(3, await backend.Queue.GetDepthAsync(None));
    }

    /// <summary>Refusals take no quota unit: after any number of them the caller's remaining quota is untouched.</summary>
    [Fact]
    public async Task AcceptAsync_Refusals_TakeNoQuotaUnit()
    {
        var backend = await CreateAcceptorAsync(2, 20);
        await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "m1", idempotencyKey: "k1"), null, None);
        for (var i = 0; i < 3; i++)
        {
            await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "m1"), null, None);
            await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "m1", idempotencyKey: "k1"), null, None);
            await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "chain-" + i), OnChainToken, None);
        }

        var last = await backend.Acceptor.AcceptAsync(ConformanceJobs.New(modelId: "m2"), null, None);

        Assert.Equal(AcceptOutcome.Accepted, last.Outcome);
        Assert.Equal(0, last.Quota?.Remaining);
    }

    /// <summary>Of concurrent accepts for one model exactly one is accepted and queued.</summary>
    [Fact]
    public async Task AcceptAsync_ConcurrentForOneModel_ExactlyOneAccepted()
    {
        var backend = await CreateAcceptorAsync(100, 100);
        var jobs = Enumerable.Range(0, 12).Select(i => ConformanceJobs.New(owner: "owner-" + i)).ToList();

        var results = await Task.WhenAll(jobs.Select(j => Task.Run(() => backend.Acceptor.AcceptAsync(j, null, None))));

        Assert.Single(results, r => r.Outcome == AcceptOutcome.Accepted);
        Assert.All(results.Where(r => r.Outcome != AcceptOutcome.Accepted), r => Assert.Equal(AcceptOutcome.ModelInProgress, r.Outcome));
        Assert.Equal(1, await backend.Queue.GetDepthAsync(None));
    }
}

/// <summary>The backend an <see cref="DeploymentAcceptorConformanceTests"/> test runs against.</summary>
/// <param name="Acceptor">The acceptor under test.</param>
/// <param name="Store">The store it writes jobs, claims and idempotency keys to.</param>
/// <param name="Queue">The queue it writes accepted jobs to.</param>
public sealed record AcceptorUnderTest(IDeploymentAcceptor Acceptor, IDeploymentStore Store, IDeploymentQueue Queue);
