using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Logging;
using Nethereum.Hex.HexTypes;
using Nethereum.RPC.Eth.DTOs;
using Newtonsoft.Json.Linq;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// One per chain client (one per process): follows the head and resolves every watched transaction
/// from it, instead of each job polling its own receipt. Each poll is one <c>eth_getBlockByNumber</c>;
/// when something changed, one JSON-RPC batch fetches the new blocks' receipts
/// (<c>eth_getBlockReceipts</c> where the node has it, else <c>eth_getTransactionReceipt</c> per watched
/// hash), re-checks transactions that reached their confirmation depth, and reads the signer's mined and
/// pending counts, which drive the in-flight window and nonce-gap repair. It only polls while something
/// is watched or in flight. A failing poll opens the circuit (<see cref="Available"/> false); polls keep
/// probing every <see cref="OutagePollInterval"/> at most, and the first one that succeeds closes it.
/// </summary>
internal sealed partial class BlockFollower : IDisposable
{
    internal static readonly TimeSpan OutagePollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a nonce gap without known bytes is left alone before it is filled with a self-transfer.</summary>
    internal static readonly TimeSpan UnknownGapGrace = TimeSpan.FromSeconds(15);

    private const int MaxBlocksPerBatch = 16;

    private readonly RpcEndpointPool _pool;
    private readonly ChainOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Watch> _watches = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Signer> _signers = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private ulong _head;
    private string? _headHash;
    private bool? _blockReceipts;
    private (BigInteger Nonce, DateTimeOffset Since)? _unknownGap;
    private int _available = 1;

    internal BlockFollower(RpcEndpointPool pool, ChainOptions options, ILogger logger, TimeProvider time)
    {
        _pool = pool;
        _options = options;
        _logger = logger;
        _time = time;
    }

    /// <summary>False while polls fail (the RPC is unreachable).</summary>
    internal bool Available => Volatile.Read(ref _available) == 1;

    /// <summary>The latest head block seen (its number and base fee), when known.</summary>
    internal (ulong Number, BigInteger? BaseFee, DateTimeOffset At)? Head { get; private set; }

    /// <summary>Polls made and batches sent (for the benchmark's RPC count).</summary>
    internal long Polls;

    /// <summary>Registers a signer whose nonces the follower keeps gap-free.</summary>
    internal void AddSigner(string address, NonceManager nonces, Func<BigInteger, CancellationToken, Task> fillGap)
    {
        lock (_lock)
        {
            _signers.Add(new Signer(address, nonces, fillGap));
        }
    }

    /// <summary>Something new to follow (a watch, an in-flight transaction, an outage probe).</summary>
    internal void Wake()
    {
        EnsureStarted();
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>
    /// Waits until <paramref name="hash"/> is mined and <see cref="ChainOptions.ConfirmationBlocks"/> blocks
    /// sit on it, re-checked at that depth (a reorganisation sends it back to waiting). Returns the receipt,
    /// successful or reverted.
    /// </summary>
    internal async Task<TransactionReceipt> WaitAsync(string hash, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var watch = _watches.AddOrUpdate(hash, _ => new Watch(hash), (_, existing) => existing);
        Interlocked.Increment(ref watch.Refs);
        if (progress is not null)
        {
            watch.Progress.Enqueue(progress);
        }

        Wake();
        try
        {
            return await watch.Done.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            if (Interlocked.Decrement(ref watch.Refs) == 0)
            {
                _watches.TryRemove(new KeyValuePair<string, Watch>(hash, watch));
            }
        }
    }

    /// <summary>
    /// After a transient failure: true when the RPC is unreachable (then it returns once a poll succeeds
    /// again, so the caller retries without spending its retry budget), false when the node answers.
    /// </summary>
    internal async Task<bool> WaitOutOutageAsync(CancellationToken cancellationToken)
    {
        Task recovered;
        lock (_lock)
        {
            recovered = _recovered.Task;
        }

        if (Available)
        {
            try
            {
                await _pool.ExecuteAsync("eth_blockNumber", w => w.Eth.Blocks.GetBlockNumber.SendRequestAsync(), cancellationToken);
                return false;
            }
            catch (ChainException ex) when (ex.IsTransient)
            {
                MarkUnavailable(ex.Message);
            }
        }

        Wake();
        await recovered.WaitAsync(cancellationToken);
        return true;
    }

    private void EnsureStarted()
    {
        if (_loop is not null)
        {
            return;
        }

        lock (_lock)
        {
            _loop ??= Task.Run(() => RunAsync(_stop.Token));
        }
    }

    private bool HasWork()
    {
        if (!_watches.IsEmpty || !Available)
        {
            return true;
        }

        lock (_lock)
        {
            return _signers.Any(s => s.Nonces.HasInFlight);
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!HasWork())
                {
                    await _wake.WaitAsync(stop);
                    continue;
                }

                try
                {
                    await PollAsync(stop);
                    MarkAvailable();
                }
                catch (ChainException ex) when (ex.IsTransient)
                {
                    MarkUnavailable(ex.Message);
                }

                var interval = Available ? _options.ReceiptPollInterval : TimeSpan.FromTicks(Math.Min(_options.ReceiptPollInterval.Ticks, OutagePollInterval.Ticks));
                // A wake (new watch) cuts the wait short, so a new transaction is looked at on the next poll.
                await _wake.WaitAsync(interval, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Never let the follower die: every waiting job depends on it.
                LogPollFailed(_logger, ex.GetType().Name, ex.Message);
                await Task.Delay(_options.ReceiptPollInterval, _time, stop);
            }
        }
    }

