using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Connects while the host starts, then readies the accept path (<see cref="RedisDeploymentAcceptor.WarmUpAsync"/>),
/// so the first request pays for neither the handshake nor a cold script inside its request timeout. Start-up (and
/// so readiness) waits for it, but never for long, and it never fails start-up: the multiplexer keeps reconnecting
/// by itself and an unwarmed acceptor still works.
/// </summary>
internal sealed partial class RedisConnectionWarmup(RedisConnection connection, RedisDeploymentAcceptor? acceptor, ILogger<RedisConnectionWarmup> logger) : IHostedService
{
    private static readonly TimeSpan s_maxWait = TimeSpan.FromSeconds(3);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var multiplexer = await connection.GetAsync().WaitAsync(s_maxWait, cancellationToken).ConfigureAwait(false);
            if (!multiplexer.IsConnected)
            {
                LogNotConnected(logger, null);
                return;
            }
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException)
        {
            LogNotConnected(logger, ex);
            return;
        }

        if (acceptor is null)
        {
            return;
        }

        try
        {
            await acceptor.WarmUpAsync(cancellationToken).WaitAsync(s_maxWait, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException or StoreUnavailableException)
        {
            LogWarmUpFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Redis is not reachable at start-up; requests that need it answer 503 until it is")]
    private static partial void LogNotConnected(ILogger logger, Exception? exception);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Readying the accept path in Redis at start-up failed; the first requests do it instead")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception);
}
