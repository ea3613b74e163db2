using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.InMemory;

/// <summary>
/// Single-process store. One lock guards every structure, which keeps create/claim/idempotency
/// atomic exactly as the Redis script does; the service's write rate is far below where that matters.
/// It is also the webhook outbox: an event is added under the same lock as the status change raising it.
/// </summary>
internal sealed partial class InMemoryDeploymentStore(IOptions<HokusaiContractsOptions> options, TimeProvider timeProvider, WebhookEventFactory? events)
    : IDeploymentStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Entry> _jobs = [];
    private readonly Dictionary<(string Owner, string Key), Guid> _idempotency = [];
    private readonly Dictionary<string, Guid> _claims = new(StringComparer.Ordinal);

    /// <summary>A store without webhooks (no event is ever raised).</summary>
    public InMemoryDeploymentStore(IOptions<HokusaiContractsOptions> options, TimeProvider timeProvider)
        : this(options, timeProvider, null)
    {
    }

    private sealed class Entry(DeploymentJob job)
    {
        public DeploymentJob Job { get; set; } = job;
        public DateTimeOffset? ExpiresAt { get; set; }
    }

    public Task<CreateJobResult> TryCreateAsync(DeploymentJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            Sweep();
            if (job.IdempotencyKey is { } key && _idempotency.TryGetValue((job.Owner, key), out var previousId)
                && _jobs.TryGetValue(previousId, out var previous))
            {
                return Task.FromResult(previous.Job.RequestHash == job.RequestHash
                    ? new CreateJobResult(CreateJobOutcome.IdempotentReplay, previous.Job)
                    : new CreateJobResult(CreateJobOutcome.IdempotencyKeyReused, previous.Job));
            }

            if (_claims.TryGetValue(job.Request.ModelId, out var claimId) && _jobs.TryGetValue(claimId, out var claimant))
            {
                return Task.FromResult(new CreateJobResult(
                    claimant.Job.Status == DeploymentStatus.Completed ? CreateJobOutcome.ModelAlreadyDeployed : CreateJobOutcome.ModelInProgress,
                    claimant.Job));
            }

            _jobs[job.Id] = new Entry(job);
            _claims[job.Request.ModelId] = job.Id;
            if (job.IdempotencyKey is { } newKey)
            {
                _idempotency[(job.Owner, newKey)] = job.Id;
            }

            return Task.FromResult(new CreateJobResult(CreateJobOutcome.Created, job));
        }
    }

    public Task<DeploymentJob?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_jobs.TryGetValue(id, out var entry) && !IsExpired(entry) ? entry.Job : null);
        }
    }

    public Task<bool> TryUpdateAsync(DeploymentJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            if (!_jobs.TryGetValue(job.Id, out var entry) || entry.Job.Version != job.Version - 1)
            {
                return Task.FromResult(false);
            }

            var previous = entry.Job;
            entry.Job = job;

            // Outbox: the event is recorded under the same lock as the status change that raises it.
            if (!previous.Status.IsFinal() && events?.ForTransition(job) is { } raised)
            {
                AddEvent(raised);
            }

            if (job.Status.IsFinal())
            {
                entry.ExpiresAt = timeProvider.GetUtcNow() + options.Value.Jobs.Retention;
                if (job.Status != DeploymentStatus.Completed
                    && _claims.TryGetValue(job.Request.ModelId, out var claim) && claim == job.Id)
                {
                    _claims.Remove(job.Request.ModelId);
                }
            }

            return Task.FromResult(true);
        }
    }

    public Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            var matching = _jobs.Values
                .Where(e => !IsExpired(e) && e.Job.Owner == owner)
                .Select(e => e.Job)
                .Where(j => query.Status is null || j.Status == query.Status)
                .Where(j => query.ModelId is null || string.Equals(j.Request.ModelId, query.ModelId, StringComparison.Ordinal))
                .OrderByDescending(j => j.CreatedAt)
                .ThenByDescending(j => j.Id)
                .ToList();
            var page = query.Slice(matching);
            return Task.FromResult(new DeploymentPage(page, matching.Count));
        }
    }

    public Task<Guid?> GetModelClaimAsync(string modelId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_claims.TryGetValue(modelId, out var id) ? id : (Guid?)null);
        }
    }

    public Task<IReadOnlyList<Guid>> GetUnfinishedAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<Guid> ids = _jobs.Values.Where(e => !e.Job.Status.IsFinal())
                .OrderBy(e => e.Job.CreatedAt).Select(e => e.Job.Id).ToList();
            return Task.FromResult(ids);
        }
    }

    public Task<IReadOnlyDictionary<DeploymentStatus, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyDictionary<DeploymentStatus, long> counts = Enum.GetValues<DeploymentStatus>()
                .ToDictionary(s => s, s => (long)_jobs.Values.Count(e => !IsExpired(e) && e.Job.Status == s));
            return Task.FromResult(counts);
        }
    }

    private bool IsExpired(Entry entry) => entry.ExpiresAt is { } at && at <= timeProvider.GetUtcNow();

    // Expired finished jobs are dropped lazily on writes; their idempotency keys go with them.
    private void Sweep()
    {
        var expired = _jobs.Values.Where(IsExpired).Select(e => e.Job).ToList();
        foreach (var job in expired)
        {
            _jobs.Remove(job.Id);
            RemoveFinishedEvents(job.Id);
            if (job.IdempotencyKey is { } key)
            {
                _idempotency.Remove((job.Owner, key));
            }
        }
    }
}
