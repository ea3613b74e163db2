using System.Collections.Concurrent;
using System.Numerics;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// Hands out consecutive nonces for one signer without waiting for receipts, so many transactions
/// can be in flight at once. One instance per signer and node set in the process: every client
/// built for the same key and RPC URLs shares it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Instances live for the whole process, shared per signer.")]
internal sealed class NonceManager
{
    private static readonly ConcurrentDictionary<string, NonceManager> Shared = new(StringComparer.Ordinal);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SortedSet<BigInteger> _released = [];
    private BigInteger? _next;

    internal static NonceManager For(string signerAddress, IEnumerable<string> rpcUrls)
    {
        var key = signerAddress.ToLowerInvariant() + "|" + string.Join(",", rpcUrls.Select(u => u.Trim().TrimEnd('/').ToLowerInvariant()));
        return Shared.GetOrAdd(key, static _ => new NonceManager());
    }

    /// <summary>
    /// Runs <paramref name="use"/> with the next nonce and consumes it only when <paramref name="use"/>
    /// succeeds, so a failed signing does not leave a gap.
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
            var result = use(nonce);
            _next = nonce + 1;
            return result;
        }
        finally
        {
            _gate.Release();
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

    /// <summary>Forgets the local counter and re-reads the pending count.</summary>
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