    private void MarkAvailable()
    {
        if (Interlocked.Exchange(ref _available, 1) == 1)
        {
            return;
        }

        TaskCompletionSource recovered;
        lock (_lock)
        {
            recovered = _recovered;
            _recovered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        LogRecovered(_logger);
        recovered.TrySetResult();
    }

    private void MarkUnavailable(string reason)
    {
        if (Interlocked.Exchange(ref _available, 0) == 1)
        {
            LogOutage(_logger, reason);
        }
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Polls);
        var block = await _pool.ExecuteAsync("eth_getBlockByNumber", w => w.Eth.Blocks.GetBlockWithTransactionsHashesByNumber.SendRequestAsync(BlockParameter.CreateLatest()), cancellationToken);
        if (block is null)
        {
            return;
        }

        var head = (ulong)block.Number.Value;
        var previous = _head;
        var advanced = head != _head || !string.Equals(block.BlockHash, _headHash, StringComparison.OrdinalIgnoreCase);
        Head = (head, block.BaseFeePerGas?.Value, _time.GetUtcNow());
        _head = head;
        _headHash = block.BlockHash;

        var calls = new List<(string Method, JArray Params)>();
        var handlers = new List<Action<JToken?>>();
        var pending = _watches.Values.Where(w => w.Included is null).ToList();
        var blockRange = previous > 0 && head > previous && head - previous <= MaxBlocksPerBatch;
        var useBlockReceipts = advanced && pending.Count > 0 && blockRange && _blockReceipts != false;
        if (useBlockReceipts)
        {
            for (var number = previous + 1; number <= head; number++)
            {
                calls.Add(("eth_getBlockReceipts", new JArray(new HexBigInteger(number).HexValue)));
                handlers.Add(OnBlockReceipts);
            }
        }

        foreach (var watch in _watches.Values)
        {
            // Per hash: new watches (they may have been mined before they were watched), every unmined one
            // when block receipts are not used, and mined ones that reached their depth (re-checked there).
            var check = watch.NeedsCheck
                || (watch.Included is null && advanced && !useBlockReceipts)
                || (watch.Included is not null && head >= watch.Target);
            if (check)
            {
                watch.NeedsCheck = false;
                calls.Add(("eth_getTransactionReceipt", new JArray(watch.Hash)));
                handlers.Add(result => OnReceipt(watch, result));
            }
        }

        List<Signer> signers;
        lock (_lock)
        {
            // Every signer whenever the head moved (a reorganisation can take a mined nonce back), and
            // those with transactions in flight while a count is unknown or a gap is being watched.
            signers = [.. _signers.Where(s => advanced || s.Nonces.HasInFlight)];
        }

        foreach (var signer in signers)
        {
            signer.PendingCount = null;
            if (advanced || signer.Nonces.Mined < 0 || _unknownGap is not null || !Available)
            {
                BigInteger? latest = null;
                calls.Add(("eth_getTransactionCount", new JArray(signer.Address, "latest")));
                handlers.Add(result => latest = Quantity(result));
                calls.Add(("eth_getTransactionCount", new JArray(signer.Address, "pending")));
                handlers.Add(result =>
                {
                    if (latest is { } mined)
                    {
                        signer.Nonces.OnMined(mined);
                    }

                    if (Quantity(result) is { } pendingCount)
                    {
                        signer.PendingCount = pendingCount;
                    }
                });
            }
        }

        if (calls.Count > 0)
        {
            var results = await _pool.BatchAsync(calls, cancellationToken);
            for (var i = 0; i < results.Count; i++)
            {
                handlers[i](results[i]);
            }
        }

        foreach (var signer in signers)
        {
            if (signer.PendingCount is { } pendingCount)
            {
                await RepairGapAsync(signer, pendingCount, cancellationToken);
            }
        }

        Complete(head);
    }

