using System.Numerics;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// The nonce sequence of one signer, end to end: hands out consecutive nonces without waiting for
/// receipts, holds a nonce back while <see cref="Window"/> transactions are sent but not mined, and
/// remembers the raw bytes of every persisted, not yet mined transaction so the block follower can
/// re-broadcast whichever one the node is missing (a nonce gap never stays). One instance per key of the
/// signer pool, owned by that key's chain client (there is no process-wide registry: two sequences for one
/// key in one process would be two owners, which the signer lease exists to prevent).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The gate is never waited on after its owner, the chain client, is gone.")]
internal sealed class NonceManager
{
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
    private int _recount;

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
    /// succeeds, so a failed signing does not leave a gap. Waits while the in-flight window is full, without
    /// holding the sequence meanwhile: a nonce given back while it waits (which may be the very gap the window
    /// waits on) is taken at once.
    /// </summary>
    internal async Task<T> UseNextAsync<T>(Func<CancellationToken, Task<BigInteger>> readPending, Func<BigInteger, T> use, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
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
                bool full;
                lock (_lock)
                {
                    changed = _minedChanged.Task;
                    full = _mined >= 0 && nonce - _mined >= Window;
                }

                if (!full)
                {
                    var result = use(nonce);
                    _next = nonce + 1;
                    return result;
                }
            }
            finally
            {
                _gate.Release();
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

        // Preparations waiting for the window look again: the given-back nonce needs no window.
        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _minedChanged;
            _minedChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>
    /// Re-reads the pending count and takes the mined count from the node. The counter only moves forward: after
    /// "nonce too low" the node is ahead of it, while nonces this process handed out but the node has not seen yet
    /// (signed, persisted, being broadcast by other jobs) must not be handed out a second time, which would turn one
    /// conflict into a cascade. A new owner starts from the node because it forgot the sequence first
    /// (<see cref="ForgetAsync"/>). Persisted bytes stay: they are still this signer's transactions.
    /// </summary>
    internal async Task ResyncAsync(Func<CancellationToken, Task<BigInteger>> readPending, Func<CancellationToken, Task<BigInteger>> readMined, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var mined = await readMined(cancellationToken);
            var pending = await readPending(cancellationToken);
            _next = _next is { } next && next > pending ? next : pending;
            // Given-back nonces the node has since counted were used by someone else: not holes to fill any more.
            _released.RemoveWhere(n => n < pending);
            // The mined count this process remembers may be from long ago (the key was another replica's since):
            // kept, it would make the window look full with nothing of ours in flight to move it, and the block
            // follower reads counts only when the head moves, so on an idle chain nothing would move it.
            OnMined(mined);
            // A gap the old owner left (a nonce it persisted but never sent) shows only in the node's pending count,
            // which the follower otherwise reads when the head moves: ask it to read the counts once now.
            Volatile.Write(ref _recount, 1);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The block follower is about to fill <paramref name="nonce"/> with a self-transfer: takes it out of the sequence
    /// so no job is handed it afterwards (a nonce given back and not yet reused would otherwise meet "nonce too low"
    /// in the next job). False when the nonce is not this process's to fill: the sequence was forgotten (another
    /// replica owns the key now) or the nonce was never handed out here.
    /// </summary>
    internal async Task<bool> TryClaimGapAsync(BigInteger nonce, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _released.Remove(nonce) || (_next is { } next && nonce < next);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// This process no longer owns the key: forgets the counter, the nonces given back and the bytes kept for
    /// re-sending. The new owner has all of them in its own sequence and its jobs' records; kept here, they would
    /// make this process's block follower "repair" gaps of a sequence it no longer drives, taking nonces the new
    /// owner is about to use. A later <see cref="ResyncAsync"/> starts over when the key comes back.
    /// </summary>
    internal async Task ForgetAsync()
    {
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            _next = null;
            _released.Clear();
            lock (_lock)
            {
                _persisted.Clear();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>True once after a resync: the block follower reads this signer's counts even if the head did not move.</summary>
    internal bool TakeRecount() => Interlocked.Exchange(ref _recount, 0) == 1;

    /// <summary>The next nonce that will be handed out, if known.</summary>
    internal BigInteger? Peek => _next;
}
