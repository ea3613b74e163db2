using System.Text.RegularExpressions;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;

namespace Hokusai.Contracts.Health;

/// <summary>The outcome of one probe run.</summary>
/// <typeparam name="T">What the probe reads.</typeparam>
/// <param name="Succeeded">Whether the probe answered within its timeout.</param>
/// <param name="Value">What it read, when it succeeded.</param>
/// <param name="Error">Why it failed, safe to show (no URL, no secret); null when it succeeded.</param>
/// <param name="TimedOut">Whether it failed by its timeout.</param>
/// <param name="Duration">How long the run took.</param>
/// <param name="CompletedAt">When the run finished, by the wall clock (shown; the cache ages by a monotonic clock).</param>
public sealed record ProbeResult<T>(bool Succeeded, T? Value, string? Error, bool TimedOut, TimeSpan Duration, DateTimeOffset CompletedAt);

/// <summary>
/// Runs an I/O probe with a hard timeout and shares its result: callers arriving while a run is in
/// flight await that run, and a finished result is reused for the cache duration. The probe is never
/// cancelled by a caller (others may be waiting on it), only by its own timeout.
/// </summary>
/// <typeparam name="T">What the probe reads.</typeparam>
internal sealed partial class CachedProbe<T>
{
    private readonly Lock _gate = new();
    private readonly Func<CancellationToken, Task<T>> _probe;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _cacheDuration;
    // The run with the monotonic timestamp of its end: the cache ages by that, not by the wall clock, which NTP or
    // an operator may step (backwards: a stale result served for ever; forwards: no caching at all).
    private Task<(ProbeResult<T> Result, long CompletedAt)>? _current;

    internal CachedProbe(Func<CancellationToken, Task<T>> probe, TimeProvider time, TimeSpan timeout, TimeSpan cacheDuration)
    {
        _probe = probe;
        _time = time;
        _timeout = timeout;
        _cacheDuration = cacheDuration;
    }

    /// <summary>The cached result, the run in flight, or a new run when the last result is older than the cache duration.</summary>
    /// <param name="cancellationToken">Stops this caller's wait only; the run goes on for others.</param>
    /// <returns>The probe's outcome; a failure is a result, never an exception.</returns>
    public async Task<ProbeResult<T>> GetAsync(CancellationToken cancellationToken)
    {
        Task<(ProbeResult<T> Result, long CompletedAt)> run;
        lock (_gate)
        {
            var current = _current;
            if (current is null || (current.IsCompleted && _time.GetElapsedTime(current.Result.CompletedAt) >= _cacheDuration))
            {
                current = RunAsync();
                _current = current;
            }

            run = current;
        }

        return (await run.WaitAsync(cancellationToken).ConfigureAwait(false)).Result;
    }

    private async Task<(ProbeResult<T> Result, long CompletedAt)> RunAsync()
    {
        var started = _time.GetTimestamp();
        // The one deadline of the run, armed before the probe starts. The wait below ends on it even when the probe
        // ignores its token.
        using var cts = new CancellationTokenSource(_timeout, _time);
        ProbeResult<T> result;
        try
        {
            // Task.Run guards against a probe that blocks before its first await.
            var value = await Task.Run(() => _probe(cts.Token), CancellationToken.None)
                .WaitAsync(cts.Token)
                .ConfigureAwait(false);
            result = new ProbeResult<T>(true, value, null, false, _time.GetElapsedTime(started), _time.GetUtcNow());
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            result = new ProbeResult<T>(false, default, $"timed out after {_timeout.TotalSeconds:0.###} s", true, _time.GetElapsedTime(started), _time.GetUtcNow());
        }
#pragma warning disable CA1031 // A probe failure of any kind is a health result, not a crash.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            result = new ProbeResult<T>(false, default, Describe(ex), false, _time.GetElapsedTime(started), _time.GetUtcNow());
        }

        return (result, _time.GetTimestamp());
    }

    /// <summary>A safe description: library exceptions keep their message (minus any URL), others only their type.</summary>
    internal static string Describe(Exception ex) => ex switch
    {
        ChainException chain => $"{chain.Kind}: {StripUrls(chain.Message)}",
        StoreUnavailableException store => StripUrls(store.Message),
        _ => ex.GetType().Name,
    };

    // RPC URLs often carry a provider key in the path or query; never echo them.
    internal static string StripUrls(string message) => UrlPattern().Replace(message, "<url>");

    [GeneratedRegex(@"[a-zA-Z][a-zA-Z0-9+.-]*://\S+", RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();
}

/// <summary>
/// Shared probes of the chain, so readiness and the detailed report reuse the same cached calls. Registered by
/// <see cref="HokusaiHealthChecksBuilderExtensions.AddHokusaiContracts"/>; a host's own report resolves it from DI.
/// </summary>
public sealed class HealthProbes
{
    internal const string HealthModelId = "__health__";

    internal HealthProbes(IServiceProvider services, TimeProvider time, Microsoft.Extensions.Options.IOptions<HokusaiHealthCheckOptions> options, ContractsTelemetry telemetry)
    {
        var o = options.Value;
        // Resolved lazily: the checks must answer (unhealthy) even in a host that registered no chain engine.
        IChainClient Chain() => (IChainClient?)services.GetService(typeof(IChainClient))
            ?? throw new ChainException(ChainErrorKind.Permanent, "no chain engine (IChainClient) is registered");

        ChainStatus = new CachedProbe<ChainStatus>(
            async ct =>
            {
                var status = await Chain().GetStatusAsync(ct).ConfigureAwait(false);
                // Every read of the balance, readiness's or the detailed report's, keeps the gauge current.
                telemetry.ReportDeployerBalance(status.DeployerBalanceWei);
                return status;
            },
            time,
            o.Timeout,
            o.CacheDuration);
        ModelRegistry = new CachedProbe<string?>(ct => Chain().GetRegisteredTokenAsync(HealthModelId, ct), time, o.Timeout, o.CacheDuration);
    }

    /// <summary><see cref="IChainClient.GetStatusAsync"/>: chain id, latest block, deployer balance.</summary>
    internal CachedProbe<ChainStatus> ChainStatus { get; }

    /// <summary>A view call on the <c>ModelRegistry</c>.</summary>
    internal CachedProbe<string?> ModelRegistry { get; }

    /// <summary>
    /// The chain's status (chain id, latest block, deployer balance and roles) as readiness last read it, or a new
    /// read when that is older than <see cref="HokusaiHealthCheckOptions.CacheDuration"/>. Callers during a read
    /// share it; the read ends by <see cref="HokusaiHealthCheckOptions.Timeout"/>.
    /// </summary>
    /// <param name="cancellationToken">Stops this caller's wait only.</param>
    /// <returns>The outcome: a failure or timeout is a result with a description safe to show, never an exception.</returns>
    public Task<ProbeResult<ChainStatus>> GetChainStatusAsync(CancellationToken cancellationToken) => ChainStatus.GetAsync(cancellationToken);

    /// <summary>
    /// A description of a failed probe or store call that is safe to show an operator: the library's own exceptions
    /// keep their message (minus any URL, which may carry a provider key), others only their type name.
    /// </summary>
    /// <param name="exception">The failure.</param>
    /// <returns>One line of text.</returns>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return CachedProbe<object>.Describe(exception);
    }
}