    private void OnBlockReceipts(JToken? result)
    {
        if (RpcEndpointPool.BatchError(result) is not null)
        {
            // The node lacks eth_getBlockReceipts: from now on receipts are fetched per watched hash.
            _blockReceipts = false;
            foreach (var watch in _watches.Values)
            {
                watch.NeedsCheck = true;
            }

            return;
        }

        _blockReceipts = true;
        if (result is not JArray receipts)
        {
            return;
        }

        foreach (var item in receipts)
        {
            var hash = item.Value<string>("transactionHash");
            if (hash is not null && _watches.TryGetValue(hash, out var watch))
            {
                OnReceipt(watch, item);
            }
        }
    }

    private void OnReceipt(Watch watch, JToken? result)
    {
        if (RpcEndpointPool.BatchError(result) is not null)
        {
            watch.NeedsCheck = true;
            return;
        }

        var receipt = result is JObject ? result.ToObject<TransactionReceipt>() : null;
        var included = watch.Included;
        if (receipt is null)
        {
            if (included is not null)
            {
                // Its block was reorganised away: wait for it (or its replacement) to be mined again.
                ChainLog.Reorganised(_logger, watch.Hash, (ulong)included.BlockNumber.Value);
                watch.Report($"Transaction {watch.Hash} left block {included.BlockNumber.Value}; waiting again");
                watch.Included = null;
            }

            return;
        }

        if (included is not null && string.Equals(included.BlockHash, receipt.BlockHash, StringComparison.OrdinalIgnoreCase))
        {
            watch.Verified = true;
            return;
        }

        if (included is not null)
        {
            ChainLog.Reorganised(_logger, watch.Hash, (ulong)included.BlockNumber.Value);
        }

        watch.Included = receipt;
        watch.Verified = false;
        watch.Target = (ulong)receipt.BlockNumber.Value + (ulong)_options.ConfirmationBlocks;
        watch.Report($"Mined in block {receipt.BlockNumber.Value}");
    }

    private void Complete(ulong head)
    {
        var depth = (ulong)_options.ConfirmationBlocks;
        foreach (var watch in _watches.Values)
        {
            if (watch.Included is not { } receipt || watch.Done.Task.IsCompleted)
            {
                continue;
            }

            var block = (ulong)receipt.BlockNumber.Value;
            if (depth == 0 || (head >= watch.Target && watch.Verified))
            {
                if (depth > 0)
                {
                    watch.Report(string.Create(CultureInfo.InvariantCulture, $"Confirmations {depth}/{depth}"));
                }

                watch.Done.TrySetResult(receipt);
            }
            else
            {
                var confirmations = head > block ? Math.Min(head - block, depth) : 0;
                if (confirmations != watch.ReportedConfirmations)
                {
                    watch.ReportedConfirmations = confirmations;
                    watch.Report(string.Create(CultureInfo.InvariantCulture, $"Confirmations {confirmations}/{depth}"));
                }
            }
        }
    }

