using System.Collections.Concurrent;
using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Numerics;
using System.Text;
using System.Text.Json;
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
/// With <c>RPC_WS_URL</c> the head is pushed by an <c>eth_subscribe("newHeads")</c> socket instead of polled: each
/// pushed head triggers the same batch, and the head is only read over HTTP every <see cref="SocketSafetyInterval"/>;
/// when the socket drops the follower polls again and the socket reconnects in the background.
/// Head subscribers (the registry mirror, block-based replacement) hear every new head from here, so a process has
/// one head source.
/// </summary>
internal sealed partial class BlockFollower : IDisposable
{
    internal static readonly TimeSpan OutagePollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a gap whose bytes are known is left to the broadcast already under way before the follower re-sends
    /// them: in a busy pipeline the node has not yet received the newest nonce at almost every poll, and re-sending
    /// then only doubles <c>eth_sendRawTransaction</c> calls. A gap that outlives it (a failed broadcast) is re-sent.
    /// </summary>
    internal static readonly TimeSpan KnownGapGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a nonce gap without known bytes is left alone before it is filled with a self-transfer.</summary>
    internal static readonly TimeSpan UnknownGapGrace = TimeSpan.FromSeconds(15);

    /// <summary>With the socket up, the head is still read over HTTP this often (a silent socket must not stall jobs).</summary>
    internal static readonly TimeSpan SocketSafetyInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(5);

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
    private int _available = 1;
    private readonly List<HeadSubscription> _subscribers = [];
    private readonly Uri? _socketUrl;
    private Task? _socketLoop;
    private int _socketConnected;
    private PushedHead? _pushed;

    internal BlockFollower(RpcEndpointPool pool, ChainOptions options, ILogger logger, TimeProvider time)
    {
        _pool = pool;
        _options = options;
        _logger = logger;
        _time = time;
        _socketUrl = string.IsNullOrWhiteSpace(options.RpcWsUrl) ? null : new Uri(options.RpcWsUrl.Trim());
    }

    /// <summary>True while the newHeads socket is subscribed (heads are pushed, not polled).</summary>
    internal bool SocketConnected => Volatile.Read(ref _socketConnected) == 1;

    /// <summary>Heads received over the socket (for tests and the benchmark's counts).</summary>
    internal long SocketHeads;

    /// <summary>Heads read over HTTP (<c>eth_getBlockByNumber</c>).</summary>
    internal long HeadReads;

    /// <summary>
    /// True when <see cref="Head"/> is the chain's head now: the socket is up (every new block would have been
    /// pushed) or it was read within two poll intervals.
    /// </summary>
    internal bool HeadIsCurrent => Head is { } head && (SocketConnected || _time.GetUtcNow() - head.At <= _options.ReceiptPollInterval * 2);

    /// <summary>Calls <paramref name="onHead"/> with every new head; see <see cref="IFollowedChain.SubscribeHeads"/>.</summary>
    internal IDisposable SubscribeHeads(Action<ulong> onHead, TimeSpan idleInterval)
    {
        var subscription = new HeadSubscription(this, onHead, idleInterval);
        lock (_lock)
        {
            _subscribers.Add(subscription);
        }

        Wake();
        return subscription;
    }

