namespace Hokusai.Contracts.Client;

/// <summary>
/// The deployment API as typed calls. Every call throws <see cref="HokusaiApiException"/> for an error answer
/// (its <see cref="HokusaiApiException.Code"/> is the envelope's code); transient failures (network errors,
/// 429, 5xx) are retried first by the resilience pipeline <c>AddHokusaiContractsClient</c> installs.
/// </summary>
public interface IHokusaiContractsClient
{
    /// <summary>
    /// Queues a deployment. Every submission carries an <c>Idempotency-Key</c> (<paramref name="idempotencyKey"/>, or a
    /// new one), so a retried or replayed submission never creates a second job.
    /// </summary>
    Task<DeploymentAccepted> SubmitAsync(CreateDeploymentRequest request, string? idempotencyKey = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a job's status.</summary>
    Task<DeploymentInfo> GetStatusAsync(Guid requestId, CancellationToken cancellationToken = default);

    /// <summary>Lists the caller's jobs, newest first.</summary>
    Task<DeploymentList> ListAsync(DeploymentListQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>Cancels a pending job (409 <c>DEPLOYMENT_NOT_CANCELLABLE</c> once it is processing or final).</summary>
    Task<DeploymentInfo> CancelAsync(Guid requestId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Follows a job until it is completed, failed or cancelled and returns that status (a failed job is returned,
    /// not thrown). Waits the server's <c>Retry-After</c> on 429 and 503 and the poll interval otherwise.
    /// </summary>
    Task<DeploymentInfo> WaitForCompletionAsync(Guid requestId, CancellationToken cancellationToken = default);
}
