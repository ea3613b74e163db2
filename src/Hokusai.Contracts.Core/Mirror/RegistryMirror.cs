using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Mirror;

/// <summary>
/// A local mirror of the registry's model → token map, kept from its <c>ModelRegistered</c> events (emitted by a
/// direct registration and by the factory's deployToken alike), so the accept path answers "already on chain?"
/// without an RPC call. Only blocks at depth ≥ CONFIRMATION_BLOCKS are read, so a reorg above that depth never
/// enters the mirror; re-reading a range is idempotent. The store keeps the entries and the cursor so a restart
/// resumes where it stopped; an emptied store (cursor gone) is rebuilt from <see cref="RegistryMirrorOptions.StartBlock"/>.
/// Until the mirror has reached the confirmed head, a miss falls back to one registry view call, so no request
/// is accepted on a mirror that has not read far enough. The engine still checks the chain before it sends.
/// With the built-in chain client the mirror reads no head of its own: it is driven by the process's block follower
/// (polled, or pushed over <c>RPC_WS_URL</c>), which reads the head at least every <see cref="RegistryMirrorOptions.PollInterval"/>.
/// </summary>
public sealed partial class RegistryMirror : BackgroundService, IModelTokenLookup
{
    private readonly IChainClient _chain;
    private readonly IRegistryMirrorStore _store;
    private readonly RegistryMirrorOptions _options;
    private readonly ulong _confirmations;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly ConcurrentDictionary<string, string> _models = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _pollGate = new(1, 1);
    private long _cursor = -1;
    private long _head = -1;
    private bool _caughtUp;
    private bool _loaded;

    /// <summary>Creates the mirror.</summary>
    internal RegistryMirror(IChainClient chain, IRegistryMirrorStore store, IOptions<HokusaiContractsOptions> options, TimeProvider timeProvider, ILogger<RegistryMirror> logger, IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        _chain = chain ?? throw new ArgumentNullException(nameof(chain));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _options = options.Value.RegistryMirror;
        _confirmations = (ulong)Math.Max(0, options.Value.Chain.ConfirmationBlocks);
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _meter = meterFactory.Create(HokusaiContractsDiagnostics.MeterName);
        const string P = HokusaiContractsDiagnostics.InstrumentPrefix;
        _meter.CreateObservableGauge(P + "registry_mirror.lag", ObserveLag, "{block}", "Blocks between the chain head and the registry mirror's cursor (last poll); absent until the first poll.");
        _meter.CreateObservableGauge(P + "registry_mirror.models", () => (long)_models.Count, "{model}", "Models the registry mirror knows.");
    }

    /// <summary>True once the mirror has read every confirmed block (misses then answer "not registered" without RPC).</summary>
    public bool IsCaughtUp => Volatile.Read(ref _caughtUp);

    /// <summary>The last block applied, or null before the first.</summary>
    public ulong? Cursor => Volatile.Read(ref _cursor) is var c and >= 0 ? (ulong)c : null;

    /// <summary>Blocks between the head seen at the last poll and <see cref="Cursor"/>, or null before the first poll.</summary>
    public ulong? LagBlocks
    {
        get
        {
            var head = Volatile.Read(ref _head);
            if (head < 0)
            {
                return null;
            }

            var cursor = Volatile.Read(ref _cursor);
            return (ulong)Math.Max(0, head - cursor);
        }
    }

    /// <inheritdoc />
    public async Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        if (_models.TryGetValue(modelId, out var token))
        {
            return token;
        }

        return IsCaughtUp ? null : await _chain.GetRegisteredTokenAsync(modelId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads the stored entries (first call), then reads the confirmed blocks after the cursor in ranges of at most
    /// <see cref="RegistryMirrorOptions.MaxBlockRange"/>, storing each range with its cursor before moving on.
    /// </summary>
    internal Task PollOnceAsync(CancellationToken cancellationToken) => PollOnceAsync(null, cancellationToken);

    /// <summary>As <see cref="PollOnceAsync(CancellationToken)"/>, with the head already known (from the block follower).</summary>
    internal async Task PollOnceAsync(ulong? knownHead, CancellationToken cancellationToken)
    {
        await _pollGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!Volatile.Read(ref _loaded))
            {
                await LoadAsync(cancellationToken).ConfigureAwait(false);
            }

            var head = knownHead ?? await _chain.GetLatestBlockAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _head, (long)head);
            var stored = await _store.GetCursorAsync(cancellationToken).ConfigureAwait(false);
            if (stored is null && Volatile.Read(ref _cursor) >= 0)
            {
                // The store lost the mirror (keys deleted, a fresh Redis): read the chain again to rebuild it. Entries
                // already known here stay (they are confirmed), misses ask the chain until the rebuild is done.
                LogRebuilding(_logger, _options.StartBlock);
                Volatile.Write(ref _caughtUp, false);
                Volatile.Write(ref _cursor, -1);
            }

