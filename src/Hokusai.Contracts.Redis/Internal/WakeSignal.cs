using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Wakes local waiters when a Redis channel announces something (a job queued, a signer released), so they
/// wait without polling. Capture <see cref="Current"/> before looking for work, then await it: an announcement
/// in between completes the captured task, so none is missed. Messages can still be lost (a reconnect), which
/// is why every waiter keeps a slow safety timeout.
/// </summary>
internal sealed class WakeSignal(RedisExecutor redis, RedisChannel channel)
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _subscribed;
    private readonly Lock _gate = new();

    public Task Current => Volatile.Read(ref _current).Task;

    public void Wake() =>
        Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Subscribes once per process (again after a failed attempt); the multiplexer resubscribes after reconnects.</summary>
    public Task EnsureSubscribedAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_subscribed is null || _subscribed.IsFaulted || _subscribed.IsCanceled)
            {
                _subscribed = SubscribeAsync(cancellationToken);
            }

            return _subscribed;
        }
    }

    private async Task SubscribeAsync(CancellationToken cancellationToken)
    {
        var multiplexer = await redis.Connection.GetAsync().ConfigureAwait(false);
        await multiplexer.GetSubscriber().SubscribeAsync(channel, (_, _) => Wake())
            .WaitAsync(redis.Timeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits for a wake-up after <paramref name="observed"/> was captured, or the timeout; false on timeout.</summary>
    public static async Task<bool> WaitAsync(Task observed, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await observed.WaitAsync(timeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
