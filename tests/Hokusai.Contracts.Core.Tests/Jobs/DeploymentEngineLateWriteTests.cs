using Hokusai.Contracts.Backends;
using Hokusai.Contracts.InMemory;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Core.Tests.Jobs;

public sealed class DeploymentEngineLateWriteTests
{
    [Fact]
    public async Task Engine_OwnEarlierWriteLandsLate_ResumesFromStoredStateAndCompletes()
    {
        var store = new LateWriteStore(new InMemoryDeploymentStore(Options.Create(new HokusaiContractsOptions()), TimeProvider.System));
        var chain = new FakeChainClient();
        await using var h = EngineHarness.Create(chain: chain, store: store);
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(supply: 1000), default)).Job!;

        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal(), timeoutMs: 5_000);

        Assert.True(store.Interferences >= LateWriteStore.Times, $"interfered {store.Interferences} times");
        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(1, chain.TokensDeployed);
        Assert.Equal(chain.Registry["model-1"], done.TokenDetails!.TokenAddress);
    }

    /// <summary>
    /// Before the engine saves the step after the token deployment, a write of the same job it sent earlier
    /// lands in the store (a progress save whose answer timed out while the store was unreachable, applied
    /// once it answered again): the stored version moves on and the engine's compare-and-swap fails.
    /// </summary>
    private sealed class LateWriteStore(IDeploymentStore inner) : IDeploymentStore
    {
        // More often than the job is delivered (a start-up re-queue may deliver it twice), so only
        // resuming, not a lucky duplicate delivery, completes it.
        public const int Times = 3;
        private int _interferences;

        public int Interferences => Volatile.Read(ref _interferences);

        public async Task<bool> TryUpdateAsync(DeploymentJob job, CancellationToken cancellationToken)
        {
            if (job.Step == DeploymentStep.RegisteringModel && job.Transactions.Registration is null && Interlocked.Increment(ref _interferences) <= Times)
            {
                var current = (await inner.GetAsync(job.Id, cancellationToken))!;
                Assert.True(await inner.TryUpdateAsync(current with { Version = current.Version + 1, StepDetail = "late progress" }, cancellationToken));
            }

            return await inner.TryUpdateAsync(job, cancellationToken);
        }

        public Task<CreateJobResult> TryCreateAsync(DeploymentJob job, CancellationToken cancellationToken) => inner.TryCreateAsync(job, cancellationToken);

        public Task<DeploymentJob?> GetAsync(Guid id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken) => inner.ListAsync(owner, query, cancellationToken);

        public Task<Guid?> GetModelClaimAsync(string modelId, CancellationToken cancellationToken) => inner.GetModelClaimAsync(modelId, cancellationToken);

        public Task<IReadOnlyList<Guid>> GetUnfinishedAsync(CancellationToken cancellationToken) => inner.GetUnfinishedAsync(cancellationToken);

        public Task<IReadOnlyDictionary<DeploymentStatus, long>> CountByStatusAsync(CancellationToken cancellationToken) => inner.CountByStatusAsync(cancellationToken);
    }
}
