using System.Diagnostics;
using System.Globalization;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Jobs;

/// <summary>
/// The step runner: drives one job through <see cref="DeploymentWorkflow"/>, one step at a time, each
/// step's transaction through the <see cref="TransactionExecutor"/> (persisted before broadcast, so a
/// run that stops anywhere resumes without a second transaction), failures through the
/// <see cref="DeploymentErrorMapper"/>.
/// </summary>
internal sealed partial class DeploymentProcessor(
    IDeploymentStore store,
    IChainClient chain,
    TransactionExecutor executor,
    DeploymentErrorMapper errors,
    DeploymentModeResolver modes,
    DeploymentDurationEstimator durations,
    IOptions<HokusaiContractsOptions> options,
    TimeProvider timeProvider,
    ContractsTelemetry telemetry,
    ILogger<DeploymentProcessor> logger)
{
    private long _chainId;

    /// <summary>Runs a job as far as it can go.</summary>
    /// <param name="job">The job as just read from the store (read once per delivery).</param>
    /// <param name="cancellationToken">Parks the run.</param>
    /// <returns>The job as persisted when the run ended.</returns>
    /// <exception cref="ChainException">A transient failure: the caller retries the whole run.</exception>
    /// <exception cref="StoreUnavailableException">The store is down: the caller retries the whole run.</exception>
    /// <exception cref="JobConflictException">Another writer changed the job: the caller re-reads it.</exception>
    /// <exception cref="DeploymentHeldException">A registered token's mint cannot go through yet: the caller retries later.</exception>
    public async Task<DeploymentJob> RunAsync(DeploymentJob job, CancellationToken cancellationToken)
    {
        if (job.Status.IsFinal())
        {
            return job;
        }

        // The span joins the trace of the request that accepted the job (its traceparent is stored with it).
        using var activity = ContractsTelemetry.StartActivity("deployment process", ActivityKind.Consumer, job.TraceParent);
        activity?.SetTag("hokusai.job_id", job.Id.ToString());
        activity?.SetTag("hokusai.model_id", job.Request.ModelId);
        activity?.SetTag("hokusai.attempt", job.Attempts + 1);

        var context = new JobContext(store, timeProvider, job, logger);
        if (job.Status == DeploymentStatus.Pending)
        {
            // The mode is fixed when the job starts (it may already be fixed since acceptance).
            var mode = job.Mode ?? (await modes.ResolveAsync(cancellationToken)).Mode;
            var predicted = mode == DeploymentMode.Factory ? job.PredictedTokenAddress ?? chain.PredictTokenAddress(job.Request) : null;
            // The job binds to this processor's key before its first transaction is prepared: its nonces belong to
            // that key, so only the key's owner may ever resume or replace them (the version CAS makes one binding win).
            await context.SaveAsync(j => DeploymentWorkflow.Start(j, mode) with { Attempts = j.Attempts + 1, PredictedTokenAddress = predicted, SignerAddress = j.SignerAddress ?? chain.DeployerAddress }, cancellationToken);
        }
        else
        {
            // Jobs persisted before modes existed ran the three-transaction flow.
            // Jobs persisted before the signer pool were signed by the one key there was, the pool's first.
            await context.SaveAsync(j => j with { Mode = j.Mode ?? DeploymentMode.Legacy, Attempts = j.Attempts + 1, StepDetail = $"Resuming at {j.Step.ToWireValue()}", SignerAddress = j.SignerAddress ?? chain.DeployerAddress }, cancellationToken);
        }

        activity?.SetTag("hokusai.mode", context.Job.Mode.ToString());
        try
        {
            while (!context.Job.Status.IsFinal())
            {
                await RunStepAsync(context, cancellationToken);
            }
        }
        catch (ChainException ex) when (!ex.IsTransient)
        {
            await FailOrHoldAsync(context, ex, cancellationToken);
        }
        catch (DeploymentFailedException ex)
        {
            await FailAsync(context, ex.Error, cancellationToken);
        }

        return context.Job;
    }

    /// <summary>Marks a job failed after transient errors outlasted the retries (only when nothing was sent).</summary>
    public async Task<DeploymentJob?> FailExhaustedAsync(Guid jobId, Exception lastError, CancellationToken cancellationToken)
    {
        var job = await store.GetAsync(jobId, cancellationToken);
        if (job is null || job.Status.IsFinal())
        {
            return job;
        }

        var context = new JobContext(store, timeProvider, job, logger);
        await FailAsync(context, errors.Exhausted(lastError), cancellationToken);
        return context.Job;
    }

    private async Task RunStepAsync(JobContext context, CancellationToken cancellationToken)
    {
        var step = context.Job.Step;
        var mode = context.Job.Mode ?? DeploymentMode.Legacy;
        using var activity = ContractsTelemetry.StartActivity("deployment " + ContractsTelemetry.StepName(step));
        var started = Stopwatch.GetTimestamp();
        var succeeded = false;
        try
        {
            await ((mode, step) switch
            {
                (DeploymentMode.Legacy, DeploymentStep.DeployingToken) => DeployTokenAsync(context, cancellationToken),
                (DeploymentMode.Legacy, DeploymentStep.RegisteringModel) => RegisterAsync(context, cancellationToken),
                (DeploymentMode.Legacy, DeploymentStep.MintingTokens) => MintAsync(context, cancellationToken),
                (DeploymentMode.Factory, DeploymentStep.DeployingToken) => DeployThroughFactoryAsync(context, cancellationToken),
                (_, DeploymentStep.Confirming) => ConfirmAsync(context, cancellationToken),
                _ => throw new InvalidOperationException($"Job {context.Job.Id} is on step {step.ToWireValue()}, which {mode} mode does not have."),
            });
            succeeded = true;
        }
        finally
        {
            telemetry.StepFinished(step, Stopwatch.GetElapsedTime(started), succeeded);
            if (!succeeded)
            {
                activity?.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    private async Task DeployTokenAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Job.Request;
        if (context.Job.Transactions.TokenDeployment is null &&
            await chain.GetRegisteredTokenAsync(request.ModelId, cancellationToken) is { } existing)
        {
            // The one registry check, before anything is spent: another process (or a wiped store) may
            // already have given this model its token. Later, the registry contract itself rejects duplicates.
            throw new DeploymentFailedException(errors.TokenExists(request.ModelId, existing));
        }

        var receipt = await executor.ExecuteAsync(
            context,
            TransactionSlot.TokenDeployment,
            progress => chain.PrepareTokenDeploymentAsync(request.TokenName, request.TokenSymbol, progress, cancellationToken),
            cancellationToken);

        var address = receipt.ContractAddress ?? context.Job.Transactions.TokenAddress
            ?? throw new ChainException(ChainErrorKind.Permanent, "The token creation receipt has no contract address.");
        await AdvanceAsync(context, j => j with { Transactions = WithTokenReceipt(j.Transactions, address, receipt) }, cancellationToken);
        LogStep(logger, context.Job.Id, request.ModelId, "token deployed", address);
    }

    private async Task DeployThroughFactoryAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Job.Request;
        // No registry read: the estimate of deployToken is the duplicate check (ModelAlreadyHasToken).
        var receipt = await executor.ExecuteAsync(
            context,
            TransactionSlot.TokenDeployment,
            progress => chain.PrepareFactoryDeploymentAsync(request, progress, cancellationToken),
            cancellationToken);

        var address = context.Job.PredictedTokenAddress ?? context.Job.Transactions.TokenAddress
            ?? throw new ChainException(ChainErrorKind.Permanent, "The factory deployment has no predicted token address.");
        await AdvanceAsync(context, j => j with { Transactions = WithTokenReceipt(j.Transactions, address, receipt) }, cancellationToken);
        LogStep(logger, context.Job.Id, request.ModelId, "token deployed, registered and minted", address);
    }

    private async Task RegisterAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Job.Request;
        var token = context.Job.Transactions.TokenAddress!;
        await executor.ExecuteAsync(
            context,
            TransactionSlot.Registration,
            progress => chain.PrepareRegistrationAsync(request.ModelId, token, request.PerformanceMetric, progress, cancellationToken),
            cancellationToken);

        await AdvanceAsync(context, j => j, cancellationToken);
        LogStep(logger, context.Job.Id, request.ModelId, "model registered", token);
    }

    private async Task MintAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Job.Request;
        await executor.ExecuteAsync(
            context,
            TransactionSlot.Mint,
            progress => chain.PrepareMintAsync(request.ModelId, request.UserAddress, request.InitialSupply, progress, cancellationToken),
            cancellationToken);

        await AdvanceAsync(context, j => j, cancellationToken);
        LogStep(logger, context.Job.Id, request.ModelId, "initial supply minted", request.InitialSupply.ToString(CultureInfo.InvariantCulture));
    }

    private async Task ConfirmAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        var token = job.Transactions.TokenAddress!;
        var factory = job.Mode == DeploymentMode.Factory;
        if (factory)
        {
            // The created address is not in the receipt of a call; the registry names it, and it must be
            // the predicted one. (In legacy mode the registration's receipt already proves the mapping.)
            var registered = await chain.GetRegisteredTokenAsync(job.Request.ModelId, cancellationToken);
            if (!string.Equals(registered, token, StringComparison.OrdinalIgnoreCase))
            {
                throw new DeploymentFailedException(new DeploymentError
                {
                    Code = ErrorCodes.DeploymentFailed,
                    Message = "The registry does not map the model to the predicted token address.",
                    Details = new Dictionary<string, string>(StringComparer.Ordinal) { ["registeredToken"] = registered ?? "none", ["predictedTokenAddress"] = token },
                    Suggestions = ["Contact support with the request id."],
                    Timestamp = timeProvider.GetUtcNow(),
                });
            }
        }

        var chainId = await GetChainIdAsync(cancellationToken);
        var now = timeProvider.GetUtcNow();
        var receipt = job.Transactions.TokenReceipt!;
        var deployHash = job.Transactions.TokenDeployment!.Hash;
        var details = new TokenDetails
        {
            TokenAddress = token,
            TokenName = job.Request.TokenName,
            TokenSymbol = job.Request.TokenSymbol,
            TransactionHash = deployHash,
            // Factory mode has one transaction for all three effects, so its hash is repeated.
            RegistryTransactionHash = factory ? deployHash : job.Transactions.Registration!.Hash,
            MintTransactionHash = factory ? (job.Request.InitialSupply > 0 ? deployHash : null) : job.Transactions.Mint?.Hash,
            BlockNumber = receipt.BlockNumber,
            GasUsed = receipt.GasUsed,
            GasPrice = receipt.EffectiveGasPrice,
            DeploymentTime = now,
            Network = options.Value.Chain.NetworkName,
            ChainId = chainId,
        };
        await AdvanceAsync(context, j => j with { CompletedAt = now, TokenDetails = details, Transactions = j.Transactions.WithoutRawBytes() }, cancellationToken);
        telemetry.DeploymentCompleted(now - job.CreatedAt);
        durations.RecordCompleted(now - job.CreatedAt);
        LogCompleted(logger, job.Id, job.Request.ModelId, token, (now - job.CreatedAt).TotalMilliseconds);
    }

    /// <summary>Applies <paramref name="change"/> and moves the job to its next step per <see cref="DeploymentWorkflow"/>, in one save.</summary>
    private static Task AdvanceAsync(JobContext context, Func<DeploymentJob, DeploymentJob> change, CancellationToken cancellationToken) =>
        context.SaveAsync(j => DeploymentWorkflow.Advance(change(j)), cancellationToken);

    private static JobTransactions WithTokenReceipt(JobTransactions transactions, string address, ChainReceipt receipt) => transactions with
    {
        TokenAddress = address,
        TokenReceipt = new ReceiptSummary(
            receipt.BlockNumber,
            receipt.GasUsed.ToString(CultureInfo.InvariantCulture),
            receipt.EffectiveGasPrice.ToString(CultureInfo.InvariantCulture)),
    };

    /// <summary>
    /// Fails the job, except once its token is registered (legacy mode, minting step): then the model is
    /// taken on chain, so a failed job would block it for good. The job stays processing, forgets a
    /// mint that was mined reverted, and is retried later until the mint goes through.
    /// </summary>
    private async Task FailOrHoldAsync(JobContext context, ChainException exception, CancellationToken cancellationToken)
    {
        var job = context.Job;
        if (job.Mode != DeploymentMode.Factory && job.Step == DeploymentStep.MintingTokens)
        {
            var error = errors.Map(exception, job);
            var detail = $"Token registered; the initial supply could not be minted yet ({error.Code}: {error.Message}); retrying";
            // A mint mined with a revert used its nonce and can never succeed: the next attempt prepares a fresh one.
            var forgetMint = exception.Kind == ChainErrorKind.Reverted && job.Transactions.Mint is not null;
            await context.SaveAsync(j => j with
            {
                StepDetail = detail,
                Transactions = forgetMint ? j.Transactions with { Mint = null, Replaced = [] } : j.Transactions,
            }, cancellationToken);
            LogHeld(logger, job.Id, job.Request.ModelId, error.Code, error.Message);
            throw new DeploymentHeldException(detail, exception);
        }

        await FailAsync(context, errors.Map(exception, job), cancellationToken);
    }

    private async Task FailAsync(JobContext context, DeploymentError error, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await context.SaveAsync(j => j with
        {
            Status = DeploymentStatus.Failed,
            Step = DeploymentStep.Done,
            StepDetail = error.Message,
            CompletedAt = now,
            Error = error,
        }, cancellationToken);
        telemetry.DeploymentFailed(error.Code, now - context.Job.CreatedAt);
        LogFailed(logger, context.Job.Id, context.Job.Request.ModelId, error.Code, error.Message);
    }

    private async Task<long> GetChainIdAsync(CancellationToken cancellationToken)
    {
        if (_chainId == 0)
        {
            var configured = options.Value.Chain.ChainId;
            _chainId = configured != 0 ? configured : (await chain.GetStatusAsync(cancellationToken)).ChainId;
        }

        return _chainId;
    }

    [LoggerMessage(10, LogLevel.Information, "Job {JobId} model {ModelId}: {What} {Subject}")]
    private static partial void LogStep(ILogger logger, Guid jobId, string modelId, string what, string subject);

    [LoggerMessage(11, LogLevel.Information, "Job {JobId} model {ModelId} completed: token {TokenAddress} in {ElapsedMs} ms")]
    private static partial void LogCompleted(ILogger logger, Guid jobId, string modelId, string tokenAddress, double elapsedMs);

    [LoggerMessage(12, LogLevel.Warning, "Job {JobId} model {ModelId} failed with {ErrorCode}: {ErrorMessage}")]
    private static partial void LogFailed(ILogger logger, Guid jobId, string modelId, string errorCode, string errorMessage);

    [LoggerMessage(17, LogLevel.Warning, "Job {JobId} model {ModelId}: token registered but minting failed with {ErrorCode} ({ErrorMessage}); the job is retried, not failed")]
    private static partial void LogHeld(ILogger logger, Guid jobId, string modelId, string errorCode, string errorMessage);
}

