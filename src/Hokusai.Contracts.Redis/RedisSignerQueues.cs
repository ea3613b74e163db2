using System.Collections.Concurrent;
using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// One stream per pool key (<c>{tag}:signer:&lt;address&gt;:queue</c>, same hash tag as everything else, same consumer
/// group and keep-alive as the shared queue), read only by the key's owner; each has its own wake-up channel, so
/// an owner wakes only for its own key's jobs.
/// </summary>
internal sealed class RedisSignerQueues(RedisExecutor redis, IOptions<RedisContractsOptions> options, ILogger<RedisDeploymentQueue> logger) : ISignerQueues, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<RedisDeploymentQueue>> _queues = new(StringComparer.OrdinalIgnoreCase);

    public IDeploymentQueue GetQueue(string signerAddress)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signerAddress);
        return _queues.GetOrAdd(
            signerAddress,
            address => new Lazy<RedisDeploymentQueue>(() => new RedisDeploymentQueue(redis, options, logger, redis.Keys.SignerQueue(address), redis.Keys.SignerWakeChannel(address)))).Value;
    }

    public async ValueTask DisposeAsync()
    {
        // Each queue hands what it still holds back to the group (idle at once), like the shared queue on shutdown.
        foreach (var queue in _queues.Values.Where(q => q.IsValueCreated))
        {
            await queue.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}
