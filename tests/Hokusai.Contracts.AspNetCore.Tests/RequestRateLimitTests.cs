using System.Net;
using System.Threading.RateLimiting;
using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;
using Hokusai.Contracts.Backends;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class RequestRateLimitTests
{
    private sealed class TwoPerMinute : IRequestRateLimiterFactory
    {
        public List<string> Keys { get; } = [];

        public RateLimitPartition<string> GetPartition(string partitionKey)
        {
            lock (Keys)
            {
                Keys.Add(partitionKey);
            }

            return RateLimitPartition.GetFixedWindowLimiter(partitionKey, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = 2,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });
        }
    }

    private static Task<ApiHost> StartAsync(TwoPerMinute factory, int requestsPerMinute = 2) =>
        ApiHost.StartAsync(services: s =>
        {
            s.AddSingleton<IRequestRateLimiterFactory>(factory);
            s.Configure<HokusaiContractsOptions>(o => o.Quotas.RequestsPerMinute = requestsPerMinute);
        });

    [Fact]
    public async Task Requests_ToEndpointsWithRateLimitingDisabled_AreNeverLimited()
    {
        var factory = new TwoPerMinute();
        await using var host = await ApiHost.StartAsync(
            services: s =>
            {
                s.AddSingleton<IRequestRateLimiterFactory>(factory);
                s.Configure<HokusaiContractsOptions>(o => o.Quotas.RequestsPerMinute = 2);
            },
            map: app => app.MapGet("/probe", () => "ok").AllowAnonymous().DisableRateLimiting());

        for (var i = 0; i < 5; i++)
        {
            using var probe = await host.Client.GetAsync("/probe");
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        }

        // The same anonymous caller is still limited everywhere else.
        using var first = await host.Client.GetAsync("/unknown");
        using var second = await host.Client.GetAsync("/unknown");
        using var third = await host.Client.GetAsync("/unknown");
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
    }

    [Fact]
    public async Task Requests_OverTheLimit_Return429WithRetryAfterPerCaller()
    {
        var factory = new TwoPerMinute();
        await using var host = await StartAsync(factory);

        for (var i = 0; i < 2; i++)
        {
            using var allowed = await host.SendAsync(HttpMethod.Get, "/api/deployments");
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        using var rejected = await host.SendAsync(HttpMethod.Get, "/api/deployments");
        using var otherCaller = await host.SendAsync(HttpMethod.Get, "/api/deployments", apiKey: ApiHost.BobKey);

        var error = await rejected.ErrorAsync(429, "RATE_LIMIT_EXCEEDED");
        Assert.True(error["retryable"]!.GetValue<bool>());
        Assert.InRange(int.Parse(rejected.Header("Retry-After")), 1, 60);
        Assert.Equal(HttpStatusCode.OK, otherCaller.StatusCode);
        Assert.Contains("caller:alice", factory.Keys);
        Assert.Contains("caller:bob", factory.Keys);
    }

    [Fact]
    public async Task AnonymousRequests_ArePartitionedByClientAddress()
    {
        var factory = new TwoPerMinute();
        await using var host = await StartAsync(factory);

        using var response = await host.SendAsync(HttpMethod.Get, "/nowhere", apiKey: null);

        await response.ErrorAsync(404, "NOT_FOUND");
        Assert.All(factory.Keys, k => Assert.StartsWith("ip:", k));
        Assert.NotEmpty(factory.Keys);
    }

    [Fact]
    public async Task ZeroRequestsPerMinute_DisablesTheLimit()
    {
        var factory = new TwoPerMinute();
        await using var host = await StartAsync(factory, requestsPerMinute: 0);

        for (var i = 0; i < 4; i++)
        {
            using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Empty(factory.Keys);
    }
}
