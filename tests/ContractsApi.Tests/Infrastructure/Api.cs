using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ContractsApi.Tests.Infrastructure;

/// <summary>The deployment API as a client uses it, plus raw JSON-RPC reads of the chain.</summary>
internal static class Api
{
    public static HttpRequestMessage Request(HttpMethod method, string path, string apiKey, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-API-Key", apiKey);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return request;
    }

    public static string Body(string modelId, string userAddress, string initialSupply = "1000000") =>
        $$"""{"modelId":"{{modelId}}","userAddress":"{{userAddress}}","initialSupply":"{{initialSupply}}"}""";

    /// <summary>POSTs a deployment; returns the job id (asserts 202).</summary>
    public static async Task<string> DeployAsync(HttpClient client, string apiKey, string modelId, string userAddress)
    {
        using var request = Request(HttpMethod.Post, "/api/deployments", apiKey, Body(modelId, userAddress));
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("data").GetProperty("requestId").GetString()!;
    }

    /// <summary>GETs a job's status data.</summary>
    public static async Task<JsonElement> StatusAsync(HttpClient client, string apiKey, string jobId)
    {
        using var request = Request(HttpMethod.Get, $"/api/deployments/{jobId}/status", apiKey);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("data").Clone();
    }

    /// <summary>Polls a job until <paramref name="until"/> holds; returns its status data.</summary>
    public static async Task<JsonElement> WaitForAsync(HttpClient client, string apiKey, string jobId, Func<JsonElement, bool> until, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        JsonElement last = default;
        while (sw.Elapsed < timeout)
        {
            last = await StatusAsync(client, apiKey, jobId);
            if (until(last))
            {
                return last;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"job {jobId} did not reach the expected state within {timeout}; last: {last}");
    }

    public static Task<JsonElement> WaitForCompletedAsync(HttpClient client, string apiKey, string jobId, TimeSpan timeout) =>
        WaitForAsync(client, apiKey, jobId, s => s.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", timeout);

    /// <summary>An HS256 JWT for <paramref name="subject"/>, valid for ten minutes.</summary>
    public static string Jwt(string secret, string subject)
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var payload = B64(Encoding.UTF8.GetBytes($$"""{"sub":"{{subject}}","iat":{{now - 60}},"nbf":{{now - 60}},"exp":{{now + 600}}}"""));
        var signature = B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(header + "." + payload)));
        return $"{header}.{payload}.{signature}";
    }

    public static AuthenticationHeaderValue Bearer(string jwt) => new("Bearer", jwt);

    /// <summary>eth_getTransactionCount(address, "latest").</summary>
    public static async Task<long> TransactionCountAsync(string rpcUrl, string address)
    {
        using var client = new HttpClient();
        var body = $$"""{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionCount","params":["{{address}}","latest"]}""";
        using var response = await client.PostAsync(new Uri(rpcUrl), new StringContent(body, Encoding.UTF8, "application/json"));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return Convert.ToInt64(doc.RootElement.GetProperty("result").GetString(), 16);
    }
}
