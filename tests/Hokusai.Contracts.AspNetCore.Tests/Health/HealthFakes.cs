using System.Numerics;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Hosting;

namespace Hokusai.Contracts.AspNetCore.Tests.Health;

/// <summary>A store that only counts; the health report needs nothing else.</summary>
internal sealed class FakeStore : IDeploymentStore
{
    public Func<CancellationToken, Task<IReadOnlyDictionary<DeploymentStatus, long>>> Counts { get; set; } =
        _ => Task.FromResult<IReadOnlyDictionary<DeploymentStatus, long>>(new Dictionary<DeploymentStatus, long>
        {
            [DeploymentStatus.Pending] = 3,
            [DeploymentStatus.Completed] = 9,
        });

    public Task<IReadOnlyDictionary<DeploymentStatus, long>> CountByStatusAsync(CancellationToken cancellationToken) => Counts(cancellationToken);

    public Task<CreateJobResult> TryCreateAsync(DeploymentJob job, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
    public Task<DeploymentJob?> GetAsync(Guid id, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
    public Task<bool> TryUpdateAsync(DeploymentJob job, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
    public Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
    public Task<Guid?> GetModelClaimAsync(string modelId, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
    public Task<IReadOnlyList<Guid>> GetUnfinishedAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
}

/// <summary>A queue that only reports its depth.</summary>
internal sealed class FakeQueue : IDeploymentQueue
{
    public Func<CancellationToken, ValueTask<long>> Depth { get; set; } = _ => ValueTask.FromResult(5L);

    public bool IsDurable => true;

    public ValueTask<long> GetDepthAsync(CancellationToken cancellationToken) => Depth(cancellationToken);

    public ValueTask EnqueueAsync(Guid jobId, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
    public ValueTask<QueueItem?> DequeueAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
    public ValueTask AcknowledgeAsync(QueueItem item, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");
}
