using System.Numerics;
using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.Core.Tests.Jobs;

public sealed class DeploymentEngineTests
{
    [Fact]
    public async Task Engine_AcceptedJobWithSupply_CompletesWithTokenRegisteredAndMinted()
    {
        await using var h = EngineHarness.Create();
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(supply: 1000), default)).Job!;

        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(100, done.Progress);
        var details = done.TokenDetails!;
        Assert.Equal(h.Chain.Registry["model-1"], details.TokenAddress);
        Assert.NotNull(details.MintTransactionHash);
        Assert.Equal(31337, details.ChainId);
        Assert.Equal("1000000", details.GasUsed);
        Assert.Equal(new BigInteger(1000), h.Chain.Balances["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]);
        Assert.Equal(
            [DeploymentStep.Queued, DeploymentStep.DeployingToken, DeploymentStep.RegisteringModel, DeploymentStep.MintingTokens, DeploymentStep.Confirming, DeploymentStep.Done],
            done.History.Select(e => e.Step));
    }

    [Fact]
    public async Task Engine_NoSupply_SkipsMinting()
    {
        await using var h = EngineHarness.Create();
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;

        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Null(done.TokenDetails!.MintTransactionHash);
        Assert.DoesNotContain(done.History, e => e.Step == DeploymentStep.MintingTokens);
    }

    [Fact]
    public async Task Engine_TransientFailures_RetriesAndCompletes()
    {
        var chain = new FakeChainClient { TransientFailuresLeft = 3 };
        await using var h = EngineHarness.Create(chain: chain);
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;

        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(1, chain.TokensDeployed);
    }

    [Fact]
    public async Task Engine_TransientFailuresOutlastRetriesBeforeAnythingWasSent_FailsRetryable()
    {
        var chain = new FakeChainClient { TransientFailuresLeft = 1000 };
        await using var h = EngineHarness.Create(o => o.Jobs.MaxAttempts = 3, chain);
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;

        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Failed, done.Status);
        Assert.Equal(ErrorCodes.BlockchainUnavailable, done.Error!.Code);
        Assert.True(done.Error.Retryable);
        Assert.Null(await h.Store.GetModelClaimAsync("model-1", default));
    }

    [Fact]
    public async Task Engine_RegistrationReverts_FailsWithReasonAndCode()
    {
        var chain = new FakeChainClient { RevertRegistrationWith = "OwnableUnauthorizedAccount" };
        await using var h = EngineHarness.Create(chain: chain);
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;

        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Failed, done.Status);
        Assert.Equal(ErrorCodes.DeployerNotAuthorized, done.Error!.Code);
        Assert.Contains("OwnableUnauthorizedAccount", done.Error.Message, StringComparison.Ordinal);
        Assert.False(done.Error.Retryable);
        Assert.NotEmpty(done.Error.Suggestions);
    }

    [Fact]
    public async Task Engine_ModelRegisteredOnChainAfterAcceptance_FailsWithoutDeploying()
    {
        var chain = new FakeChainClient();
        await using var h = EngineHarness.Create(chain: chain);
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;
        chain.Registry["model-1"] = "0x00000000000000000000000000000000000000AA";
        await h.StartAsync();

        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal());

        Assert.Equal(ErrorCodes.TokenAlreadyExists, done.Error!.Code);
        Assert.Equal(0, chain.TokensDeployed);
    }

    [Fact]
    public async Task Engine_RestartWithStoredButForgottenDeployment_RebroadcastsSameTransaction()
    {
        var chain = new FakeChainClient { HoldReceipts = true };
        var store = new Hokusai.Contracts.InMemory.InMemoryDeploymentStore(
            Microsoft.Extensions.Options.Options.Create(new HokusaiContractsOptions()), TimeProvider.System);
        Guid id;
        string firstHash;
        await using (var first = EngineHarness.Create(chain: chain, store: store))
        {
            await first.StartAsync();
            id = (await first.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!.Id;
            var sent = await first.WaitForAsync(id, j => j.Transactions.TokenDeployment is not null);
            firstHash = sent.Transactions.TokenDeployment!.Hash;
        }

        // The node lost the pending transaction while the service was down.
        chain.Forget(firstHash);
        chain.HoldReceipts = false;
        await using var second = EngineHarness.Create(chain: chain, store: store);
        await second.StartAsync();

        var done = await second.WaitForAsync(id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(firstHash, done.TokenDetails!.TransactionHash);
        Assert.Equal(1, chain.TokensDeployed);
        Assert.True(done.Attempts >= 2);
    }

    [Fact]
    public async Task Engine_RestartAfterDeploymentMined_ContinuesWithoutSecondDeployment()
    {
        var chain = new FakeChainClient { HoldReceipts = true };
        var store = new Hokusai.Contracts.InMemory.InMemoryDeploymentStore(
            Microsoft.Extensions.Options.Options.Create(new HokusaiContractsOptions()), TimeProvider.System);
        Guid id;
        await using (var first = EngineHarness.Create(chain: chain, store: store))
        {
            await first.StartAsync();
            id = (await first.Service.SubmitAsync(EngineHarness.Submission(supply: 7), default)).Job!.Id;
            await first.WaitForAsync(id, j => j.Transactions.TokenDeployment is not null);
        }

        chain.MineAll();
        chain.HoldReceipts = false;
        await using var second = EngineHarness.Create(chain: chain, store: store);
        await second.StartAsync();

        var done = await second.WaitForAsync(id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(1, chain.TokensDeployed);
        Assert.Equal(new BigInteger(7), chain.Balances["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]);
    }

    [Fact]
    public async Task Engine_StoredTransactionWhoseNonceWasTaken_PreparesAFreshOne()
    {
        var chain = new FakeChainClient { HoldReceipts = true };
        var store = new Hokusai.Contracts.InMemory.InMemoryDeploymentStore(
            Microsoft.Extensions.Options.Options.Create(new HokusaiContractsOptions()), TimeProvider.System);
        Guid id;
        SentTransaction stale;
        await using (var first = EngineHarness.Create(chain: chain, store: store))
        {
            await first.StartAsync();
            id = (await first.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!.Id;
            stale = (await first.WaitForAsync(id, j => j.Transactions.TokenDeployment is not null)).Transactions.TokenDeployment!;
        }

        chain.Forget(stale.Hash);
        chain.ConsumeNoncesUpTo(stale.Nonce);
        chain.HoldReceipts = false;
        await using var second = EngineHarness.Create(chain: chain, store: store);
        await second.StartAsync();

        var done = await second.WaitForAsync(id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.NotEqual(stale.Hash, done.TokenDetails!.TransactionHash);
        Assert.Equal(1, chain.TokensDeployed);
    }

    [Fact]
    public async Task Engine_ManyJobs_AllCompleteWithOneTokenEach()
    {
        await using var h = EngineHarness.Create(o => { o.Quotas.PerHour = 100; o.Quotas.PerDay = 100; o.Jobs.MaxConcurrency = 4; });
        await h.StartAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 30; i++)
        {
            ids.Add((await h.Service.SubmitAsync(EngineHarness.Submission($"bulk-{i}"), default)).Job!.Id);
        }

        foreach (var id in ids)
        {
            Assert.Equal(DeploymentStatus.Completed, (await h.WaitForAsync(id, j => j.Status.IsFinal())).Status);
        }

        Assert.Equal(30, h.Chain.TokensDeployed);
        Assert.Equal(30, h.Chain.Registry.Count);
    }

    [Fact]
    public async Task Engine_Stopped_ParksInFlightJobAsProcessing()
    {
        var chain = new FakeChainClient { HoldReceipts = true };
        var h = EngineHarness.Create(chain: chain);
        await h.StartAsync();
        var id = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!.Id;
        await h.WaitForAsync(id, j => j.Transactions.TokenDeployment is not null);

        await h.StopAsync();

        var parked = await h.Store.GetAsync(id, default);
        Assert.Equal(DeploymentStatus.Processing, parked!.Status);
        Assert.Equal(DeploymentStep.DeployingToken, parked.Step);
        Assert.Equal(0, h.Engine.InFlight);
        await h.DisposeAsync();
    }
}

public sealed class DeploymentEngineReceiptTimeoutTests
{
    [Fact]
    public async Task Engine_NodeDropsPendingTransaction_RebroadcastsAfterReceiptTimeoutAndCompletes()
    {
        var chain = new FakeChainClient { HoldReceipts = true };
        await using var h = EngineHarness.Create(o => o.Jobs.ReceiptTimeout = TimeSpan.FromMilliseconds(200), chain);
        await h.StartAsync();
        var id = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!.Id;
        var sent = (await h.WaitForAsync(id, j => j.Transactions.TokenDeployment is not null)).Transactions.TokenDeployment!;
        var broadcastsBefore = chain.Broadcasts;

        chain.Forget(sent.Hash);
        chain.HoldReceipts = false;
        var done = await h.WaitForAsync(id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(sent.Hash, done.TokenDetails!.TransactionHash);
        Assert.True(chain.Broadcasts > broadcastsBefore);
        Assert.Equal(1, chain.TokensDeployed);
    }
}

public sealed class DeploymentEngineNonceTests
{
    [Fact]
    public async Task Engine_TransactionCannotBePersisted_GivesItsNonceBackInsteadOfResyncing()
    {
        var chain = new FakeChainClient();
        var store = new FailingOnceStore(new Hokusai.Contracts.InMemory.InMemoryDeploymentStore(
            Microsoft.Extensions.Options.Options.Create(new HokusaiContractsOptions()), TimeProvider.System));
        await using var h = EngineHarness.Create(chain: chain, store: store);
        await h.StartAsync();
        var id = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!.Id;

        var done = await h.WaitForAsync(id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Single(chain.Released);
        // The only resync is the one every new signer owner does before it signs anything.
        Assert.Equal(1, chain.Resyncs);
        Assert.Equal(chain.Released[0], done.Transactions.TokenDeployment!.Nonce);
    }

    /// <summary>Fails the first write that carries a token deployment transaction, as a Redis timeout would.</summary>
    private sealed class FailingOnceStore(IDeploymentStore inner) : IDeploymentStore
    {
        private int _failed;

        public Task<bool> TryUpdateAsync(DeploymentJob job, CancellationToken cancellationToken) =>
            job.Transactions.TokenDeployment is not null && Interlocked.Exchange(ref _failed, 1) == 0
                ? throw new StoreUnavailableException("simulated timeout")
                : inner.TryUpdateAsync(job, cancellationToken);

        public Task<CreateJobResult> TryCreateAsync(DeploymentJob job, CancellationToken cancellationToken) => inner.TryCreateAsync(job, cancellationToken);
        public Task<DeploymentJob?> GetAsync(Guid id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);
        public Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken) => inner.ListAsync(owner, query, cancellationToken);
        public Task<Guid?> GetModelClaimAsync(string modelId, CancellationToken cancellationToken) => inner.GetModelClaimAsync(modelId, cancellationToken);
        public Task<IReadOnlyList<Guid>> GetUnfinishedAsync(CancellationToken cancellationToken) => inner.GetUnfinishedAsync(cancellationToken);
        public Task<IReadOnlyDictionary<DeploymentStatus, long>> CountByStatusAsync(CancellationToken cancellationToken) => inner.CountByStatusAsync(cancellationToken);
    }
}
