using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.Testing;

/// <summary>
/// The documented contract of <see cref="IDeploymentQueue"/>: at-least-once delivery, acknowledgement, depth and
/// (for a durable queue) redelivery of what a crashed worker left unacknowledged. Derive in a test project and
/// return a fresh, empty queue from <see cref="CreateQueueAsync"/>.
/// </summary>
public abstract class DeploymentQueueConformanceTests : IAsyncLifetime
{
    /// <summary>How long a test waits for an item that should arrive (generous: CI machines are slow).</summary>
    protected static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Cancellation for calls the tests do not bound themselves.</summary>
    protected static CancellationToken None => CancellationToken.None;

    /// <summary>A fresh queue, empty and isolated from every other queue this class creates.</summary>
    /// <returns>The queue under test.</returns>
    protected abstract Task<IDeploymentQueue> CreateQueueAsync();

    /// <summary>
    /// The worker that dequeued from <paramref name="crashed"/> died without acknowledging: return a queue over the
    /// same backend as another process (replica or restart) sees it, which must redeliver the unacknowledged items.
    /// A queue that is not durable (<see cref="IDeploymentQueue.IsDurable"/> false) loses them with the process:
    /// return null (the default); the engine then re-queues unfinished jobs from the store.
    /// </summary>
    /// <param name="crashed">The queue whose worker died.</param>
    /// <returns>The surviving view of the queue, or null when the queue is not durable.</returns>
    protected virtual Task<IDeploymentQueue?> SurviveCrashAsync(IDeploymentQueue crashed) => Task.FromResult<IDeploymentQueue?>(null);

    /// <inheritdoc/>
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Dequeues one item within <see cref="DeliveryTimeout"/>, failing the test when none arrives.</summary>
    /// <param name="queue">The queue.</param>
    /// <returns>The item.</returns>
    protected static async Task<QueueItem> DequeueWithinTimeoutAsync(IDeploymentQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        using var timeout = new CancellationTokenSource(DeliveryTimeout);
        var item = await queue.DequeueAsync(timeout.Token);
        Assert.True(item is not null, $"no item delivered within {DeliveryTimeout}");
        return item;
    }

    /// <summary>An item is delivered with its job id and a first delivery count, and counts in the depth until acknowledged.</summary>
    [Fact]
    public async Task EnqueueDequeueAcknowledge_OneItem_DeliveredThenGone()
    {
        var queue = await CreateQueueAsync();
        var jobId = Guid.NewGuid();
        Assert.Equal(0, await queue.GetDepthAsync(None));

        await queue.EnqueueAsync(jobId, None);
        Assert.Equal(1, await queue.GetDepthAsync(None));
        var item = await DequeueWithinTimeoutAsync(queue);

        Assert.Equal(jobId, item.JobId);
        Assert.Equal(1, item.DeliveryCount);
        Assert.False(string.IsNullOrEmpty(item.DeliveryId));
        Assert.Equal(1, await queue.GetDepthAsync(None));
        await queue.AcknowledgeAsync(item, None);
        Assert.Equal(0, await queue.GetDepthAsync(None));
    }

    /// <summary>Every enqueued item is delivered, each once to one of several concurrent workers, none lost.</summary>
    [Fact]
    public async Task DequeueAsync_ConcurrentWorkers_DeliverEveryItemOnce()
    {
        var queue = await CreateQueueAsync();
        var ids = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await queue.EnqueueAsync(id, None);
        }

        var delivered = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        var remaining = ids.Count;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                var item = await DequeueWithinTimeoutAsync(queue);
                delivered.Add(item.JobId);
                await queue.AcknowledgeAsync(item, None);
            }
        }));
        await Task.WhenAll(workers);

        Assert.Equal(ids.Order(), delivered.Order());
        Assert.Equal(0, await queue.GetDepthAsync(None));
    }

    /// <summary>Items enqueued one after another are delivered in that order to a single worker.</summary>
    [Fact]
    public async Task DequeueAsync_SingleWorker_DeliversInEnqueueOrder()
    {
        var queue = await CreateQueueAsync();
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await queue.EnqueueAsync(id, None);
        }

        var delivered = new List<Guid>();
        for (var i = 0; i < ids.Count; i++)
        {
            var item = await DequeueWithinTimeoutAsync(queue);
            delivered.Add(item.JobId);
            await queue.AcknowledgeAsync(item, None);
        }

        Assert.Equal(ids, delivered);
    }

    /// <summary>A worker waiting on an empty queue gets an item enqueued while it waits.</summary>
    [Fact]
    public async Task DequeueAsync_WaitingWorker_GetsLaterItem()
    {
        var queue = await CreateQueueAsync();
        var jobId = Guid.NewGuid();

        var waiting = DequeueWithinTimeoutAsync(queue);
        await queue.EnqueueAsync(jobId, None);
        var item = await waiting;

        Assert.Equal(jobId, item.JobId);
        await queue.AcknowledgeAsync(item, None);
    }

    /// <summary>Cancelling a wait on an empty queue returns null instead of throwing.</summary>
    [Fact]
    public async Task DequeueAsync_CancelledOnEmptyQueue_ReturnsNull()
    {
        var queue = await CreateQueueAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var item = await queue.DequeueAsync(cancel.Token);

        Assert.Null(item);
    }

    /// <summary>
    /// A durable queue redelivers what a crashed worker never acknowledged, with a higher delivery count; a queue
    /// that is not durable says so (and the store's unfinished jobs stand in for its items).
    /// </summary>
    [Fact]
    public async Task DequeueAsync_UnacknowledgedItemOfCrashedWorker_IsRedeliveredWhenDurable()
    {
        var queue = await CreateQueueAsync();
        var jobId = Guid.NewGuid();
        await queue.EnqueueAsync(jobId, None);
        var first = await DequeueWithinTimeoutAsync(queue);

        var survivor = await SurviveCrashAsync(queue);

        Assert.Equal(queue.IsDurable, survivor is not null);
        if (survivor is null)
        {
            // Not durable: the item still counts as outstanding in this process until acknowledged.
            Assert.Equal(1, await queue.GetDepthAsync(None));
            return;
        }

        var again = await DequeueWithinTimeoutAsync(survivor);
        Assert.Equal(jobId, again.JobId);
        Assert.True(again.DeliveryCount > first.DeliveryCount, $"delivery count {again.DeliveryCount} after {first.DeliveryCount}");
        Assert.Equal(1, await survivor.GetDepthAsync(None));
        await survivor.AcknowledgeAsync(again, None);
        Assert.Equal(0, await survivor.GetDepthAsync(None));
    }
}
