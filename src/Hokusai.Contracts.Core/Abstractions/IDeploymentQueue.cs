namespace Hokusai.Contracts.Backends;

/// <summary>
/// Hands job ids to workers. Delivery is at least once: an item is redelivered until acknowledged,
/// and job processing is idempotent so a redelivery never produces a second token.
/// </summary>
#pragma warning disable CA1711 // It is a queue, and the name says so.
public interface IDeploymentQueue
{
    /// <summary>True when queued items survive a process restart (then no start-up re-scan is needed).</summary>
    bool IsDurable { get; }

    /// <summary>Queues a job id.</summary>
    ValueTask EnqueueAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>Waits for the next item; returns null when <paramref name="cancellationToken"/> is cancelled.</summary>
    ValueTask<QueueItem?> DequeueAsync(CancellationToken cancellationToken);

    /// <summary>Acknowledges an item once its job is final or safely parked.</summary>
    ValueTask AcknowledgeAsync(QueueItem item, CancellationToken cancellationToken);

    /// <summary>Items waiting or delivered but not yet acknowledged.</summary>
    ValueTask<long> GetDepthAsync(CancellationToken cancellationToken);
}

#pragma warning restore CA1711

/// <summary>A delivered queue item.</summary>
/// <param name="JobId">The job to process.</param>
/// <param name="DeliveryId">Backend id used to acknowledge (e.g. a stream entry id).</param>
/// <param name="DeliveryCount">1 on first delivery; more after a reclaim.</param>
public sealed record QueueItem(Guid JobId, string DeliveryId, int DeliveryCount);