/// <summary>A job-level failure with its API error.</summary>
internal sealed class DeploymentFailedException(DeploymentError error) : Exception(error.Message)
{
    public DeploymentError Error { get; } = error;
}

/// <summary>A job that may not fail (its token is registered) cannot finish now; retry it later.</summary>
internal sealed class DeploymentHeldException(string message, Exception innerException) : Exception(message, innerException);

/// <summary>Another writer changed the job between read and write.</summary>
internal sealed class JobConflictException(Guid jobId) : Exception($"Job {jobId} was changed by another writer.")
{
    public Guid JobId { get; } = jobId;
}

/// <summary>
/// The current persisted state of a job in a run, with serialized compare-and-swap saves. Progress
/// details from the chain engine are saved at most once per <see cref="DetailInterval"/> (the latest
/// one wins), so a fast job costs no extra writes and a slow one still shows why it waits.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The semaphore never allocates a wait handle (AvailableWaitHandle is not used), so there is nothing to release; progress callbacks may outlive the run.")]
internal sealed partial class JobContext
{
    internal static readonly TimeSpan DetailInterval = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _detailLock = new();
    private readonly IDeploymentStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private string? _pendingDetail;
    private bool _flushScheduled;
    private DateTimeOffset _lastDetailSave;

    public JobContext(IDeploymentStore store, TimeProvider timeProvider, DeploymentJob job, ILogger logger)
    {
        _store = store;
        _time = timeProvider;
        _logger = logger;
        Job = job;
        _lastDetailSave = timeProvider.GetUtcNow();
        DetailProgress = new Progress(this);
    }

