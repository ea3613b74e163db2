using System.Collections.Concurrent;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Hokusai.Contracts.Jobs;

/// <summary>
/// The background worker. It processes jobs only while this process owns the deployer's signer lease
/// (so replicas never race on nonces), with bounded concurrency, retrying transient failures with
/// capped exponential backoff and jitter. On shutdown it stops taking jobs, gives in-flight ones a
/// grace period, then parks them: their state is persisted and the next owner resumes them.
/// </summary>
internal sealed partial class DeploymentEngine(
    IDeploymentQueue queue,
    IDeploymentStore store,
    ISignerLeaseManager leases,
    IChainClient chain,
    DeploymentProcessor processor,
    IOptions<HokusaiContractsOptions> options,
    TimeProvider timeProvider,
    ILogger<DeploymentEngine> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, byte> _active = new();
    private readonly JobEngineOptions _options = options.Value.Jobs;
    private int _inFlight;

    /// <summary>Jobs being processed by this process right now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Shutdown first stops intake (stoppingToken); processing is only cut after the grace period.
        using var processing = new CancellationTokenSource();
        using var onStop = stoppingToken.Register(() => processing.CancelAfter(_options.ShutdownGracePeriod));

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunWhileOwnerAsync(stoppingToken, processing.Token);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                // The lease was lost while this process was still starting as the owner (Redis too slow to renew
                // it during the nonce resync or the first re-queue): stopping the host for it would take the API
                // down too. Try to own the signer again.
                LogOwnershipInterrupted(logger, "the signer lease was lost while taking ownership");
                await DelayQuietly(_options.InitialRetryDelay, stoppingToken);
            }
            catch (Exception ex) when (ex is StoreUnavailableException or ChainException)
            {
                LogOwnershipInterrupted(logger, ex.Message);
                await DelayQuietly(_options.InitialRetryDelay, stoppingToken);
            }
        }
    }

    private async Task RunWhileOwnerAsync(CancellationToken intake, CancellationToken processing)
    {
        await using var lease = await leases.AcquireAsync(chain.DeployerAddress, intake);

        // A new owner cannot trust any nonce it remembers: another owner may have sent more since. That
        // holds even when the fencing token equals the last one this process held, which happens when
        // Redis lost its data and the counter started again.
        await chain.ResyncNonceAsync(intake);
        LogOwnerAcquired(logger, chain.DeployerAddress, lease.FencingToken);

        using var intakeScope = CancellationTokenSource.CreateLinkedTokenSource(intake, lease.Lost);
        using var processingScope = CancellationTokenSource.CreateLinkedTokenSource(processing, lease.Lost);

        await RequeueAsync(TimeSpan.Zero, intakeScope.Token, adoptTransactions: true);
        await Task.WhenAll(DispatchAsync(intakeScope.Token, processingScope.Token, lease.Lost), SweepAsync(intakeScope.Token));
        if (lease.Lost.IsCancellationRequested)
        {
            LogOwnerLost(logger, chain.DeployerAddress);
        }
    }

    /// <summary>
    /// Takes jobs from the queue while fewer than <see cref="JobEngineOptions.MaxConcurrency"/> are held.
    /// A held job waiting for a receipt costs no thread; what bounds throughput is the signer's in-flight
    /// window (MAX_IN_FLIGHT_PER_KEY), where preparing a transaction waits while the window is full.
    /// </summary>
    private async Task DispatchAsync(CancellationToken intake, CancellationToken processing, CancellationToken leaseLost)
    {
        using var slots = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrency));
        var running = new ConcurrentDictionary<Task, byte>();
        while (!intake.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(intake);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            QueueItem? item;
            try
            {
                item = await queue.DequeueAsync(intake);
            }
            catch (StoreUnavailableException ex)
            {
                slots.Release();
                LogQueueUnavailable(logger, ex.Message);
                await DelayQuietly(_options.InitialRetryDelay, intake);
                continue;
            }

            if (item is null)
            {
                slots.Release();
                break;
            }

            var task = RunItemAsync(item, slots, processing, leaseLost);
            running.TryAdd(task, 0);
            _ = task.ContinueWith(t => running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        await Task.WhenAll(running.Keys);
    }

    private async Task RunItemAsync(QueueItem item, SemaphoreSlim slots, CancellationToken processing, CancellationToken leaseLost)
    {
        try
        {
            // Off the dispatcher's stack: the dispatcher goes straight back to the queue.
            await Task.Yield();
            await HandleAsync(item, processing, leaseLost);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task HandleAsync(QueueItem item, CancellationToken cancellationToken, CancellationToken leaseLost)
    {
        if (!_active.TryAdd(item.JobId, 0))
        {
            // Already running here (a duplicate delivery); the running copy acknowledges its own item.
            await AcknowledgeQuietly(item);
            return;
        }

        Interlocked.Increment(ref _inFlight);
        ContractsTelemetry.JobStarted();
        try
        {
            // The job is read once per delivery: the scope, the run and its first attempt share the read.
            var (read, job) = await ReadOnceAsync(item.JobId, cancellationToken);
            using var scope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = item.JobId, ["ModelId"] = job?.Request.ModelId ?? string.Empty, ["DeliveryCount"] = item.DeliveryCount });
            var outcome = read && (job is null || job.Status.IsFinal()) ? RunOutcome.Done : await ProcessWithRetriesAsync(item.JobId, job, cancellationToken);
            if (outcome == RunOutcome.Parked)
            {
                if (leaseLost.IsCancellationRequested)
                {
                    await HandOverAsync(item);
                }

                return;
            }

            if (outcome == RunOutcome.Requeue)
            {
                await queue.EnqueueAsync(item.JobId, CancellationToken.None);
            }

            await AcknowledgeQuietly(item);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or OperationCanceledException)
        {
            // Not acknowledged: the queue redelivers it (or the recovery sweep finds it), unless the
            // signer went to another process, which gets it now.
            LogParked(logger, item.JobId, ex.Message);
            if (leaseLost.IsCancellationRequested)
            {
                await HandOverAsync(item);
            }
        }
        finally
        {
            _active.TryRemove(item.JobId, out _);
            Interlocked.Decrement(ref _inFlight);
            ContractsTelemetry.JobFinished();
            await ReportDepthQuietly();
        }
    }


    private enum RunOutcome
    {
        Done,
        Requeue,
        Parked,
    }

    private static readonly ResiliencePropertyKey<Guid> JobIdKey = new("hokusai.job_id");

    // Built once (a racing second build is equivalent and harmless): every run shares the policy, the job
    // id travels in the resilience context.
    private ResiliencePipeline? _retries;

    private ResiliencePipeline Retries => _retries ??=
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                // A conflict means the stored job moved on under this run: a cancel, or this run's own
                // earlier write that timed out during a store outage and landed afterwards. Dropping the
                // run would strand the job in processing; a fresh run re-reads it and resumes from the
                // stored step, or stops at once when the job is final.
                ShouldHandle = new PredicateBuilder()
                    .Handle<ChainException>(ex => ex.IsTransient)
                    .Handle<StoreUnavailableException>()
                    .Handle<JobConflictException>(),
                MaxRetryAttempts = Math.Max(0, _options.MaxAttempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.InitialRetryDelay,
                MaxDelay = _options.MaxRetryDelay,
                OnRetry = args =>
                {
                    LogRetry(logger, args.Context.Properties.GetValue(JobIdKey, Guid.Empty), args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message);
                    return default;
                },
            })
            .Build();

    /// <summary>
    /// The one read of the job per delivery. A store outage here must not park the job outside the retry
    /// pipeline (the delivery would stay unacknowledged with this live worker until the stale sweep): the
    /// pipeline then reads it itself.
    /// </summary>
    private async Task<(bool Read, DeploymentJob? Job)> ReadOnceAsync(Guid jobId, CancellationToken cancellationToken)
    {
        try
        {
            return (true, await store.GetAsync(jobId, cancellationToken));
        }
        catch (StoreUnavailableException)
        {
            return (false, null);
        }
    }

    private async Task<RunOutcome> ProcessWithRetriesAsync(Guid jobId, DeploymentJob? job, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(JobIdKey, jobId);
        DeploymentJob? loaded = job;
        try
        {
            await Retries.ExecuteAsync(
                async (ctx, id) =>
                {
                    // The first attempt uses the job read for this delivery; a retry re-reads it (its
                    // previous attempt may have failed halfway through a save).
                    var current = Interlocked.Exchange(ref loaded, null) ?? await store.GetAsync(id, ctx.CancellationToken);
                    while (current is not null)
                    {
                        try
                        {
                            await processor.RunAsync(current, ctx.CancellationToken);
                            return;
                        }
                        catch (ChainException ex) when (ex.IsTransient)
                        {
                            // An RPC outage pauses the job instead of spending its retries: it resumes
                            // as soon as the block follower reaches the node again.
                            if (!await chain.WaitOutOutageAsync(ctx.CancellationToken))
                            {
                                throw;
                            }

                            LogResumedAfterOutage(logger, id);
                            current = await store.GetAsync(id, ctx.CancellationToken);
                        }
                    }
                },
                context,
                jobId);
            return RunOutcome.Done;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogParked(logger, jobId, "shutting down or handing over the signer");
            return RunOutcome.Parked;
        }
        catch (JobConflictException)
        {
            // Still conflicting after every retry: someone else keeps moving the job.
            return RunOutcome.Done;
        }
        catch (DeploymentHeldException ex)
        {
            // The token is registered, so the job may not fail; try again after the longest backoff.
            LogRequeued(logger, jobId, ex.Message);
            await DelayQuietly(_options.MaxRetryDelay, cancellationToken);
            return RunOutcome.Requeue;
        }
        catch (Exception ex) when (ex is ChainException or StoreUnavailableException)
        {
            var current = await store.GetAsync(jobId, cancellationToken);
            var sentAnything = current?.Transactions is { } t && (t.TokenDeployment is not null || t.Registration is not null || t.Mint is not null);
            if (sentAnything)
            {
                // Something is already on its way to the chain: failing now could orphan it. Keep the
                // claim and try again later.
                LogRequeued(logger, jobId, ex.Message);
                await DelayQuietly(_options.MaxRetryDelay, cancellationToken);
                return RunOutcome.Requeue;
            }

            await processor.FailExhaustedAsync(jobId, ex, cancellationToken);
            return RunOutcome.Done;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Re-queues unfinished jobs: all of them when the owner starts, stale ones periodically.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await DelayQuietly(_options.RecoverySweepInterval, cancellationToken))
            {
                return;
            }

            try
            {
                await RequeueAsync(_options.StaleAfter, cancellationToken);
            }
            catch (StoreUnavailableException ex)
            {
                LogQueueUnavailable(logger, ex.Message);
            }
        }
    }

    private async Task RequeueAsync(TimeSpan olderThan, CancellationToken cancellationToken, bool adoptTransactions = false)
    {
        var now = timeProvider.GetUtcNow();
        var count = 0;
        foreach (var id in await store.GetUnfinishedAsync(cancellationToken))
        {
            if (_active.ContainsKey(id))
            {
                continue;
            }

            if (adoptTransactions && await store.GetAsync(id, cancellationToken) is { } unfinished)
            {
                // A new owner learns the persisted transactions in flight, so a nonce the node misses is
                // re-sent from its stored bytes before anything else waits behind the gap.
                var t = unfinished.Transactions;
                // Replaced versions first: the current version of a nonce is the one remembered for it.
                foreach (var sent in t.Replaced.Concat(new[] { t.TokenDeployment, t.Registration, t.Mint }).OfType<SentTransaction>())
                {
                    chain.TrackPersisted(sent.Nonce, sent.RawTransaction);
                }
            }

            if (olderThan > TimeSpan.Zero && await store.GetAsync(id, cancellationToken) is { } job && now - job.UpdatedAt < olderThan)
            {
                continue;
            }

            await queue.EnqueueAsync(id, cancellationToken);
            count++;
        }

        if (count > 0)
        {
            LogRequeuedUnfinished(logger, count);
        }
    }

    private async Task ReportDepthQuietly()
    {
        try
        {
            ContractsTelemetry.ReportQueueDepth(await queue.GetDepthAsync(CancellationToken.None));
        }
        catch (StoreUnavailableException)
        {
            // The gauge keeps its last value; the Redis health check reports the outage.
        }
    }

    /// <summary>
    /// A job parked because this process lost the signer goes back to the queue for the new owner. Left
    /// unacknowledged, it would stay with this live consumer, which keeps its entries from being reclaimed,
    /// until the stale sweep found it minutes later.
    /// </summary>
    private async Task HandOverAsync(QueueItem item)
    {
        try
        {
            await queue.EnqueueAsync(item.JobId, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            // Unacknowledged, it is redelivered or swept later.
            LogQueueUnavailable(logger, ex.Message);
            return;
        }

        await AcknowledgeQuietly(item);
    }

    private async Task AcknowledgeQuietly(QueueItem item)
    {
        try
        {
            await queue.AcknowledgeAsync(item, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            // Redelivery is harmless: processing a finished job is a no-op.
            LogQueueUnavailable(logger, ex.Message);
        }
    }

    private async Task<bool> DelayQuietly(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, timeProvider, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(30, LogLevel.Information, "Owning signer {Signer} with fencing token {FencingToken}; nonces resynchronised from the chain")]
    private static partial void LogOwnerAcquired(ILogger logger, string signer, long fencingToken);

    [LoggerMessage(31, LogLevel.Warning, "Lost the lease on signer {Signer}; in-flight jobs are parked for the next owner")]
    private static partial void LogOwnerLost(ILogger logger, string signer);

    [LoggerMessage(32, LogLevel.Warning, "Job engine interrupted: {Reason}")]
    private static partial void LogOwnershipInterrupted(ILogger logger, string reason);

    [LoggerMessage(33, LogLevel.Warning, "Queue unavailable: {Reason}")]
    private static partial void LogQueueUnavailable(ILogger logger, string reason);

    [LoggerMessage(34, LogLevel.Information, "Job {JobId} parked ({Reason}); it resumes from its stored step")]
    private static partial void LogParked(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(35, LogLevel.Warning, "Job {JobId} retry {Attempt} in {DelayMs} ms: {Reason}")]
    private static partial void LogRetry(ILogger logger, Guid jobId, int attempt, double delayMs, string? reason);

    [LoggerMessage(36, LogLevel.Warning, "Job {JobId} has transactions in flight and keeps failing ({Reason}); re-queued")]
    private static partial void LogRequeued(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(38, LogLevel.Information, "Job {JobId} resumes after an RPC outage (its retry budget is untouched)")]
    private static partial void LogResumedAfterOutage(ILogger logger, Guid jobId);

    [LoggerMessage(37, LogLevel.Information, "Re-queued {Count} unfinished jobs")]
    private static partial void LogRequeuedUnfinished(ILogger logger, int count);
}
