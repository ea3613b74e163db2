using System.Net;
using System.Text.Json;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts.Testing;
using Xunit.Abstractions;

namespace ContractsApi.Tests;

/// <summary>
/// The log contract on the real composed host: a deployment through the published app, on a
/// password-protected Redis, with API-key and JWT callers, captured from stdout as CloudWatch gets it.
/// </summary>
[Collection(PublishedAppGroup.Name)]
public sealed class HostLoggingTests(PublishedApp app, DevChainFixture chain, ITestOutputHelper output)
{
    private const string RedisPassword = "r3dis-Pa55-7c1e9b4d2a";
    private const string OtherApiKey = "hk_test_other_8e2f6a0c4b9d1e3f";
    private const string JwtSecret = "jwt-secret-for-host-tests-4f8a2c6e0b1d3f5a7c9e";

    [Fact]
    public async Task PublishedHost_Deployment_LogsCompactJsonWithIdsAndNoSecretAnywhere()
    {
        await using var redis = await RedisServer.StartAsync(RedisPassword);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var environment = chain.Environment(new Dictionary<string, string>
        {
            ["REDIS_URL"] = redis.Url,
            ["VALID_API_KEYS"] = $"ops:{HostEnvironment.ApiKey},{OtherApiKey}",
            ["ADMIN_API_KEYS"] = $"ops:{HostEnvironment.ApiKey}",
            ["JWT_SECRET"] = JwtSecret,
            ["LOG_LEVEL"] = "debug",
        });
        var jwt = Api.Jwt(JwtSecret, "jwt-user");
        var bodies = new List<string>();

        await using var host = PublishedHost.Start(app.Directory, environment);
        await host.WaitForAsync("/health/ready");
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        var user = chain.Chain.TestAccounts[1].Address;

        var jobId = await Api.DeployAsync(client, HostEnvironment.ApiKey, $"logs-{suffix}", user);
        var done = await Api.WaitForCompletedAsync(client, HostEnvironment.ApiKey, jobId, TimeSpan.FromSeconds(60));
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
        bodies.Add(done.ToString());

        async Task<HttpStatusCode> SendAsync(HttpRequestMessage request)
        {
            using (request)
            {
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                bodies.Add(body);
                bodies.Add(response.Headers.ToString());
                if (response.StatusCode == HttpStatusCode.InternalServerError)
                {
                    output.WriteLine($"{request.RequestUri}: {body}\n{string.Join('\n', host.StdOut.Split('\n').Where(l => l.Contains("\"@l\":\"Error", StringComparison.Ordinal)))}");
                }

                return response.StatusCode;
            }
        }

        // A JWT caller deploys too; bad credentials of every kind are refused.
        var jwtPost = new HttpRequestMessage(HttpMethod.Post, "/api/deployments") { Content = new StringContent(Api.Body($"logs-jwt-{suffix}", user), System.Text.Encoding.UTF8, "application/json") };
        jwtPost.Headers.Authorization = Api.Bearer(jwt);
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(jwtPost));
        var jwtList = new HttpRequestMessage(HttpMethod.Get, "/api/deployments");
        jwtList.Headers.Authorization = Api.Bearer(jwt);
        Assert.Equal(HttpStatusCode.OK, await SendAsync(jwtList));
        var forged = new HttpRequestMessage(HttpMethod.Get, "/api/deployments");
        forged.Headers.Authorization = Api.Bearer(jwt[..^4] + "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(forged));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(Api.Request(HttpMethod.Get, "/api/deployments", OtherApiKey + "x")));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(Api.Request(HttpMethod.Get, "/api/deployments", OtherApiKey)));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(Api.Request(HttpMethod.Get, "/health/detailed", HostEnvironment.ApiKey)));
        Assert.Equal(HttpStatusCode.BadRequest, await SendAsync(Api.Request(HttpMethod.Post, "/api/deployments", HostEnvironment.ApiKey, "{\"modelId\":")));

        host.Signal(PublishedHost.SigTerm);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var lines = host.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var events = lines.Select(line =>
        {
            Assert.DoesNotContain('\r', line);
            using var doc = JsonDocument.Parse(line);
            Assert.True(doc.RootElement.TryGetProperty("@t", out _), line);
            return doc.RootElement.Clone();
        }).ToList();
        output.WriteLine($"{events.Count} log lines");

        static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var p) ? p.ToString() : null;

        var requestLines = events.Where(e => Text(e, "RequestPath") is not null).ToList();
        Assert.Contains(requestLines, e => Text(e, "RequestPath") == "/api/deployments" && Text(e, "RequestMethod") == "POST");
        Assert.All(requestLines, e =>
        {
            Assert.False(string.IsNullOrEmpty(Text(e, "RequestId")), e.ToString());
            Assert.Matches("^[0-9a-f]{32}$", Text(e, "@tr"));
        });

        var jobLines = events.Where(e => Text(e, "JobId") == jobId).ToList();
        Assert.Contains(jobLines, e => Text(e, "SourceContext")!.StartsWith("Hokusai.Contracts.Jobs", StringComparison.Ordinal));
        Assert.Contains(jobLines, e => (Text(e, "@m") ?? Text(e, "@mt"))!.Contains("completed", StringComparison.Ordinal));
        Assert.All(jobLines.Where(e => Text(e, "SourceContext")!.StartsWith("Hokusai.Contracts", StringComparison.Ordinal)), e => Assert.True(Text(e, "ModelId") == $"logs-{suffix}", e.ToString()));

        string[] secrets =
        [
            chain.Chain.DeployerPrivateKey, chain.Chain.DeployerPrivateKey[2..], HostEnvironment.ApiKey, OtherApiKey, JwtSecret, jwt, jwt.Split('.')[2], RedisPassword,
        ];
        var everything = new[] { host.StdOut, host.StdErr }.Concat(bodies).ToList();
        foreach (var secret in secrets)
        {
            Assert.All(everything, text => Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase));
        }
    }
}
