using System.Collections.Concurrent;
using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.InMemory;

/// <summary>Process-local queues per pool key (not durable: the engine re-queues unfinished jobs when it takes a key).</summary>
internal sealed class InMemorySignerQueues : ISignerQueues
{
    private readonly ConcurrentDictionary<string, InMemoryDeploymentQueue> _queues = new(StringComparer.OrdinalIgnoreCase);

    public IDeploymentQueue GetQueue(string signerAddress)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signerAddress);
        return _queues.GetOrAdd(signerAddress, static _ => new InMemoryDeploymentQueue());
    }
}
