using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Connects while the host starts, so the first request does not pay for the handshake inside its operation
/// timeout. Never blocks start-up for long and never fails it: the multiplexer keeps reconnecting by itself.
/// </summary>
internal sealed partial class RedisConnectionWarmup(RedisConnection connection, ILogger<RedisConnectionWarmup> logger) : IHostedService
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
            }
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException)
        {
            LogNotConnected(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Redis is not reachable at start-up; requests that need it answer 503 until it is")]
    private static partial void LogNotConnected(ILogger logger, Exception? exception);
}
