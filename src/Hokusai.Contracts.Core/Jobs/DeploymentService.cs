using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.Jobs;

internal sealed partial class DeploymentService(
    IDeploymentStore store,
    IDeploymentQueue queue,
    IDeploymentQuota quota,
    IChainClient chain,
    TimeProvider timeProvider,
    ILogger<DeploymentService> logger) : IDeploymentService
{
    public async Task<SubmitResult> SubmitAsync(DeploymentSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        var request = submission.Request;

        // A fast, non-atomic look at the model's claim first: it answers replays and conflicts without
        // touching the quota or the chain. TryCreateAsync below re-checks atomically.
        var claimed = await store.GetModelClaimAsync(request.ModelId, cancellationToken);
        if (claimed is { } claimId && await store.GetAsync(claimId, cancellationToken) is { } claimant)
        {
            if (claimant.Owner == submission.Owner && submission.IdempotencyKey is not null
                && claimant.IdempotencyKey == submission.IdempotencyKey)
            {
                return claimant.RequestHash == submission.RequestHash
                    ? new SubmitResult(SubmitOutcome.Replayed, claimant)
                    : new SubmitResult(SubmitOutcome.IdempotencyKeyReused, claimant);
            }

            return claimant.Status == DeploymentStatus.Completed
                ? new SubmitResult(SubmitOutcome.TokenAlreadyExists, claimant, ExistingTokenAddress: claimant.TokenDetails?.TokenAddress)
                : new SubmitResult(SubmitOutcome.DeploymentInProgress, claimant);
        }

        // The chain is the final authority: a model registered there has a token even if the store was wiped.
        try
        {
            if (await chain.GetRegisteredTokenAsync(request.ModelId, cancellationToken) is { } onChain)
            {
                return new SubmitResult(SubmitOutcome.TokenAlreadyExists, ExistingTokenAddress: onChain);
            }
        }
        catch (ChainException ex) when (ex.IsTransient)
        {
            // Accept anyway: the engine checks the registry again before it deploys anything.
            LogChainCheckSkipped(logger, request.ModelId, ex.Message);
        }

        var decision = await quota.TryAcquireAsync(submission.Owner, cancellationToken);
        if (!decision.Allowed)
        {
            ContractsTelemetry.QuotaRejection(decision.Window);
            return new SubmitResult(SubmitOutcome.QuotaExceeded, Quota: decision);
        }

        var now = timeProvider.GetUtcNow();
        var job = new DeploymentJob
        {
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

        CreateJobResult created;
        try
        {
            created = await store.TryCreateAsync(job, cancellationToken);
        }
        catch
        {
            await RefundQuietlyAsync(submission.Owner);
            throw;
        }

        if (created.Outcome != CreateJobOutcome.Created)
        {
            await RefundQuietlyAsync(submission.Owner);
            return created.Outcome switch
            {
                CreateJobOutcome.IdempotentReplay => new SubmitResult(SubmitOutcome.Replayed, created.Existing),
                CreateJobOutcome.IdempotencyKeyReused => new SubmitResult(SubmitOutcome.IdempotencyKeyReused, created.Existing),
                CreateJobOutcome.ModelAlreadyDeployed => new SubmitResult(SubmitOutcome.TokenAlreadyExists, created.Existing, ExistingTokenAddress: created.Existing?.TokenDetails?.TokenAddress),
                _ => new SubmitResult(SubmitOutcome.DeploymentInProgress, created.Existing),
            };
        }

        // The job is stored; if queueing fails the engine's recovery sweep still finds it, so the
        // 202 stands. Failing here would leave the client unsure whether its job exists.
        try
        {
            await queue.EnqueueAsync(job.Id, cancellationToken);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or OperationCanceledException)
        {
            LogEnqueueDeferred(logger, job.Id, ex.Message);
        }

        ContractsTelemetry.DeploymentAccepted();
        LogAccepted(logger, job.Id, request.ModelId, submission.Owner);
        return new SubmitResult(SubmitOutcome.Accepted, job, decision);
    }

    public async Task<DeploymentJob?> GetAsync(string owner, Guid id, CancellationToken cancellationToken)
    {
        var job = await store.GetAsync(id, cancellationToken);
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
                ContractsTelemetry.DeploymentCancelled();
                LogCancelled(logger, id);
                return new CancelResult(CancelOutcome.Cancelled, cancelled);
            }
        }

        var latest = await GetAsync(owner, id, cancellationToken);
        return latest is null ? new CancelResult(CancelOutcome.NotFound) : new CancelResult(CancelOutcome.NotCancellable, latest);
    }

    private async Task RefundQuietlyAsync(string owner)
    {
        try
        {
            await quota.RefundAsync(owner, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            LogRefundFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Accepted deployment {JobId} for model {ModelId} from {Owner}")]
    private static partial void LogAccepted(ILogger logger, Guid jobId, string modelId, string owner);

    [LoggerMessage(2, LogLevel.Warning, "On-chain duplicate check for model {ModelId} skipped: {Reason}")]
    private static partial void LogChainCheckSkipped(ILogger logger, string modelId, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Job {JobId} stored but not queued yet ({Reason}); the recovery sweep will queue it")]
    private static partial void LogEnqueueDeferred(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(4, LogLevel.Information, "Cancelled deployment {JobId}")]
    private static partial void LogCancelled(ILogger logger, Guid jobId);

    [LoggerMessage(5, LogLevel.Warning, "Could not give back a quota unit: {Reason}")]
    private static partial void LogRefundFailed(ILogger logger, string reason);
}
