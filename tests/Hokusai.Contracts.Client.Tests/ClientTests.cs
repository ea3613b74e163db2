using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Client.Tests;

public sealed class ClientTests
{
    private static readonly Guid s_id = Guid.Parse("0b0f5c44-58a3-4a27-9b6d-0e0f0b8f3d55");

    private static readonly string s_accepted = ScriptedHandler.Success(
        "{\"requestId\":\"0b0f5c44-58a3-4a27-9b6d-0e0f0b8f3d55\",\"status\":\"pending\",\"estimatedCompletionTime\":3,\"message\":\"ok\","
        + "\"links\":{\"status\":\"/api/deployments/0b0f5c44-58a3-4a27-9b6d-0e0f0b8f3d55/status\",\"cancel\":\"/x\"}}");

    private static readonly CreateDeploymentRequest s_request = new()
    {
        ModelId = "m-1",
        UserAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        InitialSupply = CreateDeploymentRequest.WholeTokens(5),
    };

    private static HokusaiContractsClient Direct(ScriptedHandler handler, TimeProvider? time = null) =>
        new(
            new HttpClient(handler) { BaseAddress = new Uri("http://api.test/") },
            Options.Create(new HokusaiContractsClientOptions { BaseAddress = new Uri("http://api.test/"), ApiKey = "k-0123456789abcdef" }),
            time ?? TimeProvider.System);

