using System.Collections.Concurrent;

namespace Hokusai.Contracts.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A fake job engine: stores jobs per owner, honours idempotency keys, and lets a test force an
/// outcome or an exception.
/// </summary>
internal sealed class FakeDeploymentService(TimeProvider time) : IDeploymentService
{
    private readonly ConcurrentDictionary<Guid, DeploymentJob> _jobs = new();
    private int _sequence;

    public List<DeploymentSubmission> Submissions { get; } = [];
    public List<(string Owner, DeploymentQuery Query)> Queries { get; } = [];
    public Func<DeploymentSubmission, SubmitResult?>? OnSubmit { get; set; }
    public Exception? Throw { get; set; }
    public QuotaDecision Quota { get; set; } = new(true, 5, 4, TimeSpan.FromMinutes(42.5), "hour");

    public IReadOnlyCollection<DeploymentJob> Jobs => _jobs.Values.ToList();

    public TimeSpan EstimatedDuration { get; set; } = TimeSpan.FromSeconds(60);

    public Guid NextId() => new($"00000000-0000-4000-8000-{Interlocked.Increment(ref _sequence):D12}");

    public DeploymentJob Add(string owner, DeploymentRequest request, Func<DeploymentJob, DeploymentJob>? change = null)
    {
        var now = time.GetUtcNow();
        var job = new DeploymentJob
        {
            Id = NextId(),
            Owner = owner,
            Request = request,
            RequestHash = "hash",
            CreatedAt = now,
            UpdatedAt = now,
        };
        job = change?.Invoke(job) ?? job;
        _jobs[job.Id] = job;
        return job;
    }

    public Task<SubmitResult> SubmitAsync(DeploymentSubmission submission, CancellationToken cancellationToken)
    {
        Submissions.Add(submission);
        if (Throw is { } exception)
        {
            throw exception;
        }

        if (OnSubmit?.Invoke(submission) is { } forced)
        {
            return Task.FromResult(forced);
        }

        if (submission.IdempotencyKey is { } key
            && _jobs.Values.FirstOrDefault(j => j.Owner == submission.Owner && j.IdempotencyKey == key) is { } existing)
        {
            return Task.FromResult(existing.RequestHash == submission.RequestHash
                ? new SubmitResult(SubmitOutcome.Replayed, existing, Quota)
                : new SubmitResult(SubmitOutcome.IdempotencyKeyReused, Quota: Quota));
        }

        var job = Add(submission.Owner, submission.Request, j => j with { RequestHash = submission.RequestHash, IdempotencyKey = submission.IdempotencyKey });
        return Task.FromResult(new SubmitResult(SubmitOutcome.Accepted, job, Quota));
    }

    public Task<DeploymentJob?> GetAsync(string owner, Guid id, CancellationToken cancellationToken)
    {
        if (Throw is { } exception)
        {
            throw exception;
        }

        return Task.FromResult(_jobs.TryGetValue(id, out var job) && job.Owner == owner ? job : null);
    }

    public Task<DeploymentPage> ListAsync(string owner, DeploymentQuery query, CancellationToken cancellationToken)
    {
        Queries.Add((owner, query));
        var matching = _jobs.Values
            .Where(j => j.Owner == owner)
            .Where(j => query.Status is null || j.Status == query.Status)
            .Where(j => query.ModelId is null || j.Request.ModelId == query.ModelId)
            .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
            .ToList();
        var page = matching.Skip((query.Page - 1) * query.Limit).Take(query.Limit).ToList();
        return Task.FromResult(new DeploymentPage(page, matching.Count));
    }

    public Task<CancelResult> CancelAsync(string owner, Guid id, CancellationToken cancellationToken)
    {
        if (!_jobs.TryGetValue(id, out var job) || job.Owner != owner)
        {
            return Task.FromResult(new CancelResult(CancelOutcome.NotFound));
        }

        if (job.Status != DeploymentStatus.Pending)
        {
            return Task.FromResult(new CancelResult(CancelOutcome.NotCancellable, job));
        }

        var cancelled = job with
        {
            Status = DeploymentStatus.Cancelled,
            Step = DeploymentStep.Done,
            UpdatedAt = time.GetUtcNow(),
            CompletedAt = time.GetUtcNow(),
            Version = job.Version + 1,
        };
        _jobs[id] = cancelled;
        return Task.FromResult(new CancelResult(CancelOutcome.Cancelled, cancelled));
    }
}
