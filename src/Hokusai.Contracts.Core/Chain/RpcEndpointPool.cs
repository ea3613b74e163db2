using System.Net.Http.Headers;
using System.Text;
using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.Logging;
using Nethereum.JsonRpc.Client;
using Nethereum.Web3;
using Newtonsoft.Json.Linq;

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
    private readonly ContractsTelemetry? _telemetry;
    private int _active;

    /// <param name="urls">The RPC URLs in failover order.</param>
    /// <param name="timeout">Timeout of one call on one endpoint.</param>
    /// <param name="logger">Where failovers are logged.</param>
    /// <param name="telemetry">Where call durations are recorded; null (a short-lived client such as the bootstrapper's) records none.</param>
    internal RpcEndpointPool(IEnumerable<string> urls, TimeSpan timeout, ILogger logger, ContractsTelemetry? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(urls);
        _logger = logger;
        _telemetry = telemetry;
        _endpoints = [.. urls.Where(u => !string.IsNullOrWhiteSpace(u)).Select(u => CreateEndpoint(u.Trim(), timeout))];
        if (_endpoints.Length == 0)
        {
            throw new InvalidOperationException("No RPC URL is configured (set RPC_URL or RPC_URLS (HokusaiContracts:Chain:RpcUrls)).");
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
            _telemetry?.RpcCall(operation, outcome, System.Diagnostics.Stopwatch.GetElapsedTime(started));
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

    /// <summary>
    /// Sends several JSON-RPC calls in one HTTP request (a JSON-RPC batch), failing over like single calls.
    /// Returns one entry per call, in order: the call's <c>result</c>, or a <see cref="JObject"/> holding
    /// its <c>error</c> (<see cref="BatchError"/> tells them apart).
    /// </summary>
    internal async Task<IReadOnlyList<JToken?>> BatchAsync(IReadOnlyList<(string Method, JArray Params)> calls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(calls);
        if (calls.Count == 0)
        {
            return [];
        }

        var request = new JArray();
        for (var i = 0; i < calls.Count; i++)
        {
            request.Add(new JObject { ["jsonrpc"] = "2.0", ["id"] = i, ["method"] = calls[i].Method, ["params"] = calls[i].Params });
        }

        var body = request.ToString(Newtonsoft.Json.Formatting.None);
        var response = await ExecuteAsync("batch", async web3 =>
        {
            var endpoint = _endpoints.First(e => ReferenceEquals(e.Web3, web3));
            using var message = new HttpRequestMessage(HttpMethod.Post, endpoint.Uri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            message.Headers.Authorization = endpoint.Auth;
            using var reply = await endpoint.Http.SendAsync(message, cancellationToken);
            reply.EnsureSuccessStatusCode();
            var text = await reply.Content.ReadAsStringAsync(cancellationToken);
            return JToken.Parse(text);
        }, cancellationToken);

        var results = new JToken?[calls.Count];
        if (response is not JArray items)
        {
            // A node without batch support answers with one error object.
            var error = new JObject { ["error"] = response is JObject o && o["error"] is { } e ? e : new JObject { ["message"] = "batch not supported" } };
            Array.Fill(results, error);
            return results;
        }

        foreach (var item in items.OfType<JObject>())
        {
            if (item["id"]?.Type == JTokenType.Integer && item.Value<int>("id") is var id && id >= 0 && id < results.Length)
            {
                results[id] = item["error"] is { Type: not JTokenType.Null } error ? new JObject { ["error"] = error } : item["result"];
            }
        }

        return results;
    }

    /// <summary>The error of a <see cref="BatchAsync"/> entry, or null when it holds a result.</summary>
    internal static JToken? BatchError(JToken? entry) => entry is JObject { Count: 1 } o && o["error"] is { } error ? error : null;

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
            throw new InvalidOperationException($"The RPC URL '{Display(url)}' is not an absolute http(s) URL (RPC_URL or RPC_URLS (HokusaiContracts:Chain:RpcUrls)).");
        }

        AuthenticationHeaderValue? auth = null;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(uri.UserInfo))));
            uri = new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
        }

        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = timeout };
        var client = new RpcClient(uri, http, auth);
        return new Endpoint(Display(url), new Web3(client), http, uri, auth);
    }

    private sealed record Endpoint(string DisplayUrl, IWeb3 Web3, HttpClient Http, Uri Uri, AuthenticationHeaderValue? Auth);
}