    /// <summary>
    /// The node's pending count is below a nonce this signer handed out: re-send the persisted bytes of the
    /// missing nonce first (whichever job they belong to). Without bytes for it (signed, not yet persisted)
    /// it waits <see cref="UnknownGapGrace"/>, then fills the nonce with a zero-value self-transfer; the job
    /// whose transaction later meets "nonce too low" prepares a fresh one, so nothing is deployed twice.
    /// </summary>
    private async Task RepairGapAsync(Signer signer, BigInteger pendingCount, CancellationToken cancellationToken)
    {
        if (signer.Nonces.Gap(pendingCount) is not { } gap)
        {
            _unknownGap = null;
            return;
        }

        if (gap.Raw is { } raw)
        {
            _unknownGap = null;
            try
            {
                await _pool.ExecuteAsync("eth_sendRawTransaction", w => w.Eth.Transactions.SendRawTransaction.SendRequestAsync(raw), cancellationToken);
                LogGapRebroadcast(_logger, signer.Address, (ulong)gap.Nonce);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not ChainException)
            {
                // Already known or mined meanwhile: the next poll sees the new counts.
                LogGapRebroadcastRefused(_logger, signer.Address, (ulong)gap.Nonce, ex.Message);
            }

            return;
        }

        var now = _time.GetUtcNow();
        if (_unknownGap is not { } seen || seen.Nonce != gap.Nonce)
        {
            _unknownGap = (gap.Nonce, now);
            return;
        }

        if (now - seen.Since >= UnknownGapGrace)
        {
            _unknownGap = null;
            LogGapFilled(_logger, signer.Address, (ulong)gap.Nonce);
            await signer.FillGap(gap.Nonce, cancellationToken);
        }
    }

    private static BigInteger? Quantity(JToken? result) =>
        result is JValue { Type: JTokenType.String } value && value.Value<string>() is { } hex
            ? new HexBigInteger(hex).Value
            : null;

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    private sealed class Watch(string hash)
    {
        public readonly string Hash = hash;
        public readonly TaskCompletionSource<TransactionReceipt> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly ConcurrentQueue<IProgress<string>> Progress = new();
        public int Refs;
        public volatile bool NeedsCheck = true;
        public TransactionReceipt? Included;
        public bool Verified;
        public ulong Target;
        public ulong ReportedConfirmations = ulong.MaxValue;

        public void Report(string detail)
        {
            foreach (var progress in Progress)
            {
                progress.Report(detail);
            }
        }
    }

    private sealed class Signer(string address, NonceManager nonces, Func<BigInteger, CancellationToken, Task> fillGap)
    {
        public string Address { get; } = address;
        public NonceManager Nonces { get; } = nonces;
        public Func<BigInteger, CancellationToken, Task> FillGap { get; } = fillGap;
        public BigInteger? PendingCount { get; set; }
    }

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "RPC unreachable ({Reason}); the signer pipeline pauses until it answers")]
    private static partial void LogOutage(ILogger logger, string reason);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information, Message = "RPC reachable again; the signer pipeline resumes")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Warning, Message = "Nonce gap of {Address} at {Nonce}: re-broadcast the persisted transaction")]
    private static partial void LogGapRebroadcast(ILogger logger, string address, ulong nonce);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Debug, Message = "Nonce gap of {Address} at {Nonce}: re-broadcast refused ({Reason})")]
    private static partial void LogGapRebroadcastRefused(ILogger logger, string address, ulong nonce, string reason);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Warning, Message = "Nonce gap of {Address} at {Nonce} with no persisted transaction: filling it with a zero-value self-transfer")]
    private static partial void LogGapFilled(ILogger logger, string address, ulong nonce);

    [LoggerMessage(EventId = 2025, Level = LogLevel.Error, Message = "Block follower poll failed unexpectedly ({ErrorType}: {Error})")]
    private static partial void LogPollFailed(ILogger logger, string errorType, string error);
}
