using System.Collections.Concurrent;
using System.Numerics;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// The nonce sequence of one signer, end to end: hands out consecutive nonces without waiting for
/// receipts, holds a nonce back while <see cref="Window"/> transactions are sent but not mined, and
/// remembers the raw bytes of every persisted, not yet mined transaction so the block follower can
/// re-broadcast whichever one the node is missing (a nonce gap never stays). One instance per signer
/// and node set in the process: every client built for the same key and RPC URLs shares it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Instances live for the whole process, shared per signer.")]
internal sealed class NonceManager
{
    private static readonly ConcurrentDictionary<string, NonceManager> Shared = new(StringComparer.Ordinal);

    /// <summary>
    /// Mined transactions whose bytes are kept: a reorganisation can drop a mined transaction again, and
    /// its bytes must still be there to re-send it.
    /// </summary>
    private const int MinedKept = 64;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SortedSet<BigInteger> _released = [];
    private readonly Lock _lock = new();
    private readonly SortedDictionary<BigInteger, string> _persisted = [];
    private TaskCompletionSource _minedChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private BigInteger? _next;
    private BigInteger _mined = BigInteger.MinusOne;

    internal static NonceManager For(string signerAddress, IEnumerable<string> rpcUrls)
    {
        var key = signerAddress.ToLowerInvariant() + "|" + string.Join(",", rpcUrls.Select(u => u.Trim().TrimEnd('/').ToLowerInvariant()));
        return Shared.GetOrAdd(key, static _ => new NonceManager());
    }

    /// <summary>At most this many nonces at or above the mined count are handed out (MAX_IN_FLIGHT_PER_KEY).</summary>
    internal int Window { get; set; } = int.MaxValue;

    /// <summary>The node's latest transaction count as last seen (nonces below it are mined); -1 when not known.</summary>
    internal BigInteger Mined
    {
        get
        {
            lock (_lock)
            {
                return _mined;
            }
        }
    }

    /// <summary>Nonces handed out and not known to be mined.</summary>
    internal bool HasInFlight
    {
        get
        {
            lock (_lock)
            {
                return (_persisted.Count > 0 && _persisted.Last().Key >= _mined) || (_next is { } next && _mined >= 0 && next > _mined);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="use"/> with the next nonce and consumes it only when <paramref name="use"/>
    /// succeeds, so a failed signing does not leave a gap. Waits while the in-flight window is full.
    /// </summary>
    internal async Task<T> UseNextAsync<T>(Func<CancellationToken, Task<BigInteger>> readPending, Func<BigInteger, T> use, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // A nonce given back by a transaction that never left the process fills its gap first.
            if (_released.Count > 0)
            {
                var reused = _released.Min;
                var again = use(reused);
                _released.Remove(reused);
                return again;
            }

            var nonce = _next ??= await readPending(cancellationToken);
            await WaitForWindowAsync(nonce, cancellationToken);
            var result = use(nonce);
            _next = nonce + 1;
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task WaitForWindowAsync(BigInteger nonce, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_mined < 0 || nonce - _mined < Window)
                {
                    return;
                }

                changed = _minedChanged.Task;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A transaction was persisted and is being broadcast: remember its bytes until it is mined.</summary>
    internal void Track(ulong nonce, string rawTransaction)
    {
        lock (_lock)
        {
            if (_mined < 0 || nonce + MinedKept >= _mined)
            {
                _persisted[nonce] = rawTransaction;
            }
        }
    }

    /// <summary>The node reports <paramref name="latestCount"/> mined transactions of the signer.</summary>
    internal void OnMined(BigInteger latestCount)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (latestCount == _mined)
            {
                return;
            }

            _mined = latestCount;
            while (_persisted.Count > 0 && _persisted.First().Key + MinedKept < latestCount)
            {
                _persisted.Remove(_persisted.First().Key);
            }

            changed = _minedChanged;
            _minedChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>
    /// Given the node's pending count, the nonce the node is missing below what was handed out, with the
    /// persisted bytes for it when known; null when there is no gap.
    /// </summary>
    internal (BigInteger Nonce, string? Raw)? Gap(BigInteger pendingCount)
    {
        lock (_lock)
        {
            var handedOut = _next ?? BigInteger.MinusOne;
            var highestTracked = _persisted.Count > 0 ? _persisted.Last().Key : BigInteger.MinusOne;
            if (pendingCount > highestTracked && pendingCount >= handedOut)
            {
                return null;
            }

            return (pendingCount, _persisted.TryGetValue(pendingCount, out var raw) ? raw : null);
        }
    }

    /// <summary>
    /// Gives back the nonce of a signed transaction that was never broadcast. Unlike a resync this leaves
    /// every other in-flight assignment alone: the nonce is simply handed out again before new ones.
    /// </summary>
    internal async Task ReleaseAsync(BigInteger nonce, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_next == nonce + 1)
            {
                _next = nonce;
            }
            else if (_next > nonce)
            {
                _released.Add(nonce);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets the local counter and re-reads the pending count. Persisted bytes stay: they are still this signer's transactions.</summary>
    internal async Task ResyncAsync(Func<CancellationToken, Task<BigInteger>> readPending, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _next = null;
            _released.Clear();
            _next = await readPending(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The next nonce that will be handed out, if known.</summary>
    internal BigInteger? Peek => _next;
}
