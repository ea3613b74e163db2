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
    public void Startup_MalformedAllowedOrigins_FailsNamingTheVariable()
    {
        using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["ALLOWED_ORIGINS"] = "not a url" });

        var ex = Assert.ThrowsAny<Exception>(() => host.CreateApiClient());

        Assert.Contains("ALLOWED_ORIGINS", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Startup_MissingRegistryAddress_FailsNamingTheVariable()
    {
        using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string> { ["HokusaiContracts:Chain:ModelRegistryAddress"] = "0x123" });

        var ex = Assert.ThrowsAny<Exception>(() => host.CreateApiClient());

        Assert.Contains("MODEL_REGISTRY_ADDRESS", ex.ToString(), StringComparison.Ordinal);
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
