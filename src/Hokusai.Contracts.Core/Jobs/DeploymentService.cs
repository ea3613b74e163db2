using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.Jobs;

internal sealed partial class DeploymentService(
    IDeploymentStore store,
    IDeploymentAcceptor acceptor,
    IModelTokenLookup tokens,
    IChainClient chain,
    DeploymentModeResolver modes,
    DeploymentDurationEstimator durations,
    TimeProvider timeProvider,
    ContractsTelemetry telemetry,
    ILogger<DeploymentService> logger) : IDeploymentService
{
    public TimeSpan EstimatedDuration => durations.Estimate;

    public async Task<SubmitResult> SubmitAsync(DeploymentSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        var request = submission.Request;

        // The registry is the final authority: a model registered there has a token even if the store was wiped.
        // The answer goes into the acceptor, which weighs it after the caller's own replay and the model's claim.
        string? onChain = null;
        try
        {
            onChain = await tokens.GetRegisteredTokenAsync(request.ModelId, cancellationToken);
        }
        catch (ChainException ex)
        {
            // Accept anyway, whatever the node answered (down, or an error of its own): the check is advisory and the
            // engine checks the registry again before it deploys anything, failing the job with a clear error if the
            // registry cannot be read. A chain error here must not turn an acceptable request into a 500.
            LogChainCheckSkipped(logger, request.ModelId, ex.Message);
        }

        var now = timeProvider.GetUtcNow();
        var mode = await ModeForNewJobAsync(cancellationToken);
        var job = new DeploymentJob
        {
            Mode = mode,
            PredictedTokenAddress = mode == DeploymentMode.Factory ? chain.PredictTokenAddress(request) : null,
            Id = Guid.NewGuid(),
            Owner = submission.Owner,
            Request = request,
            RequestHash = submission.RequestHash,
            IdempotencyKey = submission.IdempotencyKey,
            TraceParent = submission.TraceParent,
            CreatedAt = now,
            UpdatedAt = now,
            StepDetail = "Queued for deployment",
            History = [new JobHistoryEntry(now, DeploymentStatus.Pending, DeploymentStep.Queued, "Accepted")],
        };

        var accepted = await acceptor.AcceptAsync(job, onChain, cancellationToken);
        switch (accepted.Outcome)
        {
            case AcceptOutcome.Accepted:
                telemetry.DeploymentAccepted();
                LogAccepted(logger, job.Id, request.ModelId, submission.Owner);
                return new SubmitResult(SubmitOutcome.Accepted, job, accepted.Quota);
            case AcceptOutcome.QuotaExceeded:
                telemetry.QuotaRejection(accepted.Quota?.Window ?? "none");
                return new SubmitResult(SubmitOutcome.QuotaExceeded, Quota: accepted.Quota);
            case AcceptOutcome.IdempotentReplay:
                return new SubmitResult(SubmitOutcome.Replayed, accepted.Existing);
            case AcceptOutcome.IdempotencyKeyReused:
                return new SubmitResult(SubmitOutcome.IdempotencyKeyReused, accepted.Existing);
            case AcceptOutcome.ModelAlreadyDeployed:
                return new SubmitResult(SubmitOutcome.TokenAlreadyExists, accepted.Existing, ExistingTokenAddress: accepted.Existing?.TokenDetails?.TokenAddress);
            case AcceptOutcome.RegisteredOnChain:
                return new SubmitResult(SubmitOutcome.TokenAlreadyExists, ExistingTokenAddress: onChain);
            default:
                return new SubmitResult(SubmitOutcome.DeploymentInProgress, accepted.Existing);
        }
    }

    public async Task<DeploymentJob?> GetAsync(string owner, Guid id, CancellationToken cancellationToken)
    {
        var job = await store.GetSummaryAsync(id, cancellationToken);
        return job is not null && job.Owner == owner ? job : null;
    }

    public Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 100);
        return store.ListAsync(owner, query with { Limit = limit, Page = Math.Max(1, query.Page) }, cancellationToken);
    }

    public async Task<CancelResult> CancelAsync(string owner, Guid id, CancellationToken cancellationToken)
    {
        // Compare-and-swap against the worker's pending → processing transition: exactly one wins.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var job = await GetAsync(owner, id, cancellationToken);
            if (job is null)
            {
                return new CancelResult(CancelOutcome.NotFound);
            }

            if (job.Status != DeploymentStatus.Pending)
            {
                return new CancelResult(CancelOutcome.NotCancellable, job);
            }

            var now = timeProvider.GetUtcNow();
            var cancelled = job with
            {
                Status = DeploymentStatus.Cancelled,
                Step = DeploymentStep.Done,
                StepDetail = "Cancelled by the owner",
                Version = job.Version + 1,
                UpdatedAt = now,
                CompletedAt = now,
                History = [.. job.History, new JobHistoryEntry(now, DeploymentStatus.Cancelled, DeploymentStep.Done, "Cancelled by the owner")],
            };
            if (await store.TryUpdateAsync(cancelled, cancellationToken))
            {
                telemetry.DeploymentCancelled();
                LogCancelled(logger, id);
                return new CancelResult(CancelOutcome.Cancelled, cancelled);
            }
        }

        var latest = await GetAsync(owner, id, cancellationToken);
        return latest is null ? new CancelResult(CancelOutcome.NotFound) : new CancelResult(CancelOutcome.NotCancellable, latest);
    }

    /// <summary>
    /// The mode a new job will run in when it is already known (cached, or one burst of view calls the
    /// first time), so the 202 can carry the predicted token address. Unknown (RPC down) is fine: the
    /// engine fixes the mode when it starts the job.
    /// </summary>
    private async Task<DeploymentMode?> ModeForNewJobAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (modes.Current ?? await modes.ResolveAsync(cancellationToken)).Mode;
        }
        catch (ChainException ex)
        {
            LogModeUnknown(logger, ex.Message);
            return null;
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Accepted deployment {JobId} for model {ModelId} from {Owner}")]
    private static partial void LogAccepted(ILogger logger, Guid jobId, string modelId, string owner);

    [LoggerMessage(2, LogLevel.Warning, "On-chain duplicate check for model {ModelId} skipped: {Reason}")]
    private static partial void LogChainCheckSkipped(ILogger logger, string modelId, string reason);

    [LoggerMessage(4, LogLevel.Information, "Cancelled deployment {JobId}")]
    private static partial void LogCancelled(ILogger logger, Guid jobId);

    [LoggerMessage(6, LogLevel.Debug, "Deployment mode not known yet ({Reason}); the engine decides when it starts the job")]
    private static partial void LogModeUnknown(ILogger logger, string reason);
}
