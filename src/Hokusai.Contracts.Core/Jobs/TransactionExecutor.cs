using System.Diagnostics;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Jobs;

/// <summary>Where a step keeps its transaction in <see cref="JobTransactions"/>.</summary>
/// <param name="What">Name used in logs and messages.</param>
/// <param name="Get">Reads the stored transaction.</param>
/// <param name="Set">Stores a transaction (null to forget it), with what prepare returned when new.</param>
internal sealed record TransactionSlot(
    string What,
    Func<JobTransactions, SentTransaction?> Get,
    Func<JobTransactions, SentTransaction?, PreparedTransaction?, JobTransactions> Set)
{
    public static readonly TransactionSlot TokenDeployment = new(
        "token deployment",
        t => t.TokenDeployment,
        (t, sent, prepared) => t with { TokenDeployment = sent, TokenAddress = prepared?.ContractAddress ?? (sent is null ? null : t.TokenAddress), Replaced = [] });

    public static readonly TransactionSlot Registration = new("registration", t => t.Registration, (t, sent, _) => t with { Registration = sent, Replaced = [] });

    public static readonly TransactionSlot Mint = new("mint", t => t.Mint, (t, sent, _) => t with { Mint = sent, Replaced = [] });
}

/// <summary>
/// Runs one transaction of a job: looks a stored one up (mined: done; pending: wait; unknown to the
/// node: re-broadcast the very same bytes; its nonce provably used by another: forget it) or
/// prepares a new one, persists hash and raw bytes, broadcasts, and waits for the receipt.
/// </summary>
internal sealed partial class TransactionExecutor(IChainClient chain, IOptions<HokusaiContractsOptions> options, ILogger<TransactionExecutor> logger)
{
    public async Task<ChainReceipt> ExecuteAsync(
        JobContext context,
        TransactionSlot slot,
        Func<IProgress<string>, Task<PreparedTransaction>> prepare,
        CancellationToken cancellationToken)
    {
        var progress = context.DetailProgress;
        var sent = slot.Get(context.Job.Transactions);
        if (sent is not null)
        {
            var lookup = await chain.LookupAsync(sent.Hash, cancellationToken);
            if (lookup.State == TransactionState.Unknown && await KnownEarlierVersionAsync(context.Job, cancellationToken))
            {
                // An earlier version (replaced while stuck) is pending or mined: it holds the nonce, so
                // nothing is re-sent; the wait below watches every version.
                lookup = new TransactionLookup(TransactionState.Pending);
            }

            if (lookup.State == TransactionState.Unknown)
            {
                try
                {
                    await chain.BroadcastAsync(ToPrepared(sent, context.Job), cancellationToken);
                    LogRebroadcast(logger, context.Job.Id, slot.What, sent.Hash);
                }
                catch (ChainException ex) when (ex.Kind == ChainErrorKind.NonceConflict)
                {
                    // Its nonce went to another transaction, so this one can never be mined: forget it
                    // and prepare a fresh one below.
                    LogAbandoned(logger, context.Job.Id, slot.What, sent.Hash);
                    await context.SaveAsync(j => j with { Transactions = slot.Set(j.Transactions, null, null) }, cancellationToken);
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
                    Transactions = slot.Set(j.Transactions, new SentTransaction(prepared.Hash, prepared.RawTransaction, prepared.Nonce), prepared),
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
                throw new ChainException(ChainErrorKind.Transient, $"Nonce conflict while sending the {slot.What}; will retry.", innerException: ex);
            }

            sent = slot.Get(context.Job.Transactions)!;
            LogSent(logger, context.Job.Id, slot.What, sent.Hash, sent.Nonce);
        }

        return await WaitOrReplaceAsync(context, slot, sent, cancellationToken);
    }

    /// <summary>
    /// Waits for the receipt of the slot's transaction or of any earlier version it replaced (whichever is
    /// mined wins). A transaction not mined within REPLACE_AFTER (blocks on top of the head it was sent or
    /// resumed at, or a time) is replaced: signed, persisted with the stuck one kept in
    /// <see cref="JobTransactions.Replaced"/>, then broadcast, so a restart between replacements resumes
    /// watching every version and never sends a second deployment.
    /// </summary>
    private async Task<ChainReceipt> WaitOrReplaceAsync(JobContext context, TransactionSlot slot, SentTransaction sent, CancellationToken cancellationToken)
    {
        var receiptTimeout = options.Value.Jobs.ReceiptTimeout;
        var policy = CurrentPolicy();
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var remaining = receiptTimeout - Stopwatch.GetElapsedTime(started);
            var wait = policy.Time > TimeSpan.Zero && policy.Time < remaining ? policy.Time : remaining;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(1));
            var hashes = context.Job.Transactions.Replaced.Select(r => r.Hash).Prepend(sent.Hash).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            try
            {
                var receipt = await FirstReceiptOrBlocksAsync(hashes, context.DetailProgress, policy.Blocks, timeout);
                if (!string.Equals(receipt.TransactionHash, sent.Hash, StringComparison.OrdinalIgnoreCase))
                {
                    // An earlier version was mined: it becomes the slot's transaction (and the reported hash).
                    var mined = context.Job.Transactions.Replaced.First(r => string.Equals(r.Hash, receipt.TransactionHash, StringComparison.OrdinalIgnoreCase));
                    await context.SaveAsync(j => j with { Transactions = slot.Set(j.Transactions, mined, null) with { Replaced = j.Transactions.Replaced } }, cancellationToken);
                }

                return receipt;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (Stopwatch.GetElapsedTime(started) >= receiptTimeout || policy.IsOff)
                {
                    // Not lost, just slow or dropped: the retry looks it up and re-broadcasts the same bytes.
                    throw new ChainException(ChainErrorKind.Transient, $"No receipt for the {slot.What} {sent.Hash} within {receiptTimeout}.");
                }
            }

            sent = await ReplaceAsync(context, slot, sent, cancellationToken) ?? sent;
        }
    }

    /// <summary>REPLACE_AFTER as set, else the default of the chain (by id, once known).</summary>
    internal ReplacementPolicy CurrentPolicy()
    {
        // Validated on start, so a parse failure cannot happen here; the chain default is the safe reading anyway.
        var configured = ReplacementPolicy.TryParse(options.Value.Chain.ReplaceAfter, out var parsed, out _) ? parsed : null;
        var chainId = options.Value.Chain.ChainId != 0 ? options.Value.Chain.ChainId : (chain as IFollowedChain)?.KnownChainId;
        return configured ?? ReplacementPolicy.ForChain(chainId);
    }

    /// <summary>
    /// The first receipt of <paramref name="hashes"/>; with <paramref name="blocks"/> &gt; 0, cancels
    /// <paramref name="timeout"/> (as the time limit does) once that many blocks sit on the head at the start.
    /// </summary>
    private async Task<ChainReceipt> FirstReceiptOrBlocksAsync(string[] hashes, IProgress<string> progress, ulong blocks, CancellationTokenSource timeout)
    {
        if (blocks == 0)
        {
            return await FirstReceiptAsync(hashes, progress, timeout.Token);
        }

        using var round = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var receipt = FirstReceiptAsync(hashes, progress, round.Token);
        var head = HeadReachedAsync(blocks, round.Token);
        if (await Task.WhenAny(receipt, head) == head && !receipt.IsCompleted)
        {
            if (head.IsCompletedSuccessfully)
            {
                await timeout.CancelAsync();
            }
            else if (head.IsFaulted)
            {
                // The head could not be read (an outage): keep waiting for the receipt on the time limit alone.
                _ = head.Exception;
                return await receipt;
            }
        }

        await round.CancelAsync();
        await head.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return await receipt;
    }

    /// <summary>Completes when the head is <paramref name="blocks"/> above the head now (the follower's, else read from the node).</summary>
    private async Task HeadReachedAsync(ulong blocks, CancellationToken cancellationToken)
    {
        if (chain is IFollowedChain followed)
        {
            var start = followed.Head ?? await chain.GetLatestBlockAsync(cancellationToken);
            await followed.WaitForHeadAsync(start + blocks, cancellationToken);
            return;
        }

        var first = await chain.GetLatestBlockAsync(cancellationToken);
        while (await chain.GetLatestBlockAsync(cancellationToken) < first + blocks)
        {
            await Task.Delay(options.Value.Chain.ReceiptPollInterval, cancellationToken);
        }
    }

    private async Task<SentTransaction?> ReplaceAsync(JobContext context, TransactionSlot slot, SentTransaction stuck, CancellationToken cancellationToken)
    {
        var replacement = await chain.PrepareReplacementAsync(stuck, context.DetailProgress, cancellationToken);
        if (replacement is null)
        {
            return null;
        }

        var sent = new SentTransaction(replacement.Hash, replacement.RawTransaction, replacement.Nonce);
        // Persisted before it leaves the process, with every earlier version kept and watched.
        await context.SaveAsync(j => j with { Transactions = slot.Set(j.Transactions, sent, null) with { Replaced = [.. j.Transactions.Replaced, stuck] } }, cancellationToken);
        try
        {
            await chain.BroadcastAsync(replacement, cancellationToken);
            LogReplaced(logger, context.Job.Id, slot.What, stuck.Hash, sent.Hash, sent.Nonce);
        }
        catch (ChainException ex) when (ex.Kind == ChainErrorKind.NonceConflict)
        {
            // An earlier version was mined meanwhile: the next wait finds its receipt.
            LogReplacementRefused(logger, context.Job.Id, slot.What, sent.Hash, ex.Message);
        }

        return sent;
    }

    private async Task<ChainReceipt> FirstReceiptAsync(string[] hashes, IProgress<string> progress, CancellationToken cancellationToken)
    {
        if (hashes.Length == 1)
        {
            return await chain.WaitForReceiptAsync(hashes[0], progress, cancellationToken);
        }

        using var any = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waits = hashes.Select(h => chain.WaitForReceiptAsync(h, progress, any.Token)).ToArray();
        var first = await Task.WhenAny(waits);
        await any.CancelAsync();
        try
        {
            return await first;
        }
        finally
        {
            // Observe the others (cancelled) so none goes unobserved.
            await Task.WhenAll(waits.Where(w => w != first).Select(w => w.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)));
        }
    }

    private async Task<bool> KnownEarlierVersionAsync(DeploymentJob job, CancellationToken cancellationToken)
    {
        foreach (var earlier in job.Transactions.Replaced)
        {
            if ((await chain.LookupAsync(earlier.Hash, cancellationToken)).State != TransactionState.Unknown)
            {
                return true;
            }
        }

        return false;
    }

    private static PreparedTransaction ToPrepared(SentTransaction sent, DeploymentJob job) =>
        new(sent.Hash, sent.RawTransaction, sent.Nonce, job.Transactions.TokenAddress);

    [LoggerMessage(19, LogLevel.Warning, "Job {JobId} replaced its stuck {What} {StuckHash} with {TransactionHash} (nonce {Nonce})")]
    private static partial void LogReplaced(ILogger logger, Guid jobId, string what, string stuckHash, string transactionHash, ulong nonce);

    [LoggerMessage(20, LogLevel.Information, "Job {JobId}: replacement {TransactionHash} of its {What} refused ({Reason}); an earlier version was mined")]
    private static partial void LogReplacementRefused(ILogger logger, Guid jobId, string what, string transactionHash, string reason);

    [LoggerMessage(13, LogLevel.Debug, "Job {JobId} sent {What} {TransactionHash} with nonce {Nonce}")]
    private static partial void LogSent(ILogger logger, Guid jobId, string what, string transactionHash, ulong nonce);

    [LoggerMessage(14, LogLevel.Information, "Job {JobId} re-broadcast its stored {What} {TransactionHash}")]
    private static partial void LogRebroadcast(ILogger logger, Guid jobId, string what, string transactionHash);

    [LoggerMessage(15, LogLevel.Warning, "Job {JobId} abandoned its stored {What} {TransactionHash}: its nonce was used by another transaction")]
    private static partial void LogAbandoned(ILogger logger, Guid jobId, string what, string transactionHash);
}
