using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ContractsApi.Tests.Infrastructure;

namespace ContractsApi.Tests.Replicas;

/// <summary>Real HTTP to the published hosts.</summary>
internal sealed class ReplicaApi : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>POSTs a deployment of <paramref name="modelId"/> as <paramref name="caller"/> to <paramref name="host"/>.</summary>
    public async Task<ApiResponse> PostAsync(PublishedHost host, Caller caller, string modelId, string userAddress, string? initialSupply = null, string? idempotencyKey = null)
    {
        var body = new Dictionary<string, object> { ["modelId"] = modelId, ["userAddress"] = userAddress };
        if (initialSupply is not null)
        {
            body["initialSupply"] = initialSupply;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.BaseAddress, "/api/deployments"))
        {
            Content = JsonContent.Create(body),
        };
        request.Headers.Add("X-API-Key", caller.Key);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await SendAsync(request);
    }

    /// <summary>
    /// POSTs until the service takes the job, as a client told "retryable" does: a 503 (a Redis call slower than the
    /// request's fail-fast bound on a loaded machine) is retried for up to a minute with the same model and an
    /// Idempotency-Key, so a 503 whose acceptance still happened answers with that job (a 200 replay, reported here
    /// as the 202 it replays).
    /// </summary>
    public async Task<ApiResponse> PostUntilAcceptedAsync(PublishedHost host, Caller caller, string modelId, string userAddress, string? initialSupply = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var response = await PostAsync(host, caller, modelId, userAddress, initialSupply, idempotencyKey: modelId);
            if (response.Status == HttpStatusCode.OK)
            {
                return response with { Status = HttpStatusCode.Accepted };
            }

            if (response.Status != HttpStatusCode.ServiceUnavailable || sw.Elapsed > TimeSpan.FromMinutes(1))
            {
                return response;
            }

            await Task.Delay(200);
        }
    }

    /// <summary>An unauthenticated GET of <paramref name="path"/> (health routes).</summary>
    public async Task<ApiResponse> GetAsync(PublishedHost host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseAddress, path));
        return await SendAsync(request);
    }

    /// <summary>All jobs of <paramref name="caller"/> (the list route, up to 100).</summary>
    public async Task<IReadOnlyList<JobView>> ListAsync(PublishedHost host, Caller caller)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseAddress, "/api/deployments?limit=100"));
        request.Headers.Add("X-API-Key", caller.Key);
        var response = await SendAsync(request);
        if (response.Status != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"list answered {(int)response.Status}: {response.Body}");
        }

        return response.Json.GetProperty("data").GetProperty("deployments").EnumerateArray().Select(JobView.Parse).ToArray();
    }

    /// <summary>
    /// Polls the callers' job lists (through either host, alternating) until every job in
    /// <paramref name="jobIds"/> is final; returns them. Fails after <paramref name="timeout"/>.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, JobView>> WaitForFinalAsync(
        IReadOnlyList<PublishedHost> hosts, IEnumerable<Caller> callers, IReadOnlyCollection<Guid> jobIds, TimeSpan timeout, Func<string>? diagnostics = null)
    {
        var sw = Stopwatch.StartNew();
        var distinctCallers = callers.Distinct().ToArray();
        var round = 0;
        Dictionary<Guid, JobView> seen = [];
        while (true)
        {
            var host = hosts[round++ % hosts.Count];
            try
            {
                var lists = await Task.WhenAll(distinctCallers.Select(c => ListAsync(host, c)));
                seen = lists.SelectMany(l => l).Where(j => jobIds.Contains(j.Id)).ToDictionary(j => j.Id);
                if (seen.Count == jobIds.Count && seen.Values.All(j => j.IsFinal))
                {
                    return seen;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // A host briefly unreachable (being replaced, or answering 503): poll again.
            }

            if (sw.Elapsed > timeout)
            {
                var unfinished = string.Join(", ", jobIds.Where(id => !seen.TryGetValue(id, out var j) || !j.IsFinal)
                    .Select(id => seen.TryGetValue(id, out var j) ? $"{j.ModelId}={j.Status}" : id.ToString()));
                throw new TimeoutException($"{jobIds.Count - seen.Values.Count(j => j.IsFinal)} jobs not final after {timeout}: {unfinished}\n{diagnostics?.Invoke()}");
            }

            await Task.Delay(250);
        }
    }

    private async Task<ApiResponse> SendAsync(HttpRequestMessage request)
    {
        var sw = Stopwatch.StartNew();
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        sw.Stop();
        var json = text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default;
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        return new ApiResponse(response.StatusCode, json, text, headers, sw.Elapsed);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>An answer: status, parsed body, headers and how long it took.</summary>
internal sealed record ApiResponse(HttpStatusCode Status, JsonElement Json, string Body, IReadOnlyDictionary<string, string> Headers, TimeSpan Elapsed)
{
    public Guid JobId => Guid.Parse(Json.GetProperty("data").GetProperty("requestId").GetString()!);

    public string? ErrorCode => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("error", out var e) ? e.GetProperty("code").GetString() : null;

    public bool? Retryable => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("error", out var e) && e.TryGetProperty("retryable", out var r) ? r.GetBoolean() : null;

    public override string ToString() => $"{(int)Status} in {Elapsed.TotalMilliseconds:0} ms: {Body}";
}

/// <summary>A job as the list route reports it.</summary>
internal sealed record JobView(Guid Id, string ModelId, string Status, string? TokenAddress, string? TransactionHash, string? RegistryTransactionHash, string? MintTransactionHash, string? ErrorCode)
{
    public bool IsFinal => Status is "completed" or "failed" or "cancelled";

    /// <summary>How many transactions the job reports having sent (deployment, registration, optional mint).</summary>
    // Factory mode repeats its one hash in all three fields.
    public int ReportedTransactions => new[] { TransactionHash, RegistryTransactionHash, MintTransactionHash }.Where(h => h is not null).Distinct(StringComparer.OrdinalIgnoreCase).Count();

    public static JobView Parse(JsonElement e)
    {
        string? Token(string name) => e.TryGetProperty("tokenDetails", out var t) && t.TryGetProperty(name, out var v) ? v.GetString() : null;
        return new JobView(
            Guid.Parse(e.GetProperty("requestId").GetString()!),
            e.GetProperty("modelId").GetString()!,
            e.GetProperty("status").GetString()!,
            Token("tokenAddress"),
            Token("transactionHash"),
            Token("registryTransactionHash"),
            Token("mintTransactionHash"),
            e.TryGetProperty("error", out var err) ? err.GetProperty("code").GetString() : null);
    }
}
