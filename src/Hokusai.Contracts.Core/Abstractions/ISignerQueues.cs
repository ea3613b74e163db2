namespace Hokusai.Contracts.Backends;

/// <summary>
/// One queue per key of the signer pool, for jobs already bound to that key: only the key's current owner reads
/// it, so a bound job delivered to (or parked by) another replica reaches the owner at once instead of circling
/// through the shared queue. Unbound jobs stay on the shared <see cref="IDeploymentQueue"/>.
/// </summary>
public interface ISignerQueues
{
    /// <summary>The queue of jobs bound to <paramref name="signerAddress"/> (the same instance for the same key).</summary>
    IDeploymentQueue GetQueue(string signerAddress);
}
