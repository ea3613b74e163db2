using Hokusai.Contracts.Backends;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Core.Tests.Jobs;

public sealed class DeploymentEngineLeaseTests
{
    [Fact]
    public async Task Engine_LeaseRegainedWithSameFencingToken_ResyncsNonceBeforeSigning()
    {
        var leases = new SameTokenLeases();
        var chain = new FakeChainClient();
        await using var h = EngineHarness.Create(chain: chain, leases: leases);
        await h.StartAsync();
        var first = (await h.Service.SubmitAsync(EngineHarness.Submission("model-a"), default)).Job!;
        Assert.Equal(DeploymentStatus.Completed, (await h.WaitForAsync(first.Id, j => j.Status.IsFinal())).Status);

        // Redis lost its data: the lease vanished, another replica signed in between, and the fencing
        // counter started again, so this process gets the token it held before.
        chain.ConsumeNoncesUpTo(50);
        leases.LoseFirst();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref leases.Acquisitions) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(2, leases.Acquisitions);
        var second = (await h.Service.SubmitAsync(EngineHarness.Submission("model-b"), default)).Job!;
        var done = await h.WaitForAsync(second.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        // Signed with the chain's nonce the first time: no nonce conflict, no second run.
        Assert.Equal(1, done.Attempts);
        Assert.True(done.Transactions.TokenDeployment!.Nonce > 50, $"nonce {done.Transactions.TokenDeployment.Nonce}");
        // The sequence was forgotten when the key was taken, when it was lost, and when it was taken again.
        Assert.Equal(3, Volatile.Read(ref chain.Forgets));
    }

    [Fact]
    public async Task Engine_RpcDownWhileTakingTheKey_KeepsTheLeaseAndSignsOnceTheChainAnswers()
    {
        var leases = new SameTokenLeases();
        var chain = new FakeChainClient { ResyncFailures = 3 };
        await using var h = EngineHarness.Create(o => o.Jobs.InitialRetryDelay = TimeSpan.FromMilliseconds(20), chain: chain, leases: leases);
        await h.StartAsync();

        var job = (await h.Service.SubmitAsync(EngineHarness.Submission("model-a"), default)).Job!;
        var done = await h.WaitForAsync(job.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        // Three failed reads, then one that answered, all under the first lease: it was never dropped and taken again.
        Assert.Equal(1, leases.Acquisitions);
        Assert.Equal(1, chain.Resyncs);
        Assert.True(chain.ResyncFailures < 0);
    }

    [Fact]
    public async Task Engine_LeaseLostWithJobInFlight_HandsTheDeliveryBackInsteadOfHoldingIt()
    {
        var leases = new SameTokenLeases();
        var chain = new FakeChainClient { HoldReceipts = true };
        var queue = new CountingQueue();
        await using var h = EngineHarness.Create(chain: chain, leases: leases, queue: queue);
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;
        await h.WaitForAsync(job.Id, j => j.Transactions.TokenDeployment is not null);

        leases.LoseFirst();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref leases.Acquisitions) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        chain.HoldReceipts = false;
        chain.MineAll();
        Assert.Equal(DeploymentStatus.Completed, (await h.WaitForAsync(job.Id, j => j.Status.IsFinal())).Status);

        // A delivery left unacknowledged stays with its consumer (in Redis: a live one keeps it from
        // being reclaimed), so the parked one must have been handed back and acknowledged.
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (queue.Unacknowledged > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, queue.Unacknowledged);
        Assert.Equal(1, chain.TokensDeployed);
    }

    [Fact]
    public async Task Engine_LeaseLostToAnotherReplicaWhileJobAwaitsReceipt_HandsTheJobToTheKeyQueue()
    {
        // The key goes to another replica for good: nothing here re-queues the job, so only the hand-over can.
        var leases = new LostToAnotherReplicaLeases();
        var chain = new FakeChainClient { HoldReceipts = true };
        var queue = new CountingQueue();
        await using var h = EngineHarness.Create(chain: chain, leases: leases, queue: queue);
        await h.StartAsync();
        var job = (await h.Service.SubmitAsync(EngineHarness.Submission(), default)).Job!;
        await h.WaitForAsync(job.Id, j => j.Transactions.TokenDeployment is not null);
        var keyQueue = h.Provider.GetRequiredService<ISignerQueues>().GetQueue(job.SignerAddress ?? (await h.Store.GetAsync(job.Id, default))!.SignerAddress!);

        // The job's receipt wait ends inside the lease's cancellation callbacks: the parked job must still see the
        // key as handed over, or its delivery stays with this live consumer and nobody resumes the job.
        leases.LoseFirst();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var handed = await keyQueue.DequeueAsync(timeout.Token);

        Assert.NotNull(handed);
        Assert.Equal(job.Id, handed.JobId);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (queue.Unacknowledged > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, queue.Unacknowledged);
    }

    /// <summary>The in-memory queue, counting deliveries that were never acknowledged.</summary>
    private sealed class CountingQueue : IDeploymentQueue
    {
        private readonly Hokusai.Contracts.InMemory.InMemoryDeploymentQueue _inner = new();
        private int _unacknowledged;

        public int Unacknowledged => Volatile.Read(ref _unacknowledged);

        public bool IsDurable => _inner.IsDurable;

        public ValueTask EnqueueAsync(Guid jobId, CancellationToken cancellationToken) => _inner.EnqueueAsync(jobId, cancellationToken);

        public async ValueTask<QueueItem?> DequeueAsync(CancellationToken cancellationToken)
        {
            var item = await _inner.DequeueAsync(cancellationToken);
            if (item is not null)
            {
                Interlocked.Increment(ref _unacknowledged);
            }

            return item;
        }

        public ValueTask AcknowledgeAsync(QueueItem item, CancellationToken cancellationToken)
        {
            Interlocked.Decrement(ref _unacknowledged);
            return _inner.AcknowledgeAsync(item, cancellationToken);
        }

        public ValueTask<long> GetDepthAsync(CancellationToken cancellationToken) => _inner.GetDepthAsync(cancellationToken);
    }

    /// <summary>The first lease is lost on demand; after that another replica holds the key, so acquiring waits forever.</summary>
    private sealed class LostToAnotherReplicaLeases : ISignerLeaseManager
    {
        private readonly CancellationTokenSource _firstLost = new();
        private int _acquisitions;

        public void LoseFirst() => _firstLost.Cancel();

        public async ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _acquisitions) == 1)
            {
                return new Lease(1, _firstLost.Token);
            }

            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new OperationCanceledException(cancellationToken);
        }

        private sealed record Lease(long FencingToken, CancellationToken Lost) : ISignerLease
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>Hands out fencing token 1 every time; the first lease is lost on demand.</summary>
    private sealed class SameTokenLeases : ISignerLeaseManager
    {
        private readonly CancellationTokenSource _firstLost = new();
        public int Acquisitions;

        public void LoseFirst() => _firstLost.Cancel();

        public ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ISignerLease>(new Lease(1, Interlocked.Increment(ref Acquisitions) == 1 ? _firstLost.Token : CancellationToken.None));

        private sealed record Lease(long FencingToken, CancellationToken Lost) : ISignerLease
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
