using System.Numerics;

namespace Hokusai.Contracts.Testing;

/// <summary>Builds the jobs the conformance tests write: valid, pending, version 1, distinguishable by owner, model and body.</summary>
public static class ConformanceJobs
{
    /// <summary>A fixed instant the tests count from, so listing order never depends on the clock's resolution.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A new pending job (version 1).</summary>
    /// <param name="owner">The caller owning the job.</param>
    /// <param name="modelId">The model the job deploys.</param>
    /// <param name="idempotencyKey">The caller's idempotency key, if any.</param>
    /// <param name="requestHash">Stands for the request body: same hash, same body.</param>
    /// <param name="createdAt">Creation time (listing is newest first); <see cref="Epoch"/> when unset.</param>
    /// <returns>The job.</returns>
    public static DeploymentJob New(
        string owner = "alice",
        string modelId = "model-1",
        string? idempotencyKey = null,
        string requestHash = "body-1",
        DateTimeOffset? createdAt = null)
    {
        var created = createdAt ?? Epoch;
        return new DeploymentJob
        {
            Id = Guid.NewGuid(),
            Owner = owner,
            Request = new DeploymentRequest
            {
                ModelId = modelId,
                UserAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                TokenName = "Conformance " + modelId,
                TokenSymbol = "CNF",
                // Beyond 64 bits, so a backend that narrows the amount anywhere is caught.
                InitialSupply = BigInteger.Parse("123456789012345678901234567890", System.Globalization.CultureInfo.InvariantCulture),
                PerformanceMetric = "accuracy",
            },
            RequestHash = requestHash,
            IdempotencyKey = idempotencyKey,
            CreatedAt = created,
            UpdatedAt = created,
        };
    }

    /// <summary>The next version of <paramref name="job"/> in <paramref name="status"/> (what the engine writes).</summary>
    /// <param name="job">The stored job.</param>
    /// <param name="status">Its new status.</param>
    /// <returns>The job with the version incremented and the step and progress that fit the status.</returns>
    public static DeploymentJob Next(DeploymentJob job, DeploymentStatus status)
    {
        ArgumentNullException.ThrowIfNull(job);
        var final = status.IsFinal();
        return job with
        {
            Version = job.Version + 1,
            Status = status,
            Step = final ? DeploymentStep.Done : status == DeploymentStatus.Processing ? DeploymentStep.DeployingToken : job.Step,
            Progress = status == DeploymentStatus.Completed ? 100 : job.Progress,
            UpdatedAt = job.UpdatedAt.AddSeconds(1),
            CompletedAt = final ? job.UpdatedAt.AddSeconds(1) : null,
        };
    }
}
