using System.Net;
using ContractsApi.Tests.EndToEnd;
using ContractsApi.Tests.Infrastructure;

namespace ContractsApi.Tests.Host;

[Collection(EndToEndGroup.Name)]
public sealed class WebSecurityTests(DevChainFixture fixture)
{
    [Fact]
    public async Task Cors_AllowedOrigin_GetsTheCorsHeadersOthersDoNot()
    {
        await using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["ALLOWED_ORIGINS"] = "https://app.hokus.ai" });
        using var client = host.CreateApiClient();

        using var allowed = new HttpRequestMessage(HttpMethod.Get, new Uri("/health", UriKind.Relative));
        allowed.Headers.Add("Origin", "https://app.hokus.ai");
        using var allowedResponse = await client.SendAsync(allowed);
        using var other = new HttpRequestMessage(HttpMethod.Get, new Uri("/health", UriKind.Relative));
        other.Headers.Add("Origin", "https://evil.example");
        using var otherResponse = await client.SendAsync(other);

        Assert.Equal("https://app.hokus.ai", allowedResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(otherResponse.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal("DENY", otherResponse.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task Responses_NoServerHeader_NoStoreAndRequestIdEverywhere_IncludingCorsPreflight()
    {
        await using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["ALLOWED_ORIGINS"] = "https://app.hokus.ai" });
        using var client = host.CreateApiClient();

        using var preflight = new HttpRequestMessage(HttpMethod.Options, new Uri("/api/deployments", UriKind.Relative));
        preflight.Headers.Add("Origin", "https://app.hokus.ai");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var list = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/deployments", UriKind.Relative));
        using var unknown = new HttpRequestMessage(HttpMethod.Get, new Uri("/nowhere?x=1", UriKind.Relative));
        using var bad = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/deployments", UriKind.Relative)) { Content = new StringContent("{", System.Text.Encoding.UTF8, "application/json") };
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/deployments", UriKind.Relative));
        anonymous.Headers.Add("X-API-Key", "not-a-configured-key-0000");

        foreach (var request in new[] { preflight, list, unknown, bad, anonymous })
        {
            using var response = await client.SendAsync(request);
            var what = $"{request.Method} {request.RequestUri} -> {(int)response.StatusCode}";
            Assert.True(response.Headers.Contains("X-Request-Id"), what);
            Assert.False(response.Headers.Contains("Server"), what);
            Assert.True(response.Headers.CacheControl?.NoStore == true, what);
        }
    }

    [Fact]
    public async Task ForwardedProto_FromTrustedProxy_GetsHsts_PlainHttpAndUntrustedDoNot()
    {
        await using var trusting = new ComposedHost(fixture.Chain);
        await using var untrusting = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["TRUSTED_PROXIES"] = "none" });

        async Task<bool> HstsAsync(ComposedHost host, string? proto)
        {
            using var client = host.CreateApiClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/health", UriKind.Relative));
            // HSTS is never sent to localhost names, so the request names the public host the balancer would.
            request.Headers.Host = "contracts.hokus.ai";
            if (proto is not null)
            {
                request.Headers.Add("X-Forwarded-Proto", proto);
            }

            using var response = await client.SendAsync(request);
            return response.Headers.Contains("Strict-Transport-Security");
        }

        Assert.True(await HstsAsync(trusting, "https"));
        Assert.False(await HstsAsync(trusting, null));
        Assert.False(await HstsAsync(untrusting, "https"));
    }

    [Fact]
    public async Task ForwardedFor_FromTrustedProxy_GivesEachClientItsOwnRateLimitBucket()
    {
        await using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["HokusaiContracts:Quotas:RequestsPerMinute"] = "3" });
        using var client = host.CreateApiClient();
        client.DefaultRequestHeaders.Remove("X-API-Key");

        async Task<HttpStatusCode> SendAsync(string clientIp)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/deployments", UriKind.Relative));
            request.Headers.Add("X-Forwarded-For", clientIp);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        var first = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            first.Add(await SendAsync("203.0.113.7"));
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, first);
        // Another client behind the same balancer is not throttled by the first one's requests.
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("198.51.100.9"));
        // A client cannot pick another bucket by prepending its own X-Forwarded-For entry: only the
        // balancer's (rightmost) one counts.
        Assert.Equal(HttpStatusCode.TooManyRequests, await SendAsync("198.51.100.10, 203.0.113.7"));
    }

    [Theory]
    [InlineData(null, "10.1.2.3", true)]
    [InlineData(null, "172.31.0.9", true)]
    [InlineData(null, "8.8.8.8", false)]
    [InlineData("none", "127.0.0.1", false)]
    [InlineData("192.0.2.10, 2001:db8::/32", "192.0.2.10", true)]
    [InlineData("192.0.2.10, 2001:db8::/32", "2001:db8::1", true)]
    [InlineData("192.0.2.10, 2001:db8::/32", "192.0.2.11", false)]
    public void TrustedProxies_Parse_DefaultIsPrivateRangesAndLoopback(string? setting, string address, bool trusted)
    {
        var networks = WebSecurity.ParseTrustedProxies(setting);

        Assert.Equal(trusted, networks.Any(n => n.Contains(IPAddress.Parse(address))));
    }

    [Fact]
    public void Startup_RegistryAddressKeyMalformed_FailsNamingTheKeyOnly()
    {
        using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["HokusaiContracts:Chain:ModelRegistryAddress"] = "0x123" });

        var ex = Assert.ThrowsAny<Exception>(() => host.CreateApiClient());

        // The key was set, not the variable: the message names what the caller set.
        Assert.Contains("HokusaiContracts:Chain:ModelRegistryAddress must be a 0x-prefixed 20-byte hex address.", ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("MODEL_REGISTRY_ADDRESS", ex.ToString(), StringComparison.Ordinal);
    }
}

[Collection(EndToEndGroup.Name)]
public sealed class ApiReferenceTests(DevChainFixture fixture)
{
    [Fact]
    public async Task ApiReference_InDevelopment_IsServedAndAbsentInProduction()
    {
        await using var development = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["environment"] = "Development" });
        await using var production = new ComposedHost(fixture.Chain);
        using var dev = development.CreateApiClient();
        using var prod = production.CreateApiClient();

        using var devPage = await dev.GetAsync(new Uri("/scalar/v1", UriKind.Relative));
        using var prodPage = await prod.GetAsync(new Uri("/scalar/v1", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, devPage.StatusCode);
        Assert.Contains("openapi/v1.json", await devPage.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, prodPage.StatusCode);
    }
}
