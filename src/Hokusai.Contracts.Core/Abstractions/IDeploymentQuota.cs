namespace Hokusai.Contracts.Backends;

/// <summary>Per-caller quotas on accepted deployments (by default 5 an hour and 20 a day).</summary>
public interface IDeploymentQuota
{
    /// <summary>Checks every window and, only when all allow it, counts one deployment — atomically.</summary>
    Task<QuotaDecision> TryAcquireAsync(string caller, CancellationToken cancellationToken);

    /// <summary>Gives back a unit taken by <see cref="TryAcquireAsync"/> when the job was not created after all.</summary>
    Task RefundAsync(string caller, CancellationToken cancellationToken);
}
