namespace Hokusai.Contracts.Backends;

/// <summary>
/// Persists deployment jobs, the caller's index, idempotency keys and the per-model claim.
/// The in-memory default serves one process; the Redis package shares it across replicas.
/// Implementations throw <see cref="StoreUnavailableException"/> when their backend cannot be reached.
/// </summary>
public interface IDeploymentStore
{
    /// <summary>
    /// Atomically: replays an existing job for the same owner and idempotency key; otherwise claims
    /// the job's model id and stores the job. Nothing is written unless the outcome is
    /// <see cref="CreateJobOutcome.Created"/>.
    /// </summary>
    Task<CreateJobResult> TryCreateAsync(DeploymentJob job, CancellationToken cancellationToken);

    /// <summary>Reads a job, or null when unknown or expired; with its signed transactions' raw bytes (the engine's read).</summary>
    Task<DeploymentJob?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Reads a job for status, listing and cancellation: like <see cref="GetAsync"/>, but a store may leave the
    /// signed transactions' raw bytes out (<see cref="SentTransaction.RawTransaction"/> empty), since only the
    /// engine re-broadcasts them. Never pass such a job to <see cref="TryUpdateAsync"/> expecting raw bytes to change.
    /// </summary>
    Task<DeploymentJob?> GetSummaryAsync(Guid id, CancellationToken cancellationToken) => GetAsync(id, cancellationToken);

    /// <summary>
    /// Replaces a job when the stored version equals <paramref name="job"/>'s version minus one.
    /// Returns false (and writes nothing) when another writer got there first. A job entering a final
    /// status starts its retention period; a failed or cancelled job releases its model claim,
    /// a completed one keeps it.
    /// </summary>
    Task<bool> TryUpdateAsync(DeploymentJob job, CancellationToken cancellationToken);

    /// <summary>Lists the owner's jobs, newest first, in O(page): items come without raw transaction bytes (as <see cref="GetSummaryAsync"/>).</summary>
    Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken);

    /// <summary>The id of the job that currently claims <paramref name="modelId"/>, if any.</summary>
    Task<Guid?> GetModelClaimAsync(string modelId, CancellationToken cancellationToken);

    /// <summary>Ids of jobs that are pending or processing (used to resume after a restart).</summary>
    Task<IReadOnlyList<Guid>> GetUnfinishedAsync(CancellationToken cancellationToken);

    /// <summary>Counts jobs by status (for health and metrics).</summary>
    Task<IReadOnlyDictionary<DeploymentStatus, long>> CountByStatusAsync(CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IDeploymentStore.TryCreateAsync"/>.</summary>
public enum CreateJobOutcome
{
    /// <summary>The job was stored and the model claimed.</summary>
    Created,
    /// <summary>The owner already used this idempotency key with the same body; <see cref="CreateJobResult.Existing"/> is that job.</summary>
    IdempotentReplay,
    /// <summary>The owner already used this idempotency key with another body.</summary>
    IdempotencyKeyReused,
    /// <summary>Another job for the model is pending or processing.</summary>
    ModelInProgress,
    /// <summary>A completed job already deployed the model's token.</summary>
    ModelAlreadyDeployed,
}

/// <summary>Result of <see cref="IDeploymentStore.TryCreateAsync"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Existing">The replayed or conflicting job, when known.</param>
public sealed record CreateJobResult(CreateJobOutcome Outcome, DeploymentJob? Existing = null);