    [Fact]
    public async Task SubmitAsync_NoKeyGiven_SendsGeneratedIdempotencyKeyAndCredentials()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Json(HttpStatusCode.Accepted, s_accepted));

        var accepted = await Direct(handler).SubmitAsync(s_request);

        var sent = Assert.Single(handler.Requests);
        Assert.Equal("/api/deployments", sent.Url);
        Assert.Equal(accepted.IdempotencyKey, sent.Headers["Idempotency-Key"]);
        Assert.False(string.IsNullOrWhiteSpace(accepted.IdempotencyKey));
        Assert.Equal("k-0123456789abcdef", sent.Headers["X-API-Key"]);
        Assert.Contains("\"initialSupply\":\"5000000000000000000\"", sent.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("tokenName", sent.Body, StringComparison.Ordinal);
        Assert.Equal(s_id, accepted.RequestId);
        Assert.Equal(DeploymentState.Pending, accepted.Status);
        Assert.False(accepted.Replayed);
    }

    [Fact]
    public async Task SubmitAsync_ServiceUnavailableOnce_RetriedWithTheSameIdempotencyKey()
    {
        var handler = new ScriptedHandler(
            _ => ScriptedHandler.Json(HttpStatusCode.ServiceUnavailable, ScriptedHandler.Failure("SERVICE_UNAVAILABLE", retryable: true)),
            _ => ScriptedHandler.Json(HttpStatusCode.Accepted, s_accepted, r => r.Headers.Add("Idempotent-Replayed", "true")));
        var services = new ServiceCollection();
        var builder = services.AddHokusaiContractsClient(o =>
        {
            o.BaseAddress = new Uri("http://api.test");
            o.ApiKey = "k-0123456789abcdef";
        });
        builder.ConfigurePrimaryHttpMessageHandler(() => handler);
        services.Configure<HttpStandardResilienceOptions>(builder.Name + "-standard", o => o.Retry.Delay = TimeSpan.FromMilliseconds(1));
        await using var provider = services.BuildServiceProvider();

        var accepted = await provider.GetRequiredService<IHokusaiContractsClient>().SubmitAsync(s_request, "my-key-1");

        Assert.Equal(2, handler.Requests.Count);
        Assert.All(handler.Requests, r => Assert.Equal("my-key-1", r.Headers["Idempotency-Key"]));
        Assert.True(accepted.Replayed);
        Assert.Equal("my-key-1", accepted.IdempotencyKey);
    }

    [Fact]
    public async Task SubmitAsync_ErrorEnvelope_ThrowsWithCodeDetailsAndRequestId()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Json(
            HttpStatusCode.Conflict,
            ScriptedHandler.Failure("TOKEN_ALREADY_EXISTS", details: "{\"modelId\":\"m-1\",\"tokenAddress\":\"0xabc\"}"),
            r => r.Headers.Add("X-Request-Id", "req-7")));

        var ex = await Assert.ThrowsAsync<HokusaiApiException>(() => Direct(handler).SubmitAsync(s_request));

        Assert.Equal(HokusaiErrorCodes.TokenAlreadyExists, ex.Code);
        Assert.Equal(HttpStatusCode.Conflict, ex.StatusCode);
        Assert.False(ex.Retryable);
        Assert.Equal("req-7", ex.RequestId);
        Assert.Equal("0xabc", ex.Error.Details!.Value.GetProperty("tokenAddress").GetString());
        Assert.Equal(["s"], ex.Error.Suggestions);
    }

    [Fact]
    public async Task GetStatusAsync_ProxyPageInsteadOfEnvelope_ThrowsHttpCodeMarkedRetryable()
    {
        var handler = new ScriptedHandler(_ => new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>bad gateway</html>") });

        var ex = await Assert.ThrowsAsync<HokusaiApiException>(() => Direct(handler).GetStatusAsync(s_id));

        Assert.Equal("HTTP_502", ex.Code);
        Assert.True(ex.Retryable);
    }

    [Fact]
    public async Task GetStatusAsync_StepUnknownToThisClient_ReadsAsUnknown()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Json(HttpStatusCode.OK, ScriptedHandler.Status("processing", "teleporting")));

        var info = await Direct(handler).GetStatusAsync(s_id);

        Assert.Equal(DeploymentState.Processing, info.Status);
        Assert.Equal(DeploymentStage.Unknown, info.CurrentStep);
        Assert.Equal("/api/deployments/0b0f5c44-58a3-4a27-9b6d-0e0f0b8f3d55/status", handler.Requests[0].Url);
    }

    [Fact]
    public async Task ListAsync_StatusModelAndPage_SentAsWireQuery()
    {
        var handler = new ScriptedHandler(_ => ScriptedHandler.Json(HttpStatusCode.OK, ScriptedHandler.Success(
            "{\"deployments\":[],\"pagination\":{\"total\":0,\"page\":2,\"limit\":5,\"hasNext\":false,\"hasPrevious\":true}}")));

        var list = await Direct(handler).ListAsync(new DeploymentListQuery { Status = DeploymentState.Completed, ModelId = "a b", Page = 2, Limit = 5 });

        Assert.Equal("/api/deployments?page=2&limit=5&status=completed&modelId=a%20b", handler.Requests[0].Url);
        Assert.True(list.Pagination.HasPrevious);
    }

    [Fact]
    public async Task WaitForCompletionAsync_RateLimitedWithRetryAfter_WaitsWhatTheServerSays()
    {
        var time = new FakeTimeProvider();
        var handler = new ScriptedHandler(
            _ => ScriptedHandler.Json(HttpStatusCode.OK, ScriptedHandler.Status("processing")),
            _ => ScriptedHandler.Json(HttpStatusCode.TooManyRequests, ScriptedHandler.Failure("RATE_LIMIT_EXCEEDED", retryable: true),
                r => r.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7))),
            _ => ScriptedHandler.Json(HttpStatusCode.OK, ScriptedHandler.Status("completed", "done")))
        {
            Clock = time,
        };

        var wait = Direct(handler, time).WaitForCompletionAsync(s_id);
        // Fake time moves only here, in small steps, so each gap between requests measured on it is at least
        // the delay the client asked for, whenever its timer was scheduled.
        for (var i = 0; i < 2000 && !wait.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(5);
        }

        var final = await wait.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(DeploymentState.Completed, final.Status);
        Assert.Equal(3, handler.Requests.Count);
        Assert.True(handler.Times[1] - handler.Times[0] >= TimeSpan.FromSeconds(1), "polled again before the poll interval");
        Assert.True(handler.Times[2] - handler.Times[1] >= TimeSpan.FromSeconds(7), "came back before the server's Retry-After");
    }

    [Fact]
    public async Task AddHokusaiContractsClient_NoBaseAddress_FailsNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddHokusaiContractsClient(o => o.ApiKey = "k");
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IHokusaiContractsClient>());

        Assert.Contains("BaseAddress", ex.Message, StringComparison.Ordinal);
    }
}
