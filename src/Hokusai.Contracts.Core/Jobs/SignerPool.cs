using System.Numerics;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Jobs;

/// <summary>
/// The keys this deployment signs with (<c>DEPLOYER_PRIVATE_KEY</c> / <c>DEPLOYER_PRIVATE_KEYS</c>), each with its own
/// chain client (its own nonce sequence; one block follower and RPC pool for all) and its own step runner. What a
/// key's owner is doing (owned here, by which replica, jobs in flight) is kept on each <see cref="PoolSigner"/> for
/// health and metrics; the engine is the only writer.
/// </summary>
internal sealed class SignerPool
{
    private readonly Dictionary<string, PoolSigner> _byAddress;

    internal SignerPool(IReadOnlyList<PoolSigner> signers)
    {
        ArgumentNullException.ThrowIfNull(signers);
        if (signers.Count == 0)
        {
            throw new ArgumentException("A signer pool needs at least one key.", nameof(signers));
        }

        Signers = signers;
        _byAddress = signers.ToDictionary(s => s.Address, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The keys in pool order (index 0 first).</summary>
    public IReadOnlyList<PoolSigner> Signers { get; }

    /// <summary>The key with this address, or null when it is not (or no longer) in the pool.</summary>
    public PoolSigner? Find(string? address) => address is not null && _byAddress.TryGetValue(address, out var signer) ? signer : null;

    /// <summary>
    /// The pool from the options: the registered chain client signs with the first key; the Nethereum client makes
    /// one client per further key sharing its follower. Another <see cref="IChainClient"/> (a test double) is a pool of one.
    /// </summary>
    internal static SignerPool Create(IServiceProvider services)
    {
        var chain = services.GetRequiredService<IChainClient>();
        var options = services.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value.Chain;
        var primary = services.GetRequiredService<DeploymentProcessor>();
        var signers = new List<PoolSigner> { new(0, chain, primary) };
        if (chain is NethereumChainClient nethereum)
        {
            foreach (var key in SignerKeys.Require(options).Skip(1))
            {
                var client = nethereum.ForSigner(key);
                var executor = ActivatorUtilities.CreateInstance<TransactionExecutor>(services, client);
                signers.Add(new PoolSigner(key.Index, client, ActivatorUtilities.CreateInstance<DeploymentProcessor>(services, client, executor)));
            }
        }

        return new SignerPool(signers);
    }
}

/// <summary>One key of the pool and what this process knows about it.</summary>
internal sealed class PoolSigner(int index, IChainClient chain, DeploymentProcessor processor)
{
    private int _active;
    private long _fencingToken;

    /// <summary>Place in the pool.</summary>
    public int Index { get; } = index;

    /// <summary>The key's address (EIP-55).</summary>
    public string Address => Chain.DeployerAddress;

    /// <summary>Signs with this key.</summary>
    public IChainClient Chain { get; } = chain;

    /// <summary>Runs jobs bound to this key.</summary>
    public DeploymentProcessor Processor { get; } = processor;

    /// <summary>True while this process holds the key's lease.</summary>
    public bool OwnedHere => Volatile.Read(ref _fencingToken) > 0;

    /// <summary>The lease's fencing token while owned here, else 0.</summary>
    public long FencingToken => Volatile.Read(ref _fencingToken);

    /// <summary>The replica that leased the key when last looked (this process's id while it owns it); null when free or unknown.</summary>
    public string? Owner { get; set; }

    /// <summary>Jobs of this key this process is running now.</summary>
    public int ActiveJobs => Volatile.Read(ref _active);

    /// <summary>The next nonce the key hands out, when known (Nethereum client only).</summary>
    public BigInteger? NextNonce => (Chain as NethereumChainClient)?.Nonces.Peek;

    internal void Owned(long fencingToken) => Volatile.Write(ref _fencingToken, fencingToken);

    internal void Released() => Volatile.Write(ref _fencingToken, 0);

    internal void JobStarted() => Interlocked.Increment(ref _active);

    internal void JobEnded() => Interlocked.Decrement(ref _active);

    /// <summary>Names the key by place and address only.</summary>
    public override string ToString() => $"key {Index} ({Address})";
}

/// <summary>
/// How many of the pool's keys each replica should hold: the keys divided by the live replicas, rounded up, so
/// every key has an owner while any replica lives, and a replica above it hands its extra keys over.
/// </summary>
internal static class SignerShare
{
    /// <summary>ceil(<paramref name="keys"/> / <paramref name="liveReplicas"/>), at least 1 when there are keys.</summary>
    public static int Target(int keys, int liveReplicas)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keys);
        if (keys == 0)
        {
            return 0;
        }

        var replicas = Math.Max(1, liveReplicas);
        return (keys + replicas - 1) / replicas;
    }

    /// <summary>
    /// The owned key to hand over when above the share: the highest place in the pool, so replicas converge on
    /// disjoint sets instead of trading the same key back and forth. Null when not above the share.
    /// </summary>
    public static int? ToRelease(IReadOnlyCollection<int> ownedIndexes, int target)
    {
        ArgumentNullException.ThrowIfNull(ownedIndexes);
        return ownedIndexes.Count > target && ownedIndexes.Count > 0 ? ownedIndexes.Max() : null;
    }
}
