using System.Net.Http.Headers;
using System.Text;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Logging;
using Nethereum.JsonRpc.Client;
using Nethereum.Web3;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// The configured RPC URLs in failover order. A call that fails because of its endpoint (down,
/// timeout, rate limit, 5xx) is retried on the next URL; the one that answered becomes the first
/// tried next time.
/// </summary>
internal sealed class RpcEndpointPool : IDisposable
{
    private readonly Endpoint[] _endpoints;
    private readonly ILogger _logger;
    private int _active;

    internal RpcEndpointPool(IEnumerable<string> urls, TimeSpan timeout, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(urls);
        _logger = logger;
        _endpoints = [.. urls.Where(u => !string.IsNullOrWhiteSpace(u)).Select(u => CreateEndpoint(u.Trim(), timeout))];
        if (_endpoints.Length == 0)
        {
            throw new InvalidOperationException("No RPC URL is configured (set RPC_URL or RPC_URLS).");
        }
    }

    /// <summary>The endpoint currently preferred, credentials stripped.</summary>
    internal string ActiveDisplayUrl => _endpoints[Volatile.Read(ref _active)].DisplayUrl;

    internal async Task<T> ExecuteAsync<T>(string operation, Func<IWeb3, Task<T>> call, CancellationToken cancellationToken)
    {
        using var activity = ContractsTelemetry.StartActivity("rpc " + operation, System.Diagnostics.ActivityKind.Client);
        activity?.SetTag("rpc.system", "ethereum");
        activity?.SetTag("rpc.method", operation);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "error";
        try
        {
            var result = await ExecuteOnEndpointsAsync(operation, call, cancellationToken);
            outcome = "success";
            return result;
        }
        catch (OperationCanceledException)
        {
            outcome = "cancelled";
            throw;
        }
        catch (ChainException ex)
        {
            outcome = ex.Kind.ToString().ToLowerInvariant();
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Kind.ToString());
            throw;
        }
        finally
        {
            ContractsTelemetry.RpcCall(operation, outcome, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task<T> ExecuteOnEndpointsAsync<T>(string operation, Func<IWeb3, Task<T>> call, CancellationToken cancellationToken)
    {
        var start = Volatile.Read(ref _active);
        Exception? last = null;
        for (var attempt = 0; attempt < _endpoints.Length; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var index = (start + attempt) % _endpoints.Length;
            var endpoint = _endpoints[index];
            try
            {
                // Nethereum's calls take no token: abandon the wait on cancellation, the HTTP timeout ends the call.
                var result = await call(endpoint.Web3).WaitAsync(cancellationToken);
                if (index != start && Interlocked.CompareExchange(ref _active, index, start) == start)
                {
                    ChainLog.FailedOver(_logger, _endpoints[start].DisplayUrl, endpoint.DisplayUrl);
                }

                return result;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ChainErrorClassifier.IsEndpointFailure(ex))
            {
                last = ex;
                ChainLog.EndpointFailed(_logger, endpoint.DisplayUrl, operation, ex.GetType().Name, ex.Message);
            }
        }

        var classified = ChainErrorClassifier.Classify(last!, operation);
        throw new ChainException(
            ChainErrorKind.Transient,
            _endpoints.Length == 1 ? classified.Message : $"{operation}: all {_endpoints.Length} RPC endpoints failed; last: {classified.Message}",
            innerException: last);
    }

    internal Task ExecuteAsync(string operation, Func<IWeb3, Task> call, CancellationToken cancellationToken) =>
        ExecuteAsync<bool>(operation, async web3 =>
        {
            await call(web3);
            return true;
        }, cancellationToken);

    public void Dispose()
    {
        foreach (var endpoint in _endpoints)
        {
            endpoint.Http.Dispose();
        }
    }

    /// <summary>Scheme, host and port only: paths and query strings often carry provider API keys.</summary>
    internal static string Display(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}" : "<invalid url>";

    private static Endpoint CreateEndpoint(string url, TimeSpan timeout)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"The RPC URL '{Display(url)}' is not an absolute http(s) URL (RPC_URL / RPC_URLS).");
        }

        AuthenticationHeaderValue? auth = null;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(uri.UserInfo))));
            uri = new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
        }

        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = timeout };
        var client = new RpcClient(uri, http, auth);
        return new Endpoint(Display(url), new Web3(client), http);
    }

    private sealed record Endpoint(string DisplayUrl, IWeb3 Web3, HttpClient Http);
}
