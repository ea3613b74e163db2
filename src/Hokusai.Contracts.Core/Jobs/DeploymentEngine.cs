using System.Collections.Concurrent;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Hokusai.Contracts.Jobs;

/// <summary>
/// The background worker. It signs with the keys of the <see cref="SignerPool"/> this process leases (one owner
/// per key across replicas, so nonces never collide; each replica holds about its fair share of the keys), with
/// bounded concurrency, retrying transient failures with capped exponential backoff and jitter. Unbound jobs come
/// from the shared queue and bind to the least busy owned key; a job bound to a key is only run by that key's
/// owner, and reaches it through the key's own queue. On shutdown (or when a key is handed over) it stops taking
/// jobs, gives in-flight ones a grace period, then parks them: their state is persisted and the next owner resumes them.
/// </summary>
internal sealed partial class DeploymentEngine(
    IDeploymentQueue queue,
    ISignerQueues signerQueues,
    IDeploymentStore store,
    ISignerLeaseManager leases,
    SignerPool pool,
    DeploymentModeResolver modes,
    IOptions<HokusaiContractsOptions> options,
    TimeProvider timeProvider,
    ContractsTelemetry telemetry,
    ILogger<DeploymentEngine> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, byte> _active = new();
    private readonly ConcurrentDictionary<int, KeyRun> _owned = new();
    private readonly JobEngineOptions _options = options.Value.Jobs;
    private readonly Lock _shareLock = new();
    private TaskCompletionSource _shareChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SemaphoreSlim? _slots;
    private int _inFlight;
    private int _liveReplicas = 1;

    /// <summary>Jobs being processed by this process right now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Replicas alive as last announced (1 without a pool).</summary>
    public int LiveReplicas => Volatile.Read(ref _liveReplicas);

    /// <summary>How many keys this replica should hold now.</summary>
    public int TargetShare => SignerShare.Target(pool.Signers.Count, LiveReplicas);

    /// <summary>The keys this process leases now.</summary>
    public IReadOnlyCollection<PoolSigner> OwnedSigners => _owned.Values.Select(r => r.Signer).ToList();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Shutdown first stops intake (stoppingToken); processing is only cut after the grace period.
        using var processing = new CancellationTokenSource();
        using var onStop = stoppingToken.Register(() => processing.CancelAfter(_options.ShutdownGracePeriod));
        using var slots = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrency));
        _slots = slots;

        var loops = pool.Signers.Select(signer => RunKeyAsync(signer, stoppingToken, processing.Token)).ToList();
        loops.Add(DispatchSharedAsync(stoppingToken));
        loops.Add(SweepAsync(stoppingToken));
        if (pool.Signers.Count > 1)
        {
            loops.Add(ShareAsync(stoppingToken));
        }

        await Task.WhenAll(loops);
    }

    /// <summary>Owns <paramref name="signer"/> whenever this replica is below its share and the key is free.</summary>
    private async Task RunKeyAsync(PoolSigner signer, CancellationToken stopping, CancellationToken processing)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (pool.Signers.Count > 1 && !await PoolModeAllowsSigningAsync(stopping))
                {
                    await DelayQuietly(DeploymentModeResolver.CacheFor, stopping);
                    continue;
                }

                var lease = await AcquireWithinShareAsync(signer, stopping);
                if (lease is null)
                {
                    continue;
                }

                await using (lease)
                {
                    await OwnAsync(signer, lease, stopping, processing);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                // The lease was lost while this process was still taking the key (Redis too slow to renew it during
                // the nonce resync or the first re-queue): stopping the host for it would take the API down too.
                LogOwnershipInterrupted(logger, signer.Address, "the signer lease was lost while taking ownership");
                await DelayQuietly(_options.InitialRetryDelay, stopping);
            }
            catch (Exception ex) when (ex is StoreUnavailableException or ChainException)
            {
                LogOwnershipInterrupted(logger, signer.Address, ex.Message);
                await DelayQuietly(_options.InitialRetryDelay, stopping);
            }
        }
    }

    /// <summary>
    /// A pool signs only in factory mode: the three-transaction flow registers through the registry's one owner.
    /// Readiness (<c>deployment_mode</c>) says why; until the mode allows it no key is leased.
    /// </summary>
    private async Task<bool> PoolModeAllowsSigningAsync(CancellationToken cancellationToken)
    {
        var decision = await modes.ResolveAsync(cancellationToken);
        if (decision.Mode == DeploymentMode.Factory && decision.Usable)
        {
            return true;
        }

        LogPoolNeedsFactory(logger, pool.Signers.Count, decision.Reason);
        return false;
    }

    /// <summary>Waits until this replica is below its share, then for the key's lease; null when the share filled meanwhile.</summary>
    private async Task<ISignerLease?> AcquireWithinShareAsync(PoolSigner signer, CancellationToken stopping)
    {
        while (true)
        {
            var changed = ShareChanged;
            if (_owned.Count < TargetShare)
            {
                break;
            }

            await changed.WaitAsync(stopping);
        }

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var acquiring = leases.AcquireAsync(signer.Address, attempt.Token).AsTask();
        while (true)
        {
            var changed = ShareChanged;
            if (stopping.IsCancellationRequested && !acquiring.IsCompleted)
            {
                // The wait below then completes at once, and this loop may be running inside the callbacks that
                // cancel `stopping`, before the one that cancels the attempt: cancel it here, or shutdown spins.
                await attempt.CancelAsync();
            }

            if (_owned.Count >= TargetShare && !acquiring.IsCompleted)
            {
                // Another of this replica's keys filled the share: stop waiting for this one (a dead owner's key is
                // waited for again once the share grows).
                await attempt.CancelAsync();
                try
                {
                    var late = await acquiring;
                    await late.DisposeAsync();
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    // Expected.
                }

                return null;
            }

            if (await Task.WhenAny(acquiring, changed.WaitAsync(stopping)) == acquiring)
            {
                return await acquiring;
            }
        }
    }

    private async Task OwnAsync(PoolSigner signer, ISignerLease lease, CancellationToken stopping, CancellationToken processing)
    {
        // A new owner cannot trust any nonce it remembers: another owner may have sent more since. That holds even
        // when the fencing token equals the last one this process held (Redis lost its data and the counter restarted).
        await ResyncHoldingTheLeaseAsync(signer, lease, stopping);
        LogOwnerAcquired(logger, signer.Index, signer.Address, lease.FencingToken);

        using var release = new CancellationTokenSource();
        using var handOver = CancellationTokenSource.CreateLinkedTokenSource(lease.Lost, release.Token);
        using var intake = CancellationTokenSource.CreateLinkedTokenSource(stopping, handOver.Token);
        using var work = CancellationTokenSource.CreateLinkedTokenSource(processing, lease.Lost);
        // Handing a key over lets in-flight jobs finish within the grace period, then parks the rest.
        using var onRelease = release.Token.Register(() => work.CancelAfter(_options.ShutdownGracePeriod));
        var run = new KeyRun(signer, signerQueues.GetQueue(signer.Address), release, lease.Lost, intake.Token, work.Token);

        signer.Owned(lease.FencingToken);
        signer.Owner = leases.ReplicaId;
        _owned[signer.Index] = run;
        SignalShareChanged();
        try
        {
            await RequeueAsync(TimeSpan.Zero, adoptFor: signer, withUnbound: _owned.Count == 1, intake.Token);
            await DispatchKeyAsync(run);
        }
        finally
        {
            run.Close();
            await run.Drained;
            _owned.TryRemove(signer.Index, out _);
            signer.Released();
            signer.Owner = null;
            // The next owner drives the nonces from here: this process's block follower must not fill what looks
            // like a gap below the nonces it once handed out, taking a nonce the new owner is about to use.
            await signer.Chain.ForgetNoncesAsync();

            SignalShareChanged();
            if (lease.Lost.IsCancellationRequested)
            {
                LogOwnerLost(logger, signer.Index, signer.Address);
            }
            else if (release.IsCancellationRequested)
            {
                LogHandedOver(logger, signer.Index, signer.Address);
            }
        }
    }

    /// <summary>
    /// Reads the key's nonces from the chain, keeping the lease while the RPC is down: the key stays with this replica
    /// (nobody could sign meanwhile anyway) and its jobs start as soon as the node answers, instead of the lease going
    /// back and forth between replicas, each taking and dropping it at every failed read, until the outage ends.
    /// </summary>
    private static readonly TimeSpan MaxResyncWait = TimeSpan.FromSeconds(2);

    private async Task ResyncHoldingTheLeaseAsync(PoolSigner signer, ISignerLease lease, CancellationToken stopping)
    {
        using var holding = CancellationTokenSource.CreateLinkedTokenSource(stopping, lease.Lost);
        // Whatever this process remembers of the key may be stale in either direction: start from the node.
        await signer.Chain.ForgetNoncesAsync();
        var delay = _options.InitialRetryDelay;
        while (true)
        {
            try
            {
                await signer.Chain.ResyncNonceAsync(holding.Token);
                return;
            }
            catch (ChainException ex) when (ex.IsTransient && !holding.IsCancellationRequested)
            {
                LogResyncWaiting(logger, signer.Index, signer.Address, ex.Message);
            }

            // Throws when the lease is lost or the host stops: the caller's handlers take it from there.
            await Task.Delay(delay, timeProvider, holding.Token);
            // Capped low: once the node answers, the key's jobs should start within a couple of seconds.
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxResyncWait.Ticks));
        }
    }

    /// <summary>Jobs bound to an owned key, from the key's own queue.</summary>
    private async Task DispatchKeyAsync(KeyRun run)
    {
        var slots = _slots!;
        try
        {
            while (!run.Intake.IsCancellationRequested)
            {
                try
                {
                    await slots.WaitAsync(run.Intake);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                QueueItem? item;
                try
                {
                    item = await run.Queue.DequeueAsync(run.Intake);
                }
                catch (StoreUnavailableException ex)
                {
                    slots.Release();
                    LogQueueUnavailable(logger, ex.Message);
                    await DelayQuietly(_options.InitialRetryDelay, run.Intake);
                    continue;
                }

                if (item is null)
                {
                    slots.Release();
                    break;
                }

                Start(run, item, run.Queue);
            }
        }
        finally
        {
            run.Close();
        }
    }

    /// <summary>
    /// Unbound jobs from the shared queue, taken only while this process owns a key that is not being handed over;
    /// each goes to the owned key running the fewest jobs. A held job waiting for a receipt costs no thread; what
    /// bounds throughput is each key's in-flight window (MAX_IN_FLIGHT_PER_KEY).
    /// </summary>
    private async Task DispatchSharedAsync(CancellationToken stopping)
    {
        var slots = _slots!;
        while (!stopping.IsCancellationRequested)
        {
            var changed = ShareChanged;
            var open = _owned.Values.Where(r => r.IsOpen).ToList();
            if (open.Count == 0)
            {
                try
                {
                    await changed.WaitAsync(stopping);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            try
            {
                await slots.WaitAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            // Dequeue only while some key is owned: losing every key cancels the wait.
            using var anyOwned = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var watcher = WatchOwnershipAsync(anyOwned);
            QueueItem? item;
            try
            {
                item = await queue.DequeueAsync(anyOwned.Token);
            }
            catch (StoreUnavailableException ex)
            {
                slots.Release();
                LogQueueUnavailable(logger, ex.Message);
                await DelayQuietly(_options.InitialRetryDelay, stopping);
                continue;
            }
            finally
            {
                await anyOwned.CancelAsync();
                await watcher;
            }

            if (item is null)
            {
                slots.Release();
                continue;
            }

            var target = _owned.Values.Where(r => r.IsOpen).OrderBy(r => r.Signer.ActiveJobs).ThenBy(r => r.Signer.Index).FirstOrDefault();
            if (target is null)
            {
                // Every key went away between the dequeue and now: the job goes back for whoever owns one.
                slots.Release();
                await ReturnToSharedQueueAsync(item);
                continue;
            }

            Start(target, item, queue);
        }
    }

    private async Task WatchOwnershipAsync(CancellationTokenSource whenNoneOwned)
    {
        try
        {
            while (!whenNoneOwned.IsCancellationRequested)
            {
                var changed = ShareChanged;
                if (!_owned.Values.Any(r => r.IsOpen))
                {
                    await whenNoneOwned.CancelAsync();
                    return;
                }

                await changed.WaitAsync(whenNoneOwned.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The dequeue finished first.
        }
    }

    private void Start(KeyRun run, QueueItem item, IDeploymentQueue source)
    {
        var slots = _slots!;
        // Counted before the job starts, so the next unbound job already sees this key as busier.
        run.Signer.JobStarted();
        if (!run.TryTrack(() => RunItemAsync(run, item, source, slots)))
        {
            // The key was handed over between the dequeue and now: the item goes back to where it came from.
            run.Signer.JobEnded();
            slots.Release();
            _ = ReturnAsync(source, item);
        }
    }

    private async Task ReturnAsync(IDeploymentQueue source, QueueItem item)
    {
        try
        {
            await source.EnqueueAsync(item.JobId, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            LogQueueUnavailable(logger, ex.Message);
            return;
        }

        await AcknowledgeQuietly(source, item);
    }

    private async Task RunItemAsync(KeyRun run, QueueItem item, IDeploymentQueue source, SemaphoreSlim slots)
    {
        try
        {
            // Off the dispatcher's stack: the dispatcher goes straight back to the queue.
            await Task.Yield();
            await HandleAsync(run, item, source);
        }
        finally
        {
            run.Signer.JobEnded();
            slots.Release();
        }
    }

    /// <summary>The key a job belongs to: its binding, or the pool's first key for jobs that started before bindings existed.</summary>
    private string? BoundSigner(DeploymentJob job) =>
        job.SignerAddress ?? (job.Status == DeploymentStatus.Pending ? null : pool.Signers[0].Address);

    private async Task HandleAsync(KeyRun run, QueueItem item, IDeploymentQueue source)
    {
        if (!_active.TryAdd(item.JobId, 0))
        {
            // Already running here (a duplicate delivery); the running copy acknowledges its own item.
            await AcknowledgeQuietly(source, item);
            return;
        }

        Interlocked.Increment(ref _inFlight);
        telemetry.JobStarted();
        try
        {
            // The job is read once per delivery: the scope, the routing, the run and its first attempt share the read.
            var (read, job) = await ReadOnceAsync(item.JobId, run.Work);
            using var scope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = item.JobId, ["ModelId"] = job?.Request.ModelId ?? string.Empty, ["DeliveryCount"] = item.DeliveryCount, ["Signer"] = run.Signer.Address });
            if (read && (job is null || job.Status.IsFinal()))
            {
                await AcknowledgeQuietly(source, item);
                return;
            }

            if (job is not null && BoundSigner(job) is { } bound && !string.Equals(bound, run.Signer.Address, StringComparison.OrdinalIgnoreCase))
            {
                await RouteAsync(job.Id, bound, source, item);
                return;
            }

            if (!run.IsOpen && job?.SignerAddress is null)
            {
                // Taken just as the key is being handed over and not started yet: back to the shared queue.
                await ReturnToSharedQueueAsync(item, source);
                return;
            }

            var outcome = await ProcessWithRetriesAsync(run, item.JobId, job, run.Work);
            if (outcome == RunOutcome.Rebound)
            {
                // Another key's owner bound the job first (two deliveries of one pending job raced).
                var current = await store.GetAsync(item.JobId, CancellationToken.None);
                if (current?.SignerAddress is { } other)
                {
                    await RouteAsync(item.JobId, other, source, item);
                    return;
                }

                outcome = RunOutcome.Requeue;
            }

            if (outcome == RunOutcome.Parked)
            {
                if (run.HandingOver)
                {
                    await HandOverAsync(item, source);
                }

                return;
            }

            if (outcome == RunOutcome.Requeue)
            {
                await QueueFor(await store.GetAsync(item.JobId, CancellationToken.None)).EnqueueAsync(item.JobId, CancellationToken.None);
            }

            await AcknowledgeQuietly(source, item);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or OperationCanceledException)
        {
            // Not acknowledged: the queue redelivers it (or the recovery sweep finds it), unless the key went to
            // another process, which gets it now through the key's queue.
            LogParked(logger, item.JobId, ex.Message);
            if (run.HandingOver)
            {
                await HandOverAsync(item, source);
            }
        }
        finally
        {
            _active.TryRemove(item.JobId, out _);
            Interlocked.Decrement(ref _inFlight);
            telemetry.JobFinished();
            await ReportDepthQuietly();
        }
    }

    /// <summary>The queue a job belongs on: its key's when bound, else the shared one.</summary>
    private IDeploymentQueue QueueFor(DeploymentJob? job) =>
        job is not null && BoundSigner(job) is { } bound ? signerQueues.GetQueue(bound) : queue;

    /// <summary>A bound job delivered to a replica that does not own its key goes to the key's queue, read by its owner.</summary>
    private async Task RouteAsync(Guid jobId, string signer, IDeploymentQueue source, QueueItem item)
    {
        if (pool.Find(signer) is null)
        {
            // Bound to a key no longer configured: only that key may sign for it, so it waits on the key's queue
            // until the key is configured again (see key rotation in the README). Never dropped, never re-signed.
            LogBoundToUnknownKey(logger, jobId, signer);
        }

        try
        {
            await signerQueues.GetQueue(signer).EnqueueAsync(jobId, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            // Unacknowledged, it is redelivered or swept later.
            LogQueueUnavailable(logger, ex.Message);
            return;
        }

        LogRouted(logger, jobId, signer);
        await AcknowledgeQuietly(source, item);
    }

    private async Task ReturnToSharedQueueAsync(QueueItem item, IDeploymentQueue? source = null)
    {
        try
        {
            await queue.EnqueueAsync(item.JobId, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            LogQueueUnavailable(logger, ex.Message);
            return;
        }

        await AcknowledgeQuietly(source ?? queue, item);
    }

    private enum RunOutcome
    {
        Done,
        Requeue,
        Parked,
        Rebound,
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

    private async Task<RunOutcome> ProcessWithRetriesAsync(KeyRun run, Guid jobId, DeploymentJob? job, CancellationToken cancellationToken)
    {
        var processor = run.Signer.Processor;
        var chain = run.Signer.Chain;
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
                        if (BoundSigner(current) is { } bound && !string.Equals(bound, run.Signer.Address, StringComparison.OrdinalIgnoreCase))
                        {
                            // Its nonces belong to another key: only that key's owner may go on.
                            throw new JobReboundException();
                        }

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
        catch (JobReboundException)
        {
            return RunOutcome.Rebound;
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

    /// <summary>Re-queues unfinished jobs untouched for <see cref="JobEngineOptions.StaleAfter"/>, while this process owns a key.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await DelayQuietly(_options.RecoverySweepInterval, cancellationToken))
            {
                return;
            }

            if (_owned.IsEmpty)
            {
                continue;
            }

            try
            {
                await RequeueAsync(_options.StaleAfter, adoptFor: null, withUnbound: true, cancellationToken);
            }
            catch (StoreUnavailableException ex)
            {
                LogQueueUnavailable(logger, ex.Message);
            }
        }
    }

    /// <summary>
    /// Re-queues unfinished jobs, each on its queue (bound: its key's; unbound: the shared one). When a key is taken
    /// (<paramref name="adoptFor"/>), every job bound to it is re-queued and its persisted transactions are handed
    /// to the key's nonce sequence, so a nonce the node misses is re-sent from its stored bytes before anything
    /// else waits behind the gap.
    /// </summary>
    private async Task RequeueAsync(TimeSpan olderThan, PoolSigner? adoptFor, bool withUnbound, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var count = 0;
        foreach (var id in await store.GetUnfinishedAsync(cancellationToken))
        {
            if (_active.ContainsKey(id) || await store.GetAsync(id, cancellationToken) is not { } job)
            {
                continue;
            }

            var bound = BoundSigner(job);
            var mine = adoptFor is not null && string.Equals(bound, adoptFor.Address, StringComparison.OrdinalIgnoreCase);
            if (mine)
            {
                var t = job.Transactions;
                // Replaced versions first: the current version of a nonce is the one remembered for it.
                foreach (var sent in t.Replaced.Concat(new[] { t.TokenDeployment, t.Registration, t.Mint }).OfType<SentTransaction>())
                {
                    adoptFor!.Chain.TrackPersisted(sent.Nonce, sent.RawTransaction);
                }
            }

            var wanted = adoptFor is null
                ? (bound is not null || withUnbound) && now - job.UpdatedAt >= olderThan
                : mine || (bound is null && withUnbound);
            if (!wanted)
            {
                continue;
            }

            await (bound is null ? queue : signerQueues.GetQueue(bound)).EnqueueAsync(id, cancellationToken);
            count++;
        }

        if (count > 0)
        {
            LogRequeuedUnfinished(logger, count);
        }
    }

    /// <summary>
    /// Announces this replica and keeps its share of the pool: above it, the highest owned key is handed over
    /// (one at a time, after its jobs finished or were parked); below it, the waiting key loops try more keys.
    /// </summary>
    private async Task ShareAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    var alive = await leases.AnnounceAsync(stopping);
                    if (Interlocked.Exchange(ref _liveReplicas, alive) != alive)
                    {
                        LogShare(logger, alive, SignerShare.Target(pool.Signers.Count, alive), pool.Signers.Count);
                        SignalShareChanged();
                    }

                    var owned = _owned.Values.ToList();
                    if (!owned.Any(r => r.Releasing) && SignerShare.ToRelease(owned.Select(r => r.Signer.Index).ToList(), TargetShare) is { } index &&
                        _owned.TryGetValue(index, out var extra))
                    {
                        LogHandingOver(logger, extra.Signer.Index, extra.Signer.Address, owned.Count, TargetShare);
                        extra.Release();
                        SignalShareChanged();
                    }
                }
                catch (StoreUnavailableException ex)
                {
                    // The last known share stands; leases themselves keep the exclusion.
                    LogQueueUnavailable(logger, ex.Message);
                }

                await DelayQuietly(leases.AnnounceInterval, stopping);
            }
        }
        finally
        {
            try
            {
                // Leaving: the others take this replica's keys at their next announcement instead of after a TTL.
                await leases.WithdrawAsync(CancellationToken.None);
            }
            catch (StoreUnavailableException ex)
            {
                LogQueueUnavailable(logger, ex.Message);
            }
        }
    }

    private Task ShareChanged
    {
        get
        {
            lock (_shareLock)
            {
                return _shareChanged.Task;
            }
        }
    }

    private void SignalShareChanged()
    {
        TaskCompletionSource changed;
        lock (_shareLock)
        {
            changed = _shareChanged;
            _shareChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private async Task ReportDepthQuietly()
    {
        try
        {
            telemetry.ReportQueueDepth(await queue.GetDepthAsync(CancellationToken.None));
        }
        catch (StoreUnavailableException)
        {
            // The gauge keeps its last value; the Redis health check reports the outage.
        }
    }

    /// <summary>
    /// A job parked because this process lost or handed over its key goes to the key's queue for the new owner
    /// (an unbound one back to the shared queue). Left unacknowledged, it would stay with this live consumer,
    /// which keeps its entries from being reclaimed, until the stale sweep found it minutes later.
    /// </summary>
    private async Task HandOverAsync(QueueItem item, IDeploymentQueue source)
    {
        try
        {
            var job = await store.GetAsync(item.JobId, CancellationToken.None);
            await (job is null || BoundSigner(job) is null ? queue : signerQueues.GetQueue(BoundSigner(job)!)).EnqueueAsync(item.JobId, CancellationToken.None);
        }
        catch (StoreUnavailableException ex)
        {
            // Unacknowledged, it is redelivered or swept later; the new owner also re-queues the key's jobs.
            LogQueueUnavailable(logger, ex.Message);
            return;
        }

        await AcknowledgeQuietly(source, item);
    }

    private async Task AcknowledgeQuietly(IDeploymentQueue source, QueueItem item)
    {
        try
        {
            await source.AcknowledgeAsync(item, CancellationToken.None);
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

    [LoggerMessage(30, LogLevel.Information, "Owning signer key {Index} ({Signer}) with fencing token {FencingToken}; nonces resynchronised from the chain")]
    private static partial void LogOwnerAcquired(ILogger logger, int index, string signer, long fencingToken);

    [LoggerMessage(39, LogLevel.Warning, "Holding signer key {Index} ({Signer}) until the chain answers its nonce read: {Reason}")]
    private static partial void LogResyncWaiting(ILogger logger, int index, string signer, string reason);

    [LoggerMessage(31, LogLevel.Warning, "Lost the lease on signer key {Index} ({Signer}); in-flight jobs are parked for the next owner")]
    private static partial void LogOwnerLost(ILogger logger, int index, string signer);

    [LoggerMessage(32, LogLevel.Warning, "Job engine interrupted on signer {Signer}: {Reason}")]
    private static partial void LogOwnershipInterrupted(ILogger logger, string signer, string reason);

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

    [LoggerMessage(41, LogLevel.Information, "Signer key {Index} ({Signer}) handed over after its jobs finished or were parked")]
    private static partial void LogHandedOver(ILogger logger, int index, string signer);

    [LoggerMessage(42, LogLevel.Information, "Handing signer key {Index} ({Signer}) over: this replica holds {Owned} keys, its share is {Target}")]
    private static partial void LogHandingOver(ILogger logger, int index, string signer, int owned, int target);

    [LoggerMessage(43, LogLevel.Information, "{Replicas} replicas alive: each holds up to {Target} of the {Keys} signer keys")]
    private static partial void LogShare(ILogger logger, int replicas, int target, int keys);

    [LoggerMessage(44, LogLevel.Debug, "Job {JobId} is bound to signer {Signer}, not owned here; routed to that key's queue")]
    private static partial void LogRouted(ILogger logger, Guid jobId, string signer);

    [LoggerMessage(45, LogLevel.Error, "Job {JobId} is bound to signer {Signer}, which is not in the pool; it waits on that key's queue until the key is configured again")]
    private static partial void LogBoundToUnknownKey(ILogger logger, Guid jobId, string signer);

    [LoggerMessage(46, LogLevel.Error, "The signer pool has {Keys} keys but jobs would start in legacy mode ({Reason}); no key signs until factory mode is available (see readiness check deployment_mode)")]
    private static partial void LogPoolNeedsFactory(ILogger logger, int keys, string reason);

    /// <summary>A job turned out bound to another key than the one running it.</summary>
    private sealed class JobReboundException : Exception
    {
    }

    /// <summary>One owned key while this process holds its lease: its queue, tokens and the jobs running on it.</summary>
    private sealed class KeyRun(PoolSigner signer, IDeploymentQueue queue, CancellationTokenSource release, CancellationToken lost, CancellationToken intake, CancellationToken work)
    {
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _lock = new();
        private int _running;
        private int _closedFlag;
        private bool _drainedFlag;
        private int _releasing;

        public PoolSigner Signer { get; } = signer;

        public IDeploymentQueue Queue { get; } = queue;

        /// <summary>Stops taking jobs for the key (shutdown, lease lost, hand-over).</summary>
        public CancellationToken Intake { get; } = intake;

        /// <summary>Cuts processing (after the grace period on shutdown or hand-over; at once when the lease is lost).</summary>
        public CancellationToken Work { get; } = work;

        /// <summary>
        /// True once the key goes to another process (lease lost or released): parked jobs are handed to its queue.
        /// Read from the lease and the release themselves, not from a token linked to them: a linked token is
        /// cancelled by a callback of the lease's, and callbacks run one after another (last registered first), so a
        /// job whose wait ended in the callback cancelling <see cref="Work"/> would still see a linked token uncancelled,
        /// park without handing the job over, and leave it with this live consumer where nobody resumes it.
        /// </summary>
        public bool HandingOver => lost.IsCancellationRequested || release.IsCancellationRequested;

        public bool Releasing => Volatile.Read(ref _releasing) == 1;

        /// <summary>Takes unbound jobs.</summary>
        public bool IsOpen => Volatile.Read(ref _closedFlag) == 0 && !Releasing && !Intake.IsCancellationRequested;

        /// <summary>Completes once closed and every job started on the key has ended (finished, parked or routed).</summary>
        public Task Drained => _drained.Task;

        public void Release()
        {
            Volatile.Write(ref _releasing, 1);
            release.Cancel();
        }

        /// <summary>Starts a job on the key unless the key already drained (then its lease may be gone: nothing may sign).</summary>
        public bool TryTrack(Func<Task> start)
        {
            lock (_lock)
            {
                if (_drainedFlag)
                {
                    return false;
                }

                _running++;
            }

            _ = start().ContinueWith(_ => Ended(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return true;
        }

        public void Close()
        {
            lock (_lock)
            {
                _closedFlag = 1;
                if (_running > 0 || _drainedFlag)
                {
                    return;
                }

                _drainedFlag = true;
            }

            _drained.TrySetResult();
        }

        private void Ended()
        {
            lock (_lock)
            {
                _running--;
                if (_running > 0 || _closedFlag == 0 || _drainedFlag)
                {
                    return;
                }

                _drainedFlag = true;
            }

            _drained.TrySetResult();
        }
    }
}