            if (head < _confirmations)
            {
                Volatile.Write(ref _caughtUp, true);
                return;
            }

            var safe = head - _confirmations;
            var cursor = Volatile.Read(ref _cursor);
            var next = cursor < 0 ? _options.StartBlock : (ulong)cursor + 1;
            var range = (ulong)_options.MaxBlockRange;
            while (next <= safe)
            {
                var to = Math.Min(safe, next + range - 1);
                var logs = await _chain.GetModelRegistrationsAsync(next, to, cancellationToken).ConfigureAwait(false);
                var entries = logs.Select(l => KeyValuePair.Create(l.ModelId, l.TokenAddress)).ToList();
                await _store.ApplyAsync(entries, to, cancellationToken).ConfigureAwait(false);
                foreach (var (model, token) in entries)
                {
                    _models[model] = token;
                }

                Volatile.Write(ref _cursor, (long)to);
                if (entries.Count > 0)
                {
                    LogApplied(_logger, entries.Count, next, to);
                }

                next = to + 1;
            }

            if (!IsCaughtUp)
            {
                LogCaughtUp(_logger, safe, _models.Count);
            }

            Volatile.Write(ref _caughtUp, true);
        }
        finally
        {
            _pollGate.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        // One head source per process: the block follower's heads drive the mirror when the chain client has one.
        var followed = _chain as IFollowedChain;
        using var headArrived = new SemaphoreSlim(0, 1);
        using var subscription = followed?.SubscribeHeads(_ =>
        {
            if (headArrived.CurrentCount == 0)
            {
                try
                {
                    headArrived.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Another head already signalled this round.
                }
            }
        }, _options.PollInterval);
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var lastPoll = _time.GetUtcNow();
            try
            {
                await PollOnceAsync(followed?.Head, stoppingToken).ConfigureAwait(false);
                failing = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A chain or store outage only delays the mirror; a fresh mirror keeps falling back to the chain.
                if (!failing)
                {
                    LogPollFailed(_logger, ex.Message);
                }

                failing = true;
            }

            try
            {
                if (subscription is null)
                {
                    await Task.Delay(_options.PollInterval, _time, stoppingToken).ConfigureAwait(false);
                }
                else
                {
                    // A new head, or the interval (a wiped store is noticed without new blocks; that poll reads no chain).
                    // At most one read per interval: on a chain with a block per transaction (anvil automine, fast L2s)
                    // reading logs at every head would cost an eth_getLogs per block for nothing the interval promises.
                    var since = _time.GetUtcNow() - lastPoll;
                    if (since < _options.PollInterval)
                    {
                        await Task.Delay(_options.PollInterval - since, _time, stoppingToken).ConfigureAwait(false);
                    }

                    await headArrived.WaitAsync(_options.PollInterval, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _meter.Dispose();
        _pollGate.Dispose();
        base.Dispose();
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        // Cursor first: entries read after it may run ahead of it (another replica), never behind.
        var cursor = await _store.GetCursorAsync(cancellationToken).ConfigureAwait(false);
        if (cursor is { } at)
        {
            foreach (var (model, token) in await _store.GetModelsAsync(cancellationToken).ConfigureAwait(false))
            {
                _models[model] = token;
            }

            Volatile.Write(ref _cursor, (long)at);
            LogResumed(_logger, at, _models.Count);
        }

        Volatile.Write(ref _loaded, true);
    }

    private IEnumerable<Measurement<long>> ObserveLag()
    {
        if (LagBlocks is { } lag)
        {
            yield return new Measurement<long>((long)lag);
        }
    }

    [LoggerMessage(70, LogLevel.Information, "Registry mirror resumed at block {Cursor} with {Models} models")]
    private static partial void LogResumed(ILogger logger, ulong cursor, int models);

    [LoggerMessage(71, LogLevel.Warning, "Registry mirror cursor missing from the store; rebuilding from block {StartBlock}")]
    private static partial void LogRebuilding(ILogger logger, ulong startBlock);

    [LoggerMessage(72, LogLevel.Debug, "Registry mirror applied {Count} registrations from blocks {From}-{To}")]
    private static partial void LogApplied(ILogger logger, int count, ulong from, ulong to);

    [LoggerMessage(73, LogLevel.Information, "Registry mirror caught up at block {Block} with {Models} models")]
    private static partial void LogCaughtUp(ILogger logger, ulong block, int models);

    [LoggerMessage(74, LogLevel.Warning, "Registry mirror poll failed (misses fall back to the chain until it catches up): {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string reason);
}
