using System.Runtime.CompilerServices;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Runs every Redis call with the operation timeout and turns unreachability into
/// <see cref="StoreUnavailableException"/>, so callers fail fast (503) instead of hanging.
/// </summary>
/// <remarks>
/// When the request limiter's Redis call timed out, Redis is presumed unreachable for <see cref="SuspendFor"/>:
/// the calls that open a request's work (<see cref="RunRequestAsync{T}"/>) fail at once in that window instead
/// of waiting out another timeout, so the whole request answers within about one timeout. The engine's calls
/// never fail this way: a limiter slowed by load must not fail a job's save after signing, which would make
/// the engine resynchronise its nonces under transactions still in flight.
/// </remarks>
internal sealed class RedisExecutor
{
    internal static readonly TimeSpan SuspendFor = TimeSpan.FromMilliseconds(500);
    private long _suspendedUntil;
    private static readonly string[] s_transientServerErrors = ["LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY "];
    private readonly RedisConnection _connection;
    private readonly TimeSpan _timeout;

    public RedisExecutor(RedisConnection connection, IOptions<RedisContractsOptions> options)
    {
        _connection = connection;
        _timeout = options.Value.OperationTimeout;
        Keys = new RedisKeys(options.Value);
    }

    public RedisKeys Keys { get; }

    public TimeSpan Timeout => _timeout;

    /// <summary>
    /// Bound of a request's own Redis call (<see cref="RunRequestAsync{T}"/>): half of the operation timeout, so a
    /// request answers 503 well within a second when Redis is frozen (it usually answers in milliseconds).
    /// </summary>
    public TimeSpan RequestTimeout => _timeout / 2;

    /// <summary>True while a recent timeout makes calls fail without trying.</summary>
    public bool IsSuspended => TimeProvider.System.GetTimestamp() < Volatile.Read(ref _suspendedUntil);

    /// <summary>Records a timeout of the request limiter's Redis call.</summary>
    public void Suspend() =>
        Volatile.Write(ref _suspendedUntil, TimeProvider.System.GetTimestamp() + (long)(SuspendFor.TotalSeconds * TimeProvider.System.TimestampFrequency));

    public RedisConnection Connection => _connection;

    public Task<T> RunAsync<T>(Func<IDatabase, Task<T>> operation, CancellationToken cancellationToken, [CallerMemberName] string name = "") =>
        RunAsync(operation, _timeout, cancellationToken, name);

    public async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> operation, TimeSpan timeout, CancellationToken cancellationToken, [CallerMemberName] string name = "")
    {
        cancellationToken.ThrowIfCancellationRequested();
        var task = InvokeAsync(operation);
        try
        {
            // Wall-clock timeout on purpose: a test's fake TimeProvider must not stop it from firing.
            var result = await task.WaitAsync(timeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            ContractsTelemetry.ReportRedisAvailable(true);
            return result;
        }
        catch (TimeoutException ex)
        {
            Observe(task);
            ContractsTelemetry.ReportRedisAvailable(false);
            throw new StoreUnavailableException($"Redis did not answer {name} within {timeout.TotalMilliseconds:0} ms.", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(task);
            throw;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            ContractsTelemetry.ReportRedisAvailable(false);
            throw new StoreUnavailableException($"Redis is unavailable ({name}): {ex.GetType().Name}.", ex);
        }
    }

    /// <summary>
    /// Like <see cref="RunAsync{T}(Func{IDatabase, Task{T}}, CancellationToken, string)"/>, for a request's first
    /// Redis call: fails at once while a recent timeout (the request limiter's or another request's) suspends Redis.
    /// </summary>
    /// <remarks>
    /// A timeout here suspends Redis in turn, so the requests queued behind this one answer 503 at once.
    /// </remarks>
    public async Task<T> RunRequestAsync<T>(Func<IDatabase, Task<T>> operation, CancellationToken cancellationToken, [CallerMemberName] string name = "")
    {
        if (IsSuspended)
        {
            throw new StoreUnavailableException($"Redis timed out moments ago; {name} not attempted.");
        }

        try
        {
            return await RunAsync(operation, RequestTimeout, cancellationToken, name).ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex) when (ex.InnerException is TimeoutException)
        {
            Suspend();
            throw;
        }
    }

    public Task RunAsync(Func<IDatabase, Task> operation, CancellationToken cancellationToken, [CallerMemberName] string name = "") =>
        RunAsync(async db =>
        {
            await operation(db).ConfigureAwait(false);
            return true;
        }, _timeout, cancellationToken, name);

    internal static bool IsUnavailable(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException or TimeoutException => true,
        RedisServerException server => s_transientServerErrors.Any(prefix => server.Message.StartsWith(prefix, StringComparison.Ordinal)),
        _ => false,
    };

    private async Task<T> InvokeAsync<T>(Func<IDatabase, Task<T>> operation)
    {
        var multiplexer = await _connection.GetAsync().ConfigureAwait(false);
        return await operation(multiplexer.GetDatabase()).ConfigureAwait(false);
    }

    // The abandoned command may still fault later; observe it so it is not reported as unobserved.
    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
}
