using System.Threading.Channels;
using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.InMemory;

/// <summary>
/// Process-local queue. Not durable: the engine re-enqueues unfinished jobs from the store at start-up.
/// </summary>
internal sealed class InMemoryDeploymentQueue : IDeploymentQueue
{
    private readonly Channel<Guid> _channel = Channel.CreateUnbounded<Guid>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private long _outstanding;
    private long _deliveries;

    public bool IsDurable => false;

    public ValueTask EnqueueAsync(Guid jobId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _outstanding);
        return _channel.Writer.WriteAsync(jobId, cancellationToken);
    }

    public async ValueTask<QueueItem?> DequeueAsync(CancellationToken cancellationToken)
    {
        try
        {
            var id = await _channel.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var delivery = Interlocked.Increment(ref _deliveries);
            return new QueueItem(id, delivery.ToString(System.Globalization.CultureInfo.InvariantCulture), 1);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public ValueTask AcknowledgeAsync(QueueItem item, CancellationToken cancellationToken)
    {
        Interlocked.Decrement(ref _outstanding);
        return ValueTask.CompletedTask;
    }

    public ValueTask<long> GetDepthAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(Math.Max(0, Interlocked.Read(ref _outstanding)));
}
