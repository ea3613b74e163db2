using System.Net;
using System.Text;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts.Testing;
using Xunit.Abstractions;

namespace ContractsApi.Tests;

/// <summary>
/// Every configured secret and a caller's JWT, sent in every encoding a client might use (raw,
/// percent-encoded, base64, base64url, inside a JWT) in every place a request has (path, query string,
/// headers, body fields, including fields that are logged), never appears in the host's output at debug level.
/// </summary>
[Collection(PublishedAppGroup.Name)]
public sealed class SecretEncodingLogTests(PublishedApp app, DevChainFixture chain, ITestOutputHelper output)
{
    private const string RedisPassword = "Redis-Pa55_9d1c7e3b5a";
    private const string OtherApiKey = "hk_other_key_5f2a9c7e1b3d";
    private const string AdminApiKey = "hk_admin_key_7c3e1a9f5b2d";
    private const string JwtSecret = "jwt-secret-for-encoding-tests-2b7d9f1c3e5a";

    [Fact]
    public async Task PublishedHost_SecretsInEveryEncodingAndPlace_NeverLogged()
    {
        await using var redis = await RedisServer.StartAsync(RedisPassword);
        var environment = chain.Environment(new Dictionary<string, string>
        {
            ["REDIS_URL"] = redis.Url,
            ["VALID_API_KEYS"] = $"ops:{HostEnvironment.ApiKey},{OtherApiKey}",
            ["ADMIN_API_KEYS"] = "admin:" + AdminApiKey,
            ["JWT_SECRET"] = JwtSecret,
            ["LOG_LEVEL"] = "debug",
            ["HokusaiContracts__Quotas__RequestsPerMinute"] = "0",
        });
        var callerJwt = Api.Jwt(JwtSecret, "log-user");
        string[] secrets = [chain.Chain.DeployerPrivateKey, HostEnvironment.ApiKey, OtherApiKey, AdminApiKey, JwtSecret, RedisPassword, callerJwt];

        await using var host = PublishedHost.Start(app.Directory, environment);
        await host.WaitForAsync("/health/ready");
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        var user = chain.Chain.TestAccounts[2].Address;
        var sent = 0;

        async Task SendAsync(HttpRequestMessage request)
        {
            using (request)
            {
                using var response = await client.SendAsync(request);
                Assert.True((int)response.StatusCode < 500, $"{request.Method} {request.RequestUri}: {(int)response.StatusCode}");
                sent++;
            }
        }

        foreach (var secret in secrets)
        {
            foreach (var form in Encodings(secret))
            {
                var escaped = Uri.EscapeDataString(form);
                // Path, query string, headers.
                await SendAsync(Api.Request(HttpMethod.Get, $"/api/deployments?modelId={escaped}&status={escaped}&token={escaped}", HostEnvironment.ApiKey));
                await SendAsync(Api.Request(HttpMethod.Get, $"/api/deployments/{escaped}/status?apiKey={escaped}", HostEnvironment.ApiKey));
                await SendAsync(Api.Request(HttpMethod.Get, $"/nowhere/{escaped}?q={escaped}", HostEnvironment.ApiKey));
                var headers = new HttpRequestMessage(HttpMethod.Get, "/api/deployments");
                headers.Headers.TryAddWithoutValidation("X-API-Key", form);
                headers.Headers.TryAddWithoutValidation("X-Debug", form);
                headers.Headers.TryAddWithoutValidation("Cookie", "session=" + form);
                headers.Headers.TryAddWithoutValidation("User-Agent", form);
                headers.Headers.TryAddWithoutValidation("Referer", "https://example.test/?k=" + escaped);
                await SendAsync(headers);
                var bearer = new HttpRequestMessage(HttpMethod.Get, "/health/detailed");
                bearer.Headers.TryAddWithoutValidation("Authorization", "Bearer " + form);
                await SendAsync(bearer);

                // Body fields, valid and not: a modelId is logged by the engine once accepted, so forms that
                // fit its pattern reach a log line and must be redacted there.
                var q = Quote(form);
                var json = "{\"modelId\":" + q + ",\"userAddress\":\"" + user + "\",\"tokenName\":" + q
                    + ",\"metadata\":{\"description\":" + q + ",\"tags\":{\"k\":" + q + "}}}";
                var post = Api.Request(HttpMethod.Post, "/api/deployments", HostEnvironment.ApiKey, json);
                post.Headers.TryAddWithoutValidation("Idempotency-Key", form.Length <= 255 ? form : form[..255]);
                await SendAsync(post);
                await SendAsync(Api.Request(HttpMethod.Post, "/api/deployments", OtherApiKey, $$"""{"modelId":{{Quote(form)}},"userAddress":"{{user}}"}"""));
            }
        }

        host.Signal(PublishedHost.SigTerm);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var logs = host.StdOut + host.StdErr;
        output.WriteLine($"{sent} requests, {logs.Split('\n').Length} log lines");
        Assert.Contains("\"RequestPath\":\"/api/deployments/{id}/status\"", logs, StringComparison.Ordinal);

        foreach (var secret in secrets)
        {
            foreach (var form in Encodings(secret))
            {
                Assert.False(logs.Contains(form, StringComparison.OrdinalIgnoreCase), $"a form of a secret was logged: {Describe(secret, form)}");
            }
        }
    }

    /// <summary>The forms a client might send: raw, percent-encoded (partly and wholly, both hex cases), base64, base64url, inside a JWT.</summary>
    internal static IEnumerable<string> Encodings(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        var everyByte = string.Concat(bytes.Select(b => "%" + b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        var base64 = Convert.ToBase64String(bytes);
        var base64Url = base64.TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var inJwt = Api.Jwt("some-other-signing-secret-0123456789abcdef", secret);
        return new[]
        {
            secret,
            Uri.EscapeDataString(secret),
            everyByte,
            everyByte.ToLowerInvariant(),
            base64,
            base64Url,
            inJwt,
            Uri.EscapeDataString(inJwt),
            Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + secret)),
        }.Distinct(StringComparer.Ordinal);
    }

    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    private static string Describe(string secret, string form) => $"secret of length {secret.Length}, form of length {form.Length} starting {form[..Math.Min(4, form.Length)]}";
}
