namespace Hokusai.Contracts;

/// <summary>
/// The application service behind the HTTP API: accepts deployments (quota, idempotency, the
/// per-model claim and an on-chain duplicate check), reads, lists and cancels them. It never waits
/// on a deployment transaction: accepted jobs are queued for the background engine.
/// Throws <see cref="StoreUnavailableException"/> or a transient <see cref="Chain.ChainException"/>
/// when a dependency is down (the API answers 503).
/// </summary>
public interface IDeploymentService
{
    /// <summary>Accepts a deployment for the submission's owner.</summary>
    Task<SubmitResult> SubmitAsync(DeploymentSubmission submission, CancellationToken cancellationToken);

    /// <summary>The owner's job, or null when it does not exist or belongs to someone else.</summary>
    Task<DeploymentJob?> GetAsync(string owner, Guid id, CancellationToken cancellationToken);

    /// <summary>The owner's jobs, newest first.</summary>
    Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken);

    /// <summary>Cancels the owner's job while it is still pending.</summary>
    Task<CancelResult> CancelAsync(string owner, Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// How long a deployment accepted now is expected to take until it completes: the median of the jobs this
    /// process completed last, or <see cref="JobEngineOptions.EstimatedCompletionSeconds"/> before the first.
    /// </summary>
    TimeSpan EstimatedDuration { get; }
}

/// <summary>What the API hands to <see cref="IDeploymentService.SubmitAsync"/>.</summary>
public sealed record DeploymentSubmission
{
    /// <summary>Caller identity (API key name or JWT subject).</summary>
    public required string Owner { get; init; }
    /// <summary>The validated request.</summary>
    public required DeploymentRequest Request { get; init; }
    /// <summary>Stable hash of the request body (for idempotency).</summary>
    public required string RequestHash { get; init; }
    /// <summary>The <c>Idempotency-Key</c> header, if any.</summary>
    public string? IdempotencyKey { get; init; }
    /// <summary>W3C <c>traceparent</c> of the accepting request.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>The outcome of a submission.</summary>
public enum SubmitOutcome
{
    /// <summary>A new job was created and queued.</summary>
    Accepted,
    /// <summary>Same idempotency key and body: the earlier job is returned.</summary>
    Replayed,
    /// <summary>Same idempotency key, different body.</summary>
    IdempotencyKeyReused,
    /// <summary>Another job for the model is pending or processing.</summary>
    DeploymentInProgress,
    /// <summary>The model already has a token, in the store or on chain.</summary>
    TokenAlreadyExists,
    /// <summary>The caller's quota is used up.</summary>
    QuotaExceeded,
}

/// <summary>Result of <see cref="IDeploymentService.SubmitAsync"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Job">The new, replayed or conflicting job when there is one (a conflicting job may be someone else's: expose only its status).</param>
/// <param name="Quota">The quota decision (for <c>RateLimit-*</c> and <c>Retry-After</c>).</param>
/// <param name="ExistingTokenAddress">For <see cref="SubmitOutcome.TokenAlreadyExists"/>: the token on chain, when known.</param>
public sealed record SubmitResult(SubmitOutcome Outcome, DeploymentJob? Job = null, QuotaDecision? Quota = null, string? ExistingTokenAddress = null);

/// <summary>The outcome of a cancellation.</summary>
public enum CancelOutcome
{
    /// <summary>The job is now cancelled.</summary>
    Cancelled,
    /// <summary>No such job for this owner.</summary>
    NotFound,
    /// <summary>Already processing or final.</summary>
    NotCancellable,
}

/// <summary>Result of <see cref="IDeploymentService.CancelAsync"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Job">The job as it now is (null when not found).</param>
public sealed record CancelResult(CancelOutcome Outcome, DeploymentJob? Job = null);