    /// <summary>Completes once the followed head reaches <paramref name="block"/>.</summary>
    internal async Task WaitForHeadAsync(ulong block, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = SubscribeHeads(head =>
        {
            if (head >= block)
            {
                reached.TrySetResult();
            }
        }, _options.ReceiptPollInterval);
        if (Head is { } head && head.Number >= block)
        {
            return;
        }

        await reached.Task.WaitAsync(cancellationToken);
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
            if (_socketUrl is not null)
            {
                _socketLoop ??= Task.Run(() => RunSocketAsync(_socketUrl, _stop.Token));
            }
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
            return _subscribers.Count > 0 || _signers.Any(s => s.Nonces.HasInFlight);
        }
    }

    /// <summary>How long to wait for a wake before the next poll.</summary>
    private TimeSpan NextInterval()
    {
        if (!Available)
        {
            return TimeSpan.FromTicks(Math.Min(_options.ReceiptPollInterval.Ticks, OutagePollInterval.Ticks));
        }

        bool busy;
        bool gapWatched;
        TimeSpan idle;
        lock (_lock)
        {
            busy = !_watches.IsEmpty || _signers.Any(s => s.Nonces.HasInFlight);
            gapWatched = _signers.Any(s => s.KnownGap is not null || s.UnknownGap is not null);
            idle = _subscribers.Count == 0 ? _options.ReceiptPollInterval : _subscribers.Min(s => s.IdleInterval);
        }

        var interval = busy ? _options.ReceiptPollInterval : TimeSpan.FromTicks(Math.Max(idle.Ticks, _options.ReceiptPollInterval.Ticks));
        // Pushed heads wake the loop; the timer is only the safety net against a silent socket. A watched nonce gap
        // produces no heads (the node parks what follows it), so it is polled at the normal interval.
        return SocketConnected && !gapWatched ? TimeSpan.FromTicks(Math.Max(interval.Ticks, SocketSafetyInterval.Ticks)) : interval;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var readHead = true;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!HasWork())
                {
                    await _wake.WaitAsync(stop);
                    readHead = true;
                    continue;
                }

                try
                {
                    await PollAsync(readHead, stop);
                    MarkAvailable();
                }
                catch (ChainException ex) when (ex.IsTransient)
                {
                    MarkUnavailable(ex.Message);
                }

                // A wake (new watch, pushed head) cuts the wait short, so it is looked at on the next poll. With the
                // socket up, a wake needs no HTTP head read (the socket pushed it or the head did not move); the timer
                // running out does read it, as the safety net.
                var woken = await _wake.WaitAsync(NextInterval(), stop);
                readHead = !woken || !SocketConnected || !Available;
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

    private async Task PollAsync(bool readHead, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Polls);
        ulong head;
        string? headHash;
        BigInteger? baseFee;
        var pushed = Interlocked.Exchange(ref _pushed, null);
        if (!readHead && pushed is not null)
        {
            (head, headHash, baseFee) = (pushed.Number, pushed.Hash, pushed.BaseFee);
        }
        else if (!readHead && _headHash is not null)
        {
            // Woken by a new watch with the socket up: the head has not moved (a new one would have been pushed).
            (head, headHash, baseFee) = (_head, _headHash, Head?.BaseFee);
        }
        else
        {
            Interlocked.Increment(ref HeadReads);
            var block = await _pool.ExecuteAsync("eth_getBlockByNumber", w => w.Eth.Blocks.GetBlockWithTransactionsHashesByNumber.SendRequestAsync(BlockParameter.CreateLatest()), cancellationToken);
            if (block is null)
            {
                return;
            }

            (head, headHash, baseFee) = ((ulong)block.Number.Value, block.BlockHash, block.BaseFeePerGas?.Value);
        }

        var previous = _head;
        var advanced = head != _head || !string.Equals(headHash, _headHash, StringComparison.OrdinalIgnoreCase);
        Head = (head, baseFee, _time.GetUtcNow());
        _head = head;
        _headHash = headHash;

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
            // Idle signers (nothing in flight, nothing watched) are skipped: a head subscriber alone costs one read.
            signers = [.. _signers.Where(s => s.Nonces.HasInFlight || (advanced && !_watches.IsEmpty))];
        }

        foreach (var signer in signers)
        {
            signer.PendingCount = null;
            if (signer.Nonces.TakeRecount() || advanced || signer.Nonces.Mined < 0 || signer.UnknownGap is not null || signer.KnownGap is not null || !Available)
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
        if (advanced)
        {
            NotifyHead(head);
        }
    }

    private void NotifyHead(ulong head)
    {
        HeadSubscription[] subscribers;
        lock (_lock)
        {
            subscribers = [.. _subscribers];
        }

        foreach (var subscriber in subscribers)
        {
            try
            {
                subscriber.OnHead(head);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPollFailed(_logger, ex.GetType().Name, ex.Message);
            }
        }
    }

    /// <summary>
    /// Keeps an <c>eth_subscribe("newHeads")</c> socket open: each pushed head wakes the poll loop, which then fetches
    /// that block's receipts without reading the head over HTTP. When the socket fails or drops the loop polls again
    /// (it reads <see cref="SocketConnected"/>), and the socket reconnects after 0.5 s, doubling to 5 s.
    /// </summary>
    private async Task RunSocketAsync(Uri url, CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        var display = RpcEndpointPool.Display(url.ToString());
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var socket = new ClientWebSocket();
                // Pings with a pong deadline: a peer that vanished without closing is noticed, not waited on forever.
                socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(10);
                socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(10);
                using (var connect = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    connect.CancelAfter(_options.RpcTimeout);
                    await socket.ConnectAsync(url, connect.Token);
                    await socket.SendAsync("""{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"""u8.ToArray(), WebSocketMessageType.Text, true, connect.Token);
                }

                var buffer = new ArrayBufferWriter<byte>(4096);
                var subscribed = false;
                while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
                {
                    if (!await ReceiveMessageAsync(socket, buffer, stop))
                    {
                        break;
                    }

                    if (!subscribed)
                    {
                        subscribed = ReadSubscriptionAnswer(buffer.WrittenSpan);
                        if (!subscribed)
                        {
                            throw new WebSocketException("eth_subscribe(newHeads) was refused");
                        }

                        Volatile.Write(ref _socketConnected, 1);
                        delay = TimeSpan.FromMilliseconds(500);
                        LogSocketConnected(_logger, display);
                        continue;
                    }

                    if (ReadPushedHead(buffer.WrittenSpan) is { } pushed)
                    {
                        Interlocked.Increment(ref SocketHeads);
                        Volatile.Write(ref _pushed, pushed);
                        if (_wake.CurrentCount == 0)
                        {
                            _wake.Release();
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                // Whatever broke the socket (refused, dropped, a malformed message), the follower polls meanwhile.
                if (SocketConnected)
                {
                    LogSocketLost(_logger, display, ex.Message);
                }
                else
                {
                    LogSocketUnavailable(_logger, display, ex.Message);
                }
            }
            finally
            {
                if (Interlocked.Exchange(ref _socketConnected, 0) == 1 && _wake.CurrentCount == 0)
                {
                    // Back to polling at once, not after the safety interval.
                    _wake.Release();
                }
            }

            try
            {
                await Task.Delay(delay, _time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
        }
    }

    private static async Task<bool> ReceiveMessageAsync(ClientWebSocket socket, ArrayBufferWriter<byte> buffer, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return false;
            }

            buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                return true;
            }
        }
    }

    private static bool ReadSubscriptionAnswer(ReadOnlySpan<byte> message)
    {
        using var document = JsonDocument.Parse(message.ToArray());
        return document.RootElement.TryGetProperty("result", out var id) && id.ValueKind == JsonValueKind.String;
    }

    /// <summary>The head of an <c>eth_subscription</c> notification, or null for anything else.</summary>
    internal static PushedHead? ReadPushedHead(ReadOnlySpan<byte> message)
    {
        var reader = new Utf8JsonReader(message);
        if (!JsonDocument.TryParseValue(ref reader, out var document))
        {
            return null;
        }

        using (document)
        {
            if (!document.RootElement.TryGetProperty("params", out var parameters)
                || !parameters.TryGetProperty("result", out var block)
                || !block.TryGetProperty("number", out var number) || number.GetString() is not { } hex)
            {
                return null;
            }

            var hash = block.TryGetProperty("hash", out var h) ? h.GetString() : null;
            BigInteger? baseFee = block.TryGetProperty("baseFeePerGas", out var fee) && fee.GetString() is { } feeHex ? new HexBigInteger(feeHex).Value : null;
            return new PushedHead((ulong)new HexBigInteger(hex).Value, hash, baseFee);
        }
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
            signer.UnknownGap = null;
            signer.KnownGap = null;
            return;
        }

        var now = _time.GetUtcNow();
        if (gap.Raw is { } raw)
        {
            signer.UnknownGap = null;
            if (signer.KnownGap is not { } first || first.Nonce != gap.Nonce)
            {
                signer.KnownGap = (gap.Nonce, now);
                return;
            }

            if (now - first.Since < KnownGapGrace)
            {
                return;
            }

            // Re-armed: a gap that stays is re-sent once per grace period, not on every poll.
            signer.KnownGap = (gap.Nonce, now);
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

        signer.KnownGap = null;
        if (signer.UnknownGap is not { } seen || seen.Nonce != gap.Nonce)
        {
            signer.UnknownGap = (gap.Nonce, now);
            return;
        }

        if (now - seen.Since >= UnknownGapGrace)
        {
            signer.UnknownGap = null;
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

    /// <summary>A head pushed over the socket.</summary>
    internal sealed record PushedHead(ulong Number, string? Hash, BigInteger? BaseFee);

    private sealed class HeadSubscription(BlockFollower follower, Action<ulong> onHead, TimeSpan idleInterval) : IDisposable
    {
        public Action<ulong> OnHead { get; } = onHead;

        public TimeSpan IdleInterval { get; } = idleInterval;

        public void Dispose()
        {
            lock (follower._lock)
            {
                follower._subscribers.Remove(this);
            }
        }
    }

    private sealed class Signer(string address, NonceManager nonces, Func<BigInteger, CancellationToken, Task> fillGap)
    {
        public string Address { get; } = address;
        public NonceManager Nonces { get; } = nonces;
        public Func<BigInteger, CancellationToken, Task> FillGap { get; } = fillGap;
        public BigInteger? PendingCount { get; set; }

        /// <summary>
        /// A missing nonce with no known bytes and since when it is missing, per signer: with several keys on one
        /// follower, one key's healthy poll must not reset another key's grace before its gap is filled.
        /// </summary>
        public (BigInteger Nonce, DateTimeOffset Since)? UnknownGap { get; set; }

        /// <summary>A gap whose bytes are known, and since when: re-sent once per grace period.</summary>
        public (BigInteger Nonce, DateTimeOffset Since)? KnownGap { get; set; }
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

    [LoggerMessage(EventId = 2026, Level = LogLevel.Information, Message = "newHeads subscription on {Url} is up; heads are pushed")]
    private static partial void LogSocketConnected(ILogger logger, string url);

    [LoggerMessage(EventId = 2027, Level = LogLevel.Warning, Message = "newHeads socket {Url} dropped ({Reason}); polling the head until it reconnects")]
    private static partial void LogSocketLost(ILogger logger, string url, string reason);

    [LoggerMessage(EventId = 2028, Level = LogLevel.Debug, Message = "newHeads socket {Url} unavailable ({Reason}); polling, retrying")]
    private static partial void LogSocketUnavailable(ILogger logger, string url, string reason);

    [LoggerMessage(EventId = 2025, Level = LogLevel.Error, Message = "Block follower poll failed unexpectedly ({ErrorType}: {Error})")]
    private static partial void LogPollFailed(ILogger logger, string errorType, string error);
}
