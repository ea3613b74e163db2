namespace Hokusai.Contracts;

/// <summary>
/// Makes one process at a time the owner of a signing key, so nonces never collide across replicas.
/// The in-memory default grants the lease at once; the Redis package uses a renewed lease with a fencing token.
/// </summary>
public interface ISignerLeaseManager
{
    /// <summary>Waits until this process owns <paramref name="signerAddress"/>.</summary>
    ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken);
}

/// <summary>An owned signer. Dispose to hand it over.</summary>
public interface ISignerLease : IAsyncDisposable
{
    /// <summary>Strictly increasing across owners; a new owner resynchronises nonces from the chain.</summary>
    long FencingToken { get; }

    /// <summary>Cancelled when the lease is lost (e.g. could not be renewed in time).</summary>
    CancellationToken Lost { get; }
}