    public DeploymentJob Job { get; private set; }

    /// <summary>Progress sink handed to the chain engine.</summary>
    public IProgress<string> DetailProgress { get; }

    public async Task SaveAsync(Func<DeploymentJob, DeploymentJob> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var before = Job;
            var now = _time.GetUtcNow();
            var after = change(before) with { Version = before.Version + 1, UpdatedAt = now };
            if (after.Status != before.Status || after.Step != before.Step)
            {
                after = after with { History = [.. before.History, new JobHistoryEntry(now, after.Status, after.Step, after.StepDetail)] };
            }

            if (!await _store.TryUpdateAsync(after, cancellationToken))
            {
                throw new JobConflictException(before.Id);
            }

            Job = after;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void ReportDetail(string detail)
    {
        // Progress is reported from the block follower's thread too, outside the job's log scope: name the model here.
        LogProgress(_logger, Job.Id, Job.Request.ModelId, detail);
        lock (_detailLock)
        {
            _pendingDetail = detail;
            if (_flushScheduled)
            {
                return;
            }

            _flushScheduled = true;
        }

        _ = FlushDetailAsync();
    }

    private async Task FlushDetailAsync()
    {
        try
        {
            var wait = _lastDetailSave + DetailInterval - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time);
            }

            string? detail;
            lock (_detailLock)
            {
                detail = _pendingDetail;
                _pendingDetail = null;
                _flushScheduled = false;
            }

            if (detail is null || Job.StepDetail == detail || Job.Status.IsFinal())
            {
                return;
            }

            await SaveAsync(j => j with { StepDetail = detail }, CancellationToken.None);
            _lastDetailSave = _time.GetUtcNow();
        }
        catch (Exception ex) when (ex is JobConflictException or StoreUnavailableException)
        {
            // A detail is informational: the next step's save carries the job forward regardless.
            LogDetailNotSaved(_logger, Job.Id, ex.Message);
        }
    }

    private sealed class Progress(JobContext context) : IProgress<string>
    {
        public void Report(string value) => context.ReportDetail(value);
    }

    [LoggerMessage(16, LogLevel.Debug, "Job {JobId} model {ModelId}: {Detail}")]
    private static partial void LogProgress(ILogger logger, Guid jobId, string modelId, string detail);

    [LoggerMessage(18, LogLevel.Debug, "Job {JobId}: progress detail not saved ({Reason})")]
    private static partial void LogDetailNotSaved(ILogger logger, Guid jobId, string reason);
}
