using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Holds the multiplexer: connects on first use (so start-up never blocks on Redis) and disposes it only
/// when this package created it.
/// </summary>
internal sealed partial class RedisConnection : IAsyncDisposable, IDisposable
{
    private readonly Func<Task<IConnectionMultiplexer>> _connect;
    private readonly bool _owns;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Task<IConnectionMultiplexer>? _connecting;
    private bool _disposed;

    public RedisConnection(Func<Task<IConnectionMultiplexer>> connect, bool owns, ILogger<RedisConnection> logger)
    {
        _connect = connect;
        _owns = owns;
        _logger = logger;
    }

    /// <summary>The multiplexer, connecting it on first use. A failed attempt is retried on the next call.</summary>
    public Task<IConnectionMultiplexer> GetAsync()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connecting is null || _connecting.IsFaulted || _connecting.IsCanceled)
            {
                _connecting = ConnectAsync();
            }

            return _connecting;
        }
    }

    /// <summary>Synchronous access for APIs that take a plain factory.</summary>
    public IConnectionMultiplexer Get() => GetAsync().GetAwaiter().GetResult();

    public static RedisConnection FromConfiguration(ConfigurationOptions configuration, ILogger<RedisConnection> logger) =>
        new(async () => await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false), owns: true, logger);

    private async Task<IConnectionMultiplexer> ConnectAsync()
    {
        var multiplexer = await _connect().ConfigureAwait(false);
        if (_owns)
        {
            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
        }

        return multiplexer;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        LogConnectionFailed(_logger, e.FailureType, e.ConnectionType, e.Exception);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => LogConnectionRestored(_logger, e.ConnectionType);

    public async ValueTask DisposeAsync()
    {
        Task<IConnectionMultiplexer>? connecting;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            connecting = _connecting;
        }

        if (!_owns || connecting is null)
        {
            return;
        }

        try
        {
            var multiplexer = await connecting.ConfigureAwait(false);
            multiplexer.ConnectionFailed -= OnConnectionFailed;
            multiplexer.ConnectionRestored -= OnConnectionRestored;
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
        catch (RedisException)
        {
            // Nothing to release: the connection never came up.
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Redis connection lost ({FailureType}, {ConnectionType}); reconnecting")]
    private static partial void LogConnectionFailed(ILogger logger, ConnectionFailureType failureType, ConnectionType connectionType, Exception? exception);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Redis connection restored ({ConnectionType})")]
    private static partial void LogConnectionRestored(ILogger logger, ConnectionType connectionType);
}
