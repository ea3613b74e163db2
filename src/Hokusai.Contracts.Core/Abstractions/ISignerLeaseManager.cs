namespace Hokusai.Contracts.Backends;

/// <summary>
/// Makes one process at a time the owner of a signing key, so nonces never collide across replicas.
/// The in-memory default is exclusive within the process; the Redis package uses a renewed lease with a fencing
/// token, shared by every replica. With a signer pool, replicas also announce that they are alive here, so each
/// can hold its fair share of the keys.
/// </summary>
public interface ISignerLeaseManager
{
    /// <summary>Waits until this process owns <paramref name="signerAddress"/>.</summary>
    ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken);

    /// <summary>This process's name among the replicas (reported as a key's owner).</summary>
    string ReplicaId => Environment.MachineName;

    /// <summary>
    /// Announces that this process is alive (until one lease TTL from now) and returns how many replicas are
    /// alive, this one included. Replicas call it about once per renewal interval.
    /// </summary>
    ValueTask<int> AnnounceAsync(CancellationToken cancellationToken) => ValueTask.FromResult(1);

    /// <summary>How often a replica announces itself (well within the announcement's lifetime).</summary>
    TimeSpan AnnounceInterval => TimeSpan.FromSeconds(1);

    /// <summary>Withdraws this process's announcement (clean shutdown), so the others take its keys at their next announcement.</summary>
    ValueTask WithdrawAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>The <see cref="ReplicaId"/> of the process leasing <paramref name="signerAddress"/>, or null when nobody does.</summary>
    ValueTask<string?> GetOwnerAsync(string signerAddress, CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);
}

/// <summary>An owned signer. Dispose to hand it over.</summary>
public interface ISignerLease : IAsyncDisposable
{
    /// <summary>Strictly increasing across owners; a new owner resynchronises nonces from the chain.</summary>
    long FencingToken { get; }

    /// <summary>Cancelled when the lease is lost (e.g. could not be renewed in time).</summary>
    CancellationToken Lost { get; }
}
