using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Runs every Redis call with the operation timeout and turns unreachability into
/// <see cref="StoreUnavailableException"/>, so callers fail fast (503) instead of hanging.
/// </summary>
/// <remarks>
/// The calls that open a request's work (<see cref="RunRequestAsync{T}"/>, and the request limiter's inline check
/// through <see cref="RunGuardedAsync{T}"/>) pass a circuit breaker: once they fail in a row (two failures that are
/// at least half of the calls of the last second), Redis is presumed unreachable for <see cref="BreakDuration"/> and
/// those calls fail at once instead of each waiting out another timeout, so a request answers 503 within about one
/// timeout; then a single call tries Redis again. The breaker keeps time by the host's <see cref="TimeProvider"/>.
/// The engine's calls never pass it: a limiter slowed by load must not fail a job's save after signing, which would
/// make the engine resynchronise its nonces under transactions still in flight.
/// </remarks>
internal sealed partial class RedisExecutor
{
    /// <summary>How long request calls fail without trying once the breaker opened.</summary>
    internal static readonly TimeSpan BreakDuration = TimeSpan.FromMilliseconds(500);

    private static readonly string[] s_transientServerErrors = ["LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY "];
    private readonly RedisConnection _connection;
    private readonly TimeSpan _timeout;
    private readonly RedisMetrics? _metrics;
    private readonly ResiliencePipeline _requestBreaker;

    public RedisExecutor(
        RedisConnection connection,
        IOptions<RedisContractsOptions> options,
        TimeProvider time,
        RedisMetrics? metrics = null,
        ILogger<RedisExecutor>? logger = null)
    {
        _connection = connection;
        _timeout = options.Value.OperationTimeout;
        _metrics = metrics;
        Keys = new RedisKeys(options.Value);
        _requestBreaker = CreateRequestBreaker(time, logger ?? NullLogger<RedisExecutor>.Instance);
    }

    public RedisKeys Keys { get; }

    public TimeSpan Timeout => _timeout;

    /// <summary>
    /// Bound of a request's own Redis call (<see cref="RunRequestAsync{T}"/>): half of the operation timeout, so a
    /// request answers 503 well within a second when Redis is frozen (it usually answers in milliseconds).
    /// </summary>
    public TimeSpan RequestTimeout => _timeout / 2;

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
            _metrics?.ReportAvailable(true);
            return result;
        }
        catch (TimeoutException ex)
        {
            Observe(task);
            _metrics?.ReportAvailable(false);
            throw new StoreUnavailableException($"Redis did not answer {name} within {timeout.TotalMilliseconds:0} ms.", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(task);
            throw;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            _metrics?.ReportAvailable(false);
            throw new StoreUnavailableException($"Redis is unavailable ({name}): {ex.GetType().Name}.", ex);
        }
    }

    /// <summary>
    /// Like <see cref="RunAsync{T}(Func{IDatabase, Task{T}}, CancellationToken, string)"/>, for a request's first
    /// Redis call, bounded by <see cref="RequestTimeout"/>: fails at once while the request breaker is open.
    /// </summary>
    public Task<T> RunRequestAsync<T>(Func<IDatabase, Task<T>> operation, CancellationToken cancellationToken, [CallerMemberName] string name = "") =>
        RunGuardedAsync(ct => RunAsync(operation, RequestTimeout, ct, name), cancellationToken, name);

    /// <summary>
    /// Runs <paramref name="operation"/> (Redis work on a request's path) through the request breaker. Its
    /// <see cref="StoreUnavailableException"/> or <see cref="TimeoutException"/> counts as a failure; while the breaker
    /// is open the operation is not started and <see cref="StoreUnavailableException"/> is thrown at once.
    /// </summary>
    public async Task<T> RunGuardedAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken, [CallerMemberName] string name = "")
    {
        try
        {
            return await _requestBreaker.ExecuteAsync(
                static async (state, ct) =>
                {
                    try
                    {
                        return await state.operation(ct).ConfigureAwait(false);
                    }
                    catch (TimeoutException ex)
                    {
                        throw new StoreUnavailableException($"Redis did not answer {state.name} in time.", ex);
                    }
                },
                (operation, name),
                cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw new StoreUnavailableException($"Redis failed moments ago; {name} not attempted.", ex);
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

    private static ResiliencePipeline CreateRequestBreaker(TimeProvider time, ILogger logger) =>
        new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                // Two failures are enough when they are most of what was tried (a frozen or killed Redis fails every
                // call); a lone timeout among many answered calls of a busy second does not open it.
                FailureRatio = 0.5,
                MinimumThroughput = 2,
                SamplingDuration = TimeSpan.FromSeconds(1),
                BreakDuration = BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<StoreUnavailableException>(),
                OnOpened = args =>
                {
                    LogBreakerOpened(logger, args.BreakDuration.TotalMilliseconds, args.Outcome.Exception);
                    return default;
                },
                OnClosed = _ =>
                {
                    LogBreakerClosed(logger);
                    return default;
                },
            })
            .Build();

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Redis calls of requests are failing; requests answer 503 without trying Redis for {BreakMilliseconds} ms")]
    private static partial void LogBreakerOpened(ILogger logger, double breakMilliseconds, Exception? exception);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Redis answers requests' calls again")]
    private static partial void LogBreakerClosed(ILogger logger);
}
