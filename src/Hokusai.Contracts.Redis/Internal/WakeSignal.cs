using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Wakes local waiters when a Redis channel announces something (a job queued, a signer released), so they
/// wait without polling. Capture <see cref="Current"/> and <see cref="IsSubscribed"/> before looking for work,
/// then await it: an announcement in between completes the captured task, so none is missed, provided the
/// subscription was live before the look. One that came up only afterwards may have missed an announcement made
/// in between: look again instead of waiting. Messages can still be lost (a reconnect), which is why every waiter
/// keeps a slow safety timeout.
/// </summary>
internal sealed class WakeSignal(RedisExecutor redis, RedisChannel channel, Action<RedisValue>? onMessage = null)
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _subscribed;
    private readonly Lock _gate = new();

    public Task Current => Volatile.Read(ref _current).Task;

    /// <summary>Whether the server has confirmed the subscription: from then on announcements reach this process (short of a reconnect).</summary>
    public bool IsSubscribed => Volatile.Read(ref _subscribed) is { IsCompletedSuccessfully: true };

    public void Wake() =>
        Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>
    /// Starts the subscription once per process (again after a failed attempt) without waiting for it, so a look
    /// for work is not held up by it. The multiplexer resubscribes by itself after reconnects.
    /// </summary>
    public void EnsureSubscribed()
    {
        lock (_gate)
        {
            if (_subscribed is null || _subscribed.IsFaulted || _subscribed.IsCanceled)
            {
                _subscribed = SubscribeAsync();
            }
        }
    }

    /// <summary>
    /// Starts the subscription if needed and waits for it at most <paramref name="bound"/>: a waiter that starts
    /// waiting before the subscription is up would miss the first message. A failed or slow subscription is
    /// not an error here (the safety timeout covers it; <see cref="IsSubscribed"/> tells).
    /// </summary>
    public async Task EnsureSubscribedAsync(TimeSpan bound, CancellationToken cancellationToken)
    {
        EnsureSubscribed();
        Task subscribed;
        lock (_gate)
        {
            subscribed = _subscribed!;
        }

        try
        {
            await subscribed.WaitAsync(bound, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or StoreUnavailableException)
        {
            // Waiters fall back on their safety timeout.
        }
    }

    private async Task SubscribeAsync()
    {
        try
        {
            var multiplexer = await redis.Connection.GetAsync().ConfigureAwait(false);
            await multiplexer.GetSubscriber().SubscribeAsync(channel, (_, message) =>
            {
                onMessage?.Invoke(message);
                Wake();
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisExecutor.IsUnavailable(ex) || ex is RedisException or ObjectDisposedException)
        {
            // Retried on the next wait; the safety timeout covers the meantime.
            throw new StoreUnavailableException("Subscribing to the wake-up channel failed.", ex);
        }
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
