using System.Net;
using System.Threading.RateLimiting;
using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;
using Hokusai.Contracts.Backends;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.AspNetCore.Tests;

/// <summary>The API's routes without the opt-in host middleware, and the opt-in helpers on routes of the host's own.</summary>
public sealed class HostMiddlewareTests
{
    [Fact]
    public async Task MapHokusaiContracts_WithoutHostHelpers_StillAnswersEnvelopesWithRequestIds()
    {
        await using var host = await ApiHost.StartAsync(hostMiddleware: false);
        host.Service.Throw = new StoreUnavailableException("redis down");

        using var unavailable = await host.PostDeploymentAsync(ApiHost.Body());
        using var invalid = await host.SendAsync(HttpMethod.Get, "/api/deployments/not-a-uuid/status");

        await unavailable.ErrorAsync(503, "SERVICE_UNAVAILABLE");
        Assert.Equal("5", unavailable.Header("Retry-After"));
        Assert.Equal("no-store", unavailable.Header("Cache-Control"));
        await invalid.ErrorAsync(400, "VALIDATION_ERROR");
    }

    [Fact]
    public async Task MapHokusaiContracts_WithoutHostHelpers_LeavesTheRestOfThePipelineAlone()
    {
        await using var host = await ApiHost.StartAsync(
            hostMiddleware: false,
            map: app => app.MapGet("/host-route", () => "plain").AllowAnonymous());

        using var own = await host.Client.GetAsync("/host-route");
        using var unknown = await host.Client.GetAsync("/nowhere");

        Assert.Equal("plain", await own.Content.ReadAsStringAsync());
        Assert.False(own.Headers.Contains("X-Request-Id"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(0, unknown.Content.Headers.ContentLength ?? 0);
    }

    [Fact]
    public async Task UseHokusaiRequestIds_HostRoute_EchoesASaneIdAndReplacesAnUnsafeOne()
    {
        await using var host = await ApiHost.StartAsync(map: app => app.MapGet("/host-route", () => "plain").AllowAnonymous());

        using var sane = new HttpRequestMessage(HttpMethod.Get, "/host-route");
        sane.Headers.Add("X-Request-Id", "trace-42.a:b_c");
        using var saneResponse = await host.Client.SendAsync(sane);
        using var unsafeRequest = new HttpRequestMessage(HttpMethod.Get, "/host-route");
        unsafeRequest.Headers.TryAddWithoutValidation("X-Request-Id", "bad id\twith spaces");
        using var unsafeResponse = await host.Client.SendAsync(unsafeRequest);

        Assert.Equal("trace-42.a:b_c", saneResponse.Header("X-Request-Id"));
        Assert.Equal("no-store", saneResponse.Header("Cache-Control"));
        Assert.True(Guid.TryParse(unsafeResponse.Header("X-Request-Id"), out _));
    }

    [Fact]
    public async Task UseHokusaiErrorEnvelopes_ExceptionInAHostRoute_Answers503EnvelopeWithoutItsText()
    {
        await using var host = await ApiHost.StartAsync(map: app =>
        {
            app.MapGet("/down", IResult () => throw new StoreUnavailableException("redis at 10.1.2.3 refused")).AllowAnonymous();
            app.MapGet("/broken", IResult () => throw new InvalidOperationException("secret detail")).AllowAnonymous();
        });

        using var down = await host.Client.GetAsync("/down");
        using var broken = await host.Client.GetAsync("/broken");

        var error = await down.ErrorAsync(503, "SERVICE_UNAVAILABLE");
        Assert.True(error["retryable"]!.GetValue<bool>());
        Assert.Equal("5", down.Header("Retry-After"));
        Assert.DoesNotContain("10.1.2.3", await down.Content.ReadAsStringAsync());
        await broken.ErrorAsync(500, "INTERNAL_ERROR");
        Assert.DoesNotContain("secret detail", await broken.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AddHokusaiRateLimiter_HostSetItsOwnGlobalLimiter_KeepsTheHosts()
    {
        await using var host = await ApiHost.StartAsync(services: s =>
        {
            s.AddSingleton<IRequestRateLimiterFactory>(new OnePerMinute());
            s.Configure<HokusaiContractsOptions>(o => o.Quotas.RequestsPerMinute = 1);
            s.Configure<RateLimiterOptions>(o => o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(
                _ => RateLimitPartition.GetNoLimiter("host")));
        });

        for (var i = 0; i < 3; i++)
        {
            using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("/v2", false, "/v2/api/deployments", "/v2/api/deployments")]
    [InlineData("/V2", true, "/V2/api/deployments", "/v2/api/deployments")]
    public async Task Create_MappedUnderAGroup_LinksMatchTheLinkGenerator(string prefix, bool lowercase, string post, string expectedRoot)
    {
        await using var host = await ApiHost.StartAsync(prefix: prefix, services: s => s.Configure<Microsoft.AspNetCore.Routing.RouteOptions>(o => o.LowercaseUrls = lowercase));

        using var response = await host.SendAsync(HttpMethod.Post, post, json: ApiHost.Body());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Assert.Single(host.Service.Jobs).Id;
        Assert.Equal($"http://localhost{expectedRoot}/{id}/status", response.Headers.Location?.OriginalString);
        var links = (await response.JsonAsync())["data"]!["links"]!;
        Assert.Equal($"http://localhost{expectedRoot}/{id}/status", links["status"]!.GetValue<string>());
        Assert.Equal($"http://localhost{expectedRoot}/{id}/cancel", links["cancel"]!.GetValue<string>());
    }

    private sealed class OnePerMinute : IRequestRateLimiterFactory
    {
        public RateLimitPartition<string> GetPartition(string partitionKey) =>
            RateLimitPartition.GetFixedWindowLimiter(partitionKey, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = 1,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });
    }
}
