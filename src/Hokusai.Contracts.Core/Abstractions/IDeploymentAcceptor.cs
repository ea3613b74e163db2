namespace Hokusai.Contracts.Backends;

/// <summary>
/// Accepts a new job in one step: the owner's idempotency key, the model's claim, the on-chain answer, the
/// caller's quota windows, the job, its indexes and its queue entry. The default composes
/// <see cref="IDeploymentStore"/>, <see cref="IDeploymentQuota"/> and <see cref="IDeploymentQueue"/>; a backend
/// replaces it with one atomic operation (the Redis package: one script, one round trip).
/// </summary>
public interface IDeploymentAcceptor
{
    /// <summary>
    /// Decides, in this order: the model's claimant is the owner's job under the same idempotency key → replay (same
    /// body) or key reused (other body); model claimed by a pending or processing job → in progress, by a completed
    /// one → already deployed; <paramref name="tokenOnChain"/> set → already registered on chain; quota used up →
    /// rejected; then the store's atomic create answers the owner's key used for another job (replay or key reused,
    /// taking no quota unit) or a claim that appeared meanwhile; otherwise the job is stored, a quota unit taken and
    /// the job queued. Nothing is written unless the outcome is
    /// <see cref="AcceptOutcome.Accepted"/>.
    /// </summary>
    /// <param name="job">The new job (pending, version 1).</param>
    /// <param name="tokenOnChain">The token the registry already maps the model to, or null when none (or unknown).</param>
    /// <param name="cancellationToken">Cancels the wait (a write may still land; the idempotency key covers the retry).</param>
    Task<AcceptResult> AcceptAsync(DeploymentJob job, string? tokenOnChain, CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IDeploymentAcceptor.AcceptAsync"/>.</summary>
public enum AcceptOutcome
{
    /// <summary>Stored, counted and queued.</summary>
    Accepted,
    /// <summary>Same owner, idempotency key and body: <see cref="AcceptResult.Existing"/> is the earlier job.</summary>
    IdempotentReplay,
    /// <summary>Same owner and idempotency key, another body.</summary>
    IdempotencyKeyReused,
    /// <summary>Another job for the model is pending or processing.</summary>
    ModelInProgress,
    /// <summary>A completed job already deployed the model's token.</summary>
    ModelAlreadyDeployed,
    /// <summary>The registry already maps the model to a token the store does not know.</summary>
    RegisteredOnChain,
    /// <summary>The caller's quota is used up.</summary>
    QuotaExceeded,
}

/// <summary>Result of <see cref="IDeploymentAcceptor.AcceptAsync"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Existing">The replayed or conflicting job, when known.</param>
/// <param name="Quota">The quota decision, for <see cref="AcceptOutcome.Accepted"/> and <see cref="AcceptOutcome.QuotaExceeded"/>.</param>
/// <param name="Queued">False when the job was stored but could not be queued (the engine's recovery sweep queues it).</param>
public sealed record AcceptResult(AcceptOutcome Outcome, DeploymentJob? Existing = null, QuotaDecision? Quota = null, bool Queued = true);

/// <summary>
/// Answers "does the registry already map this model to a token?" for the accept path. The default is
/// <see cref="Mirror.RegistryMirror"/>: a local mirror of the registry's events that needs no RPC call per
/// question once caught up, and asks the chain (<see cref="Chain.IChainClient.GetRegisteredTokenAsync"/>) before.
/// </summary>
public interface IModelTokenLookup
{
    /// <summary>The token address the registry maps <paramref name="modelId"/> to, or null when none.</summary>
    /// <exception cref="Chain.ChainException">The source could not answer (a transient kind means: accept and let the engine check).</exception>
    Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken);
}
