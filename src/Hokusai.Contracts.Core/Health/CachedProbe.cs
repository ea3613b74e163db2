using System.Text.RegularExpressions;
using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Health;

/// <summary>The outcome of one probe run.</summary>
internal sealed record ProbeResult<T>(bool Succeeded, T? Value, string? Error, bool TimedOut, TimeSpan Duration, DateTimeOffset CompletedAt);

/// <summary>
/// Runs an I/O probe with a hard timeout and shares its result: callers arriving while a run is in
/// flight await that run, and a finished result is reused for the cache duration. The probe is never
/// cancelled by a caller (others may be waiting on it), only by its own timeout.
/// </summary>
internal sealed partial class CachedProbe<T>(Func<CancellationToken, Task<T>> probe, TimeProvider time, TimeSpan timeout, TimeSpan cacheDuration)
{
    private readonly Lock _gate = new();
    private Task<ProbeResult<T>>? _current;

    public Task<ProbeResult<T>> GetAsync(CancellationToken cancellationToken)
    {
        Task<ProbeResult<T>> run;
        lock (_gate)
        {
            var current = _current;
            if (current is null || (current.IsCompleted && IsStale(current.Result)))
            {
                current = RunAsync();
                _current = current;
            }

            run = current;
        }

        return run.WaitAsync(cancellationToken);
    }

    private bool IsStale(ProbeResult<T> result) => time.GetUtcNow() - result.CompletedAt >= cacheDuration;

    private async Task<ProbeResult<T>> RunAsync()
    {
        var started = time.GetTimestamp();
        using var cts = new CancellationTokenSource(timeout, time);
        try
        {
            // Task.Run guards against a probe that blocks before its first await.
            var value = await Task.Run(() => probe(cts.Token), CancellationToken.None)
                .WaitAsync(timeout, time, CancellationToken.None)
                .ConfigureAwait(false);
            return new ProbeResult<T>(true, value, null, false, time.GetElapsedTime(started), time.GetUtcNow());
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && cts.IsCancellationRequested))
        {
            return new ProbeResult<T>(false, default, $"timed out after {timeout.TotalSeconds:0.###} s", true, time.GetElapsedTime(started), time.GetUtcNow());
        }
#pragma warning disable CA1031 // A probe failure of any kind is a health result, not a crash.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new ProbeResult<T>(false, default, Describe(ex), false, time.GetElapsedTime(started), time.GetUtcNow());
        }
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

/// <summary>Shared probes of the chain, so readiness and the detailed report reuse the same cached calls.</summary>
internal sealed class HealthProbes
{
    internal const string HealthModelId = "__health__";

    public HealthProbes(IServiceProvider services, TimeProvider time, Microsoft.Extensions.Options.IOptions<HokusaiHealthCheckOptions> options)
    {
        var o = options.Value;
        // Resolved lazily: the checks must answer (unhealthy) even in a host that registered no chain engine.
        IChainClient Chain() => (IChainClient?)services.GetService(typeof(IChainClient))
            ?? throw new ChainException(ChainErrorKind.Permanent, "no chain engine (IChainClient) is registered");

        ChainStatus = new CachedProbe<ChainStatus>(ct => Chain().GetStatusAsync(ct), time, o.Timeout, o.CacheDuration);
        ModelRegistry = new CachedProbe<string?>(ct => Chain().GetRegisteredTokenAsync(HealthModelId, ct), time, o.Timeout, o.CacheDuration);
    }

    /// <summary><see cref="IChainClient.GetStatusAsync"/>: chain id, latest block, deployer balance.</summary>
    public CachedProbe<ChainStatus> ChainStatus { get; }

    /// <summary>A view call on the <c>ModelRegistry</c>.</summary>
    public CachedProbe<string?> ModelRegistry { get; }
}
