using System.Diagnostics;
using System.Globalization;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Jobs;

/// <summary>
/// Drives one job through its state machine. Every step persists its transaction (hash and raw bytes)
/// before broadcasting, so a run that stops anywhere can be resumed: the next run looks the stored
/// transaction up, re-broadcasts the same bytes if the node forgot it, and only prepares a new
/// transaction when the stored one provably can never be mined.
/// </summary>
internal sealed partial class DeploymentProcessor(
    IDeploymentStore store,
    IChainClient chain,
    IOptions<HokusaiContractsOptions> options,
    TimeProvider timeProvider,
    ILogger<DeploymentProcessor> logger)
{
    private long _chainId;

    /// <summary>Runs a job as far as it can go.</summary>
    /// <returns>The job as persisted when the run ended.</returns>
    /// <exception cref="ChainException">A transient failure: the caller retries the whole run.</exception>
    /// <exception cref="StoreUnavailableException">The store is down: the caller retries the whole run.</exception>
    /// <exception cref="JobConflictException">Another writer changed the job: the caller drops this run.</exception>
    public async Task<DeploymentJob?> RunAsync(Guid jobId, CancellationToken cancellationToken)
    {
        var job = await store.GetAsync(jobId, cancellationToken);
        if (job is null || job.Status.IsFinal())
        {
            return job;
        }

        // The span joins the trace of the request that accepted the job (its traceparent is stored with it).
        using var activity = ContractsTelemetry.StartActivity("deployment process", ActivityKind.Consumer, job.TraceParent);
        activity?.SetTag("hokusai.job_id", job.Id.ToString());
        activity?.SetTag("hokusai.model_id", job.Request.ModelId);
        activity?.SetTag("hokusai.attempt", job.Attempts + 1);

        var context = new JobContext(store, timeProvider, job);
        if (job.Status == DeploymentStatus.Pending)
        {
            await context.SaveAsync(j => j with
            {
                Status = DeploymentStatus.Processing,
                Step = DeploymentStep.DeployingToken,
                Progress = 10,
                StepDetail = "Deploying token contract",
                Attempts = j.Attempts + 1,
            }, cancellationToken);
        }
        else
        {
            await context.SaveAsync(j => j with { Attempts = j.Attempts + 1, StepDetail = $"Resuming at {j.Step}" }, cancellationToken);
        }

        try
        {
            await RunStepAsync(context, DeploymentStep.DeployingToken, DeployTokenAsync, cancellationToken);
            await RunStepAsync(context, DeploymentStep.RegisteringModel, RegisterAsync, cancellationToken);
            await RunStepAsync(context, DeploymentStep.MintingTokens, MintAsync, cancellationToken);
            await RunStepAsync(context, DeploymentStep.Confirming, ConfirmAsync, cancellationToken);
        }
        catch (ChainException ex) when (!ex.IsTransient)
        {
            await FailAsync(context, MapChainError(ex, context.Job), cancellationToken);
        }
        catch (DeploymentFailedException ex)
        {
            await FailAsync(context, ex.Error, cancellationToken);
        }

        return context.Job;
    }

    private static async Task RunStepAsync(JobContext context, DeploymentStep step, Func<JobContext, CancellationToken, Task> run, CancellationToken cancellationToken)
    {
        if (context.Job.Step != step)
        {
            return;
        }

        using var activity = ContractsTelemetry.StartActivity("deployment " + ContractsTelemetry.StepName(step));
        var started = Stopwatch.GetTimestamp();
        var succeeded = false;
        try
        {
            await run(context, cancellationToken);
            succeeded = true;
        }
        finally
        {
            ContractsTelemetry.StepFinished(step, Stopwatch.GetElapsedTime(started), succeeded);
            if (!succeeded)
            {
                activity?.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    /// <summary>Marks a job failed after transient errors outlasted the retries (only when nothing was sent).</summary>
    public async Task<DeploymentJob?> FailExhaustedAsync(Guid jobId, Exception lastError, CancellationToken cancellationToken)
    {
        var job = await store.GetAsync(jobId, cancellationToken);
        if (job is null || job.Status.IsFinal())
        {
            return job;
        }

        var context = new JobContext(store, timeProvider, job);
        var unavailable = lastError is StoreUnavailableException;
        await FailAsync(context, new DeploymentError
        {
            Code = ErrorCodes.BlockchainUnavailable,
            Message = unavailable ? "The job store was unavailable for too long." : "The blockchain RPC endpoints were unavailable for too long.",
            Details = Detail("reason", lastError.Message),
            Suggestions = ["Retry the deployment later.", "Check the RPC endpoints configured in RPC_URL / RPC_URLS."],
            Timestamp = timeProvider.GetUtcNow(),
            Retryable = true,
        }, cancellationToken);
        return context.Job;
    }

    private async Task DeployTokenAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Job.Request;
        if (context.Job.Transactions.TokenDeployment is null)
        {
            // The registry is checked before anything is spent: another process (or a wiped store) may
            // already have given this model its token.
            if (await chain.GetRegisteredTokenAsync(request.ModelId, cancellationToken) is { } existing)
            {
                throw new DeploymentFailedException(TokenExists(request.ModelId, existing));
            }
        }

        var receipt = await ExecuteAsync(
            context,
            "token deployment",
            t => t.TokenDeployment,
            (t, sent, prepared) => t with { TokenDeployment = sent, TokenAddress = prepared?.ContractAddress ?? (sent is null ? null : t.TokenAddress) },
            progress => chain.PrepareTokenDeploymentAsync(request.TokenName, request.TokenSymbol, progress, cancellationToken),
            cancellationToken);

        var address = receipt.ContractAddress ?? context.Job.Transactions.TokenAddress
            ?? throw new ChainException(ChainErrorKind.Permanent, "The token creation receipt has no contract address.");
        await context.SaveAsync(j => j with
        {
            Step = DeploymentStep.RegisteringModel,
            Progress = 50,
            StepDetail = "Registering model in the ModelRegistry",
            Transactions = j.Transactions with
            {
                TokenAddress = address,
                TokenReceipt = new ReceiptSummary(
                    receipt.BlockNumber,
                    receipt.GasUsed.ToString(CultureInfo.InvariantCulture),
                    receipt.EffectiveGasPrice.ToString(CultureInfo.InvariantCulture)),
            },
        }, cancellationToken);
        LogStep(logger, context.Job.Id, request.ModelId, "token deployed", address);
    }

    private async Task RegisterAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Job.Request;
        var token = context.Job.Transactions.TokenAddress!;
        if (context.Job.Transactions.Registration is null)
        {
            var registered = await chain.GetRegisteredTokenAsync(request.ModelId, cancellationToken);
            if (registered is not null && !string.Equals(registered, token, StringComparison.OrdinalIgnoreCase))
            {
                throw new DeploymentFailedException(TokenExists(request.ModelId, registered));
            }
        }

        await ExecuteAsync(
            context,
            "registration",
            t => t.Registration,
            (t, sent, _) => t with { Registration = sent },
            progress => chain.PrepareRegistrationAsync(request.ModelId, token, request.PerformanceMetric, progress, cancellationToken),
            cancellationToken);

        var mint = request.InitialSupply > 0;
        await context.SaveAsync(j => j with
        {
            Step = mint ? DeploymentStep.MintingTokens : DeploymentStep.Confirming,
            Progress = mint ? 70 : 90,
            StepDetail = mint ? "Minting initial supply" : "Confirming deployment",
        }, cancellationToken);
        LogStep(logger, context.Job.Id, request.ModelId, "model registered", token);
    }

    private async Task MintAsync(JobContext context, CancellationToken cancellationToken)
    {
        var request = context.Job.Request;
        await ExecuteAsync(
            context,
            "mint",
            t => t.Mint,
            (t, sent, _) => t with { Mint = sent },
            progress => chain.PrepareMintAsync(request.ModelId, request.UserAddress, request.InitialSupply, progress, cancellationToken),
            cancellationToken);

        await context.SaveAsync(j => j with { Step = DeploymentStep.Confirming, Progress = 90, StepDetail = "Confirming deployment" }, cancellationToken);
        LogStep(logger, context.Job.Id, request.ModelId, "initial supply minted", request.InitialSupply.ToString(CultureInfo.InvariantCulture));
    }

    private async Task ConfirmAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        var token = job.Transactions.TokenAddress!;
        var registered = await chain.GetRegisteredTokenAsync(job.Request.ModelId, cancellationToken);
        if (!string.Equals(registered, token, StringComparison.OrdinalIgnoreCase))
        {
            throw new DeploymentFailedException(new DeploymentError
            {
                Code = ErrorCodes.DeploymentFailed,
                Message = "The registry does not map the model to the deployed token.",
                Details = new Dictionary<string, string> { ["registeredToken"] = registered ?? "none", ["tokenAddress"] = token },
                Suggestions = ["Contact support with the request id."],
                Timestamp = timeProvider.GetUtcNow(),
            });
        }

        var chainId = await GetChainIdAsync(cancellationToken);
        var now = timeProvider.GetUtcNow();
        var receipt = job.Transactions.TokenReceipt!;
        var details = new TokenDetails
        {
            TokenAddress = token,
            TokenName = job.Request.TokenName,
            TokenSymbol = job.Request.TokenSymbol,
            TransactionHash = job.Transactions.TokenDeployment!.Hash,
            RegistryTransactionHash = job.Transactions.Registration!.Hash,
            MintTransactionHash = job.Transactions.Mint?.Hash,
            BlockNumber = receipt.BlockNumber,
            GasUsed = receipt.GasUsed,
            GasPrice = receipt.EffectiveGasPrice,
            DeploymentTime = now,
            Network = options.Value.Chain.NetworkName,
            ChainId = chainId,
        };
        await context.SaveAsync(j => j with
        {
            Status = DeploymentStatus.Completed,
            Step = DeploymentStep.Done,
            Progress = 100,
            StepDetail = "Deployment completed",
            CompletedAt = now,
            TokenDetails = details,
        }, cancellationToken);
        ContractsTelemetry.DeploymentCompleted(now - job.CreatedAt);
        LogCompleted(logger, job.Id, job.Request.ModelId, token, (now - job.CreatedAt).TotalMilliseconds);
    }

    /// <summary>
    /// One transaction step: resume a stored transaction or prepare, persist, then broadcast a new one;
    /// then wait for its receipt (and the configured confirmations).
    /// </summary>
    private async Task<ChainReceipt> ExecuteAsync(
        JobContext context,
        string what,
        Func<JobTransactions, SentTransaction?> get,
        Func<JobTransactions, SentTransaction?, PreparedTransaction?, JobTransactions> set,
        Func<IProgress<string>, Task<PreparedTransaction>> prepare,
        CancellationToken cancellationToken)
    {
        var progress = new DetailProgress(context, logger);
        var sent = get(context.Job.Transactions);
        if (sent is not null)
        {
            var lookup = await chain.LookupAsync(sent.Hash, cancellationToken);
            if (lookup.State == TransactionState.Unknown)
            {
                try
                {
                    await chain.BroadcastAsync(new PreparedTransaction(sent.Hash, sent.RawTransaction, sent.Nonce, context.Job.Transactions.TokenAddress), cancellationToken);
                    LogRebroadcast(logger, context.Job.Id, what, sent.Hash);
                }
                catch (ChainException ex) when (ex.Kind == ChainErrorKind.NonceConflict)
                {
                    // Its nonce went to another transaction, so this one can never be mined: forget it
                    // and prepare a fresh one below.
                    LogAbandoned(logger, context.Job.Id, what, sent.Hash);
                    await context.SaveAsync(j => j with { Transactions = set(j.Transactions, null, null) }, cancellationToken);
                    sent = null;
                }
            }
        }

        if (sent is null)
        {
            var prepared = await prepare(progress);
            try
            {
                await context.SaveAsync(j => j with
                {
                    Transactions = set(j.Transactions, new SentTransaction(prepared.Hash, prepared.RawTransaction, prepared.Nonce), prepared),
                }, cancellationToken);
            }
            catch
            {
                // The nonce was assigned but nothing left the process: give just that one back, so later
                // transactions do not queue behind a gap and no other in-flight nonce is reassigned.
                await chain.ReleaseNonceAsync(prepared, CancellationToken.None);
                throw;
            }

            try
            {
                await chain.BroadcastAsync(prepared, cancellationToken);
            }
            catch (ChainException ex) when (ex.Kind == ChainErrorKind.NonceConflict)
            {
                await chain.ResyncNonceAsync(cancellationToken);
                throw new ChainException(ChainErrorKind.Transient, $"Nonce conflict while sending the {what}; will retry.", innerException: ex);
            }

            sent = get(context.Job.Transactions)!;
            LogSent(logger, context.Job.Id, what, sent.Hash, sent.Nonce);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.Jobs.ReceiptTimeout);
        try
        {
            return await chain.WaitForReceiptAsync(sent.Hash, progress, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not lost, just slow or dropped: the retry looks it up and re-broadcasts the same bytes.
            throw new ChainException(ChainErrorKind.Transient, $"No receipt for the {what} {sent.Hash} within {options.Value.Jobs.ReceiptTimeout}.");
        }
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
        ContractsTelemetry.DeploymentFailed(error.Code, now - context.Job.CreatedAt);
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

    /// <summary>One named detail: <c>error.details</c> is always an object.</summary>
    private static Dictionary<string, string> Detail(string name, string value) => new(StringComparer.Ordinal) { [name] = value };

    private DeploymentError TokenExists(string modelId, string token) => new()
    {
        Code = ErrorCodes.TokenAlreadyExists,
        Message = $"Model '{modelId}' already has a token registered on chain.",
        Details = new Dictionary<string, string> { ["modelId"] = modelId, ["tokenAddress"] = token },
        Suggestions = ["Use the existing token.", "Choose another model id."],
        Timestamp = timeProvider.GetUtcNow(),
    };

    private DeploymentError MapChainError(ChainException ex, DeploymentJob job)
    {
        var reason = ex.RevertReason ?? string.Empty;
        var now = timeProvider.GetUtcNow();
        if (reason.Contains("ModelAlreadyRegistered", StringComparison.Ordinal) || reason.Contains("TokenAlreadyRegistered", StringComparison.Ordinal))
        {
            return TokenExists(job.Request.ModelId, job.Transactions.TokenAddress ?? string.Empty) with { Message = $"Model '{job.Request.ModelId}' was registered by someone else first ({reason})." };
        }

        return ex.Kind switch
        {
            ChainErrorKind.InsufficientFunds => new DeploymentError
            {
                Code = ErrorCodes.InsufficientFunds,
                Message = "The deployer account cannot pay for gas.",
                Suggestions = ["Fund the deployer account, then retry the deployment."],
                Timestamp = now,
                Retryable = true,
            },
            ChainErrorKind.Reverted when reason.Contains("AccessControl", StringComparison.Ordinal) || reason.Contains("Ownable", StringComparison.Ordinal) || reason.Contains("Unauthorized", StringComparison.Ordinal) => new DeploymentError
            {
                Code = ErrorCodes.DeployerNotAuthorized,
                Message = $"The deployer is not allowed to perform this step ({reason}).",
                Suggestions = ["Make the deployer the ModelRegistry owner.", "Grant the deployer MINTER_ROLE on the TokenManager."],
                Timestamp = now,
            },
            ChainErrorKind.Reverted => new DeploymentError
            {
                Code = ErrorCodes.TransactionReverted,
                Message = $"A transaction reverted: {(reason.Length > 0 ? reason : "no reason given")}.",
                Details = reason.Length > 0 ? Detail("revertReason", reason) : null,
                Suggestions = ["Check the request parameters.", "Contact support with the request id."],
                Timestamp = now,
            },
            _ => new DeploymentError
            {
                Code = ErrorCodes.DeploymentFailed,
                Message = "The deployment failed on chain.",
                Details = Detail("reason", ex.Message),
                Suggestions = ["Retry the deployment.", "Contact support with the request id."],
                Timestamp = now,
            },
        };
    }

    /// <summary>Persists a job's progress text as it changes, without racing the step saves.</summary>
    private sealed class DetailProgress(JobContext context, ILogger logger) : IProgress<string>
    {
        public void Report(string value)
        {
            LogProgress(logger, context.Job.Id, value);
            _ = context.TrySaveDetailAsync(value);
        }
    }

    [LoggerMessage(10, LogLevel.Information, "Job {JobId} model {ModelId}: {What} {Subject}")]
    private static partial void LogStep(ILogger logger, Guid jobId, string modelId, string what, string subject);

    [LoggerMessage(11, LogLevel.Information, "Job {JobId} model {ModelId} completed: token {TokenAddress} in {ElapsedMs} ms")]
    private static partial void LogCompleted(ILogger logger, Guid jobId, string modelId, string tokenAddress, double elapsedMs);

    [LoggerMessage(12, LogLevel.Warning, "Job {JobId} model {ModelId} failed with {ErrorCode}: {ErrorMessage}")]
    private static partial void LogFailed(ILogger logger, Guid jobId, string modelId, string errorCode, string errorMessage);

    [LoggerMessage(13, LogLevel.Debug, "Job {JobId} sent {What} {TransactionHash} with nonce {Nonce}")]
    private static partial void LogSent(ILogger logger, Guid jobId, string what, string transactionHash, ulong nonce);

    [LoggerMessage(14, LogLevel.Information, "Job {JobId} re-broadcast its stored {What} {TransactionHash}")]
    private static partial void LogRebroadcast(ILogger logger, Guid jobId, string what, string transactionHash);

    [LoggerMessage(15, LogLevel.Warning, "Job {JobId} abandoned its stored {What} {TransactionHash}: its nonce was used by another transaction")]
    private static partial void LogAbandoned(ILogger logger, Guid jobId, string what, string transactionHash);

    [LoggerMessage(16, LogLevel.Debug, "Job {JobId}: {Detail}")]
    private static partial void LogProgress(ILogger logger, Guid jobId, string detail);
}

/// <summary>A job-level failure with its API error.</summary>
internal sealed class DeploymentFailedException(DeploymentError error) : Exception(error.Message)
{
    public DeploymentError Error { get; } = error;
}

/// <summary>Another writer changed the job between read and write.</summary>
internal sealed class JobConflictException(Guid jobId) : Exception($"Job {jobId} was changed by another writer.")
{
    public Guid JobId { get; } = jobId;
}

/// <summary>The current persisted state of a job in a run, with serialized compare-and-swap saves.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The semaphore never allocates a wait handle (AvailableWaitHandle is not used), so there is nothing to release; progress callbacks may outlive the run.")]
internal sealed class JobContext(IDeploymentStore store, TimeProvider timeProvider, DeploymentJob job)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public DeploymentJob Job { get; private set; } = job;

    public async Task SaveAsync(Func<DeploymentJob, DeploymentJob> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var before = Job;
            var now = timeProvider.GetUtcNow();
            var after = change(before) with { Version = before.Version + 1, UpdatedAt = now };
            if (after.Status != before.Status || after.Step != before.Step)
            {
                after = after with { History = [.. before.History, new JobHistoryEntry(now, after.Status, after.Step, after.StepDetail)] };
            }

            if (!await store.TryUpdateAsync(after, cancellationToken))
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

    public async Task TrySaveDetailAsync(string detail)
    {
        try
        {
            if (Job.StepDetail != detail && !Job.Status.IsFinal())
            {
                await SaveAsync(j => j with { StepDetail = detail }, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is JobConflictException or StoreUnavailableException)
        {
            Debug.WriteLine(ex.Message);
        }
    }
}
