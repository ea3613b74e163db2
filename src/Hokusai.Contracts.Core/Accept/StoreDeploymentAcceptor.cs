using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.Accept;

/// <summary>
/// The default <see cref="IDeploymentAcceptor"/>, built from the store, quota and queue: the same decisions in
/// the same order as a backend's single atomic operation. The claim is looked at first (answering replays and
/// conflicts without spending a quota unit), the quota is taken only then, and given back when the store's
/// atomic create refuses after all.
/// </summary>
internal sealed partial class StoreDeploymentAcceptor(
    IDeploymentStore store,
    IDeploymentQuota quota,
    IDeploymentQueue queue,
    ILogger<StoreDeploymentAcceptor> logger) : IDeploymentAcceptor
{
    public async Task<AcceptResult> AcceptAsync(DeploymentJob job, string? tokenOnChain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var claimed = await store.GetModelClaimAsync(job.Request.ModelId, cancellationToken).ConfigureAwait(false);
        if (claimed is { } claimId && await store.GetSummaryAsync(claimId, cancellationToken).ConfigureAwait(false) is { } claimant)
        {
            if (claimant.Owner == job.Owner && job.IdempotencyKey is not null && claimant.IdempotencyKey == job.IdempotencyKey)
            {
                return new AcceptResult(claimant.RequestHash == job.RequestHash ? AcceptOutcome.IdempotentReplay : AcceptOutcome.IdempotencyKeyReused, claimant);
            }

            if (claimant.Status == DeploymentStatus.Completed)
            {
                return new AcceptResult(AcceptOutcome.ModelAlreadyDeployed, claimant);
            }

            if (!claimant.Status.IsFinal())
            {
                return new AcceptResult(AcceptOutcome.ModelInProgress, claimant);
            }
        }

        if (tokenOnChain is not null)
        {
            return new AcceptResult(AcceptOutcome.RegisteredOnChain);
        }

        var decision = await quota.TryAcquireAsync(job.Owner, cancellationToken).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            return new AcceptResult(AcceptOutcome.QuotaExceeded, Quota: decision);
        }

        CreateJobResult created;
        try
        {
            created = await store.TryCreateAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await RefundQuietlyAsync(job.Owner).ConfigureAwait(false);
            throw;
        }

        if (created.Outcome != CreateJobOutcome.Created)
        {
            await RefundQuietlyAsync(job.Owner).ConfigureAwait(false);
            return new AcceptResult(created.Outcome switch
            {
                CreateJobOutcome.IdempotentReplay => AcceptOutcome.IdempotentReplay,
                CreateJobOutcome.IdempotencyKeyReused => AcceptOutcome.IdempotencyKeyReused,
                CreateJobOutcome.ModelAlreadyDeployed => AcceptOutcome.ModelAlreadyDeployed,
                _ => AcceptOutcome.ModelInProgress,
            }, created.Existing);
        }

        // The job is stored; if queueing fails the engine's recovery sweep still finds it, so the acceptance
        // stands. Failing here would leave the client unsure whether its job exists.
        try
        {
            await queue.EnqueueAsync(job.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or OperationCanceledException)
        {
            LogEnqueueDeferred(logger, job.Id, ex.Message);
            return new AcceptResult(AcceptOutcome.Accepted, job, decision, Queued: false);
        }

        return new AcceptResult(AcceptOutcome.Accepted, job, decision);
    }

    private async Task RefundQuietlyAsync(string owner)
    {
        try
        {
            await quota.RefundAsync(owner, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex)
        {
            LogRefundFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(3, LogLevel.Warning, "Job {JobId} stored but not queued yet ({Reason}); the recovery sweep will queue it")]
    private static partial void LogEnqueueDeferred(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Could not give back a quota unit: {Reason}")]
    private static partial void LogRefundFailed(ILogger logger, string reason);
}
