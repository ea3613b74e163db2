using System.Text.Json.Nodes;
using Hokusai.Contracts.AspNetCore.Http;
using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class WebhookEndpointsTests
{
    private const string AliceSecret = "whsec-alice-0123456789abcdef";

    /// <summary>An outbox holding fixed events, recording redelivery requests.</summary>
    private sealed class FakeOutbox : IWebhookOutbox
    {
        public List<WebhookEvent> Events { get; } = [];
        public bool InFlight { get; set; }

        public Task<IReadOnlyList<WebhookLease>> ClaimDueAsync(int max, TimeSpan leaseFor, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<WebhookLease>>([]);

        public Task<bool> CompleteAsync(WebhookLease lease, WebhookEvent updated, CancellationToken cancellationToken) => Task.FromResult(false);

        public Task<IReadOnlyList<WebhookEvent>> ListAsync(Guid jobId, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<WebhookEvent>>(Events.Where(e => e.JobId == jobId).ToList());

        public Task<(RedeliverOutcome Outcome, WebhookEvent? Event)> RedeliverAsync(Guid jobId, Guid eventId, CancellationToken cancellationToken)
        {
            var index = Events.FindIndex(e => e.JobId == jobId && e.Id == eventId);
            if (index < 0)
            {
                return Task.FromResult<(RedeliverOutcome, WebhookEvent?)>((RedeliverOutcome.NotFound, null));
            }

            if (InFlight)
            {
                return Task.FromResult<(RedeliverOutcome, WebhookEvent?)>((RedeliverOutcome.InFlight, Events[index]));
            }

            Events[index] = Events[index] with { State = WebhookDeliveryState.Pending, NextAttemptAt = ApiHost.Now };
            return Task.FromResult<(RedeliverOutcome, WebhookEvent?)>((RedeliverOutcome.Scheduled, Events[index]));
        }

        public Task<WebhookOutboxStats> GetStatsAsync(CancellationToken cancellationToken) => Task.FromResult(new WebhookOutboxStats(0, null));
    }

    private static Task<ApiHost> StartAsync(FakeOutbox outbox) => ApiHost.StartAsync(services: s =>
    {
        s.AddSingleton<IWebhookOutbox>(outbox);
        s.Configure<HokusaiContractsOptions>(o => o.Webhooks.Secrets.Add("alice:" + AliceSecret));
    });

    private static WebhookEvent Event(DeploymentJob job, WebhookDeliveryState state = WebhookDeliveryState.Dead) => new()
    {
        Id = Guid.NewGuid(),
        JobId = job.Id,
        Owner = job.Owner,
        Type = WebhookEventTypes.Failed,
        Url = "https://hooks.example.com/h",
        Payload = "{}",
        CreatedAt = ApiHost.Now,
        WindowStartedAt = ApiHost.Now,
        State = state,
        Attempts = 7,
        LastAttemptAt = ApiHost.Now.AddHours(24),
        LastStatusCode = 503,
        LastError = "The receiver answered 503.",
    };

    [Fact]
    public async Task ListEvents_OwnJob_ReturnsDeliveriesWithAttemptsAndLastResponseCode()
    {
        var outbox = new FakeOutbox();
        await using var host = await StartAsync(outbox);
        var job = host.Service.Add("alice", ApiHost.Request());
        var raised = Event(job);
        outbox.Events.Add(raised);

        var response = await host.SendAsync(HttpMethod.Get, $"/api/deployments/{job.Id}/events");

        Assert.Equal(200, (int)response.StatusCode);
        var json = await response.JsonAsync();
        Assert.True(json["success"]!.GetValue<bool>());
        var item = Assert.Single(json["data"]!["events"]!.AsArray())!;
        Assert.Equal(job.Id.ToString(), json["data"]!["requestId"]!.GetValue<string>());
        Assert.Equal(raised.Id.ToString(), item["eventId"]!.GetValue<string>());
        Assert.Equal("deployment.failed", item["type"]!.GetValue<string>());
        Assert.Equal("dead", item["state"]!.GetValue<string>());
        Assert.Equal(7, item["attempts"]!.GetValue<int>());
        Assert.Equal(503, item["lastResponseCode"]!.GetValue<int>());
    }

    [Fact]
    public async Task ListEvents_AnotherCallersJob_Returns404()
    {
        var outbox = new FakeOutbox();
        await using var host = await StartAsync(outbox);
        var job = host.Service.Add("bob", ApiHost.Request());
        outbox.Events.Add(Event(job));

        await (await host.SendAsync(HttpMethod.Get, $"/api/deployments/{job.Id}/events")).ErrorAsync(404, ErrorCodes.DeploymentNotFound);
        await (await host.SendAsync(HttpMethod.Post, $"/api/deployments/{job.Id}/events/{outbox.Events[0].Id}/redeliver")).ErrorAsync(404, ErrorCodes.DeploymentNotFound);
        Assert.Equal(WebhookDeliveryState.Dead, outbox.Events[0].State);
    }

    [Fact]
    public async Task ListEvents_MalformedId_Returns400()
    {
        await using var host = await StartAsync(new FakeOutbox());

        await (await host.SendAsync(HttpMethod.Get, "/api/deployments/not-a-uuid/events")).ErrorAsync(400, ErrorCodes.ValidationError);
        await (await host.SendAsync(HttpMethod.Post, $"/api/deployments/{Guid.NewGuid()}/events/nope/redeliver")).ErrorAsync(400, ErrorCodes.ValidationError);
    }

    [Fact]
    public async Task Redeliver_DeadEvent_Returns202AndSchedulesIt()
    {
        var outbox = new FakeOutbox();
        await using var host = await StartAsync(outbox);
        var job = host.Service.Add("alice", ApiHost.Request());
        outbox.Events.Add(Event(job));

        var response = await host.SendAsync(HttpMethod.Post, $"/api/deployments/{job.Id}/events/{outbox.Events[0].Id}/redeliver");

        Assert.Equal(202, (int)response.StatusCode);
        Assert.Equal("pending", (await response.JsonAsync())["data"]!["state"]!.GetValue<string>());
        Assert.Equal(WebhookDeliveryState.Pending, outbox.Events[0].State);
    }

    [Fact]
    public async Task Redeliver_UnknownOrInFlightEvent_Returns404Or409()
    {
        var outbox = new FakeOutbox();
        await using var host = await StartAsync(outbox);
        var job = host.Service.Add("alice", ApiHost.Request());
        outbox.Events.Add(Event(job));

        await (await host.SendAsync(HttpMethod.Post, $"/api/deployments/{job.Id}/events/{Guid.NewGuid()}/redeliver")).ErrorAsync(404, ErrorCodes.EventNotFound);
        outbox.InFlight = true;
        var error = await (await host.SendAsync(HttpMethod.Post, $"/api/deployments/{job.Id}/events/{outbox.Events[0].Id}/redeliver")).ErrorAsync(409, ErrorCodes.EventDeliveryInProgress);
        Assert.True(error["retryable"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("\"http://hooks.example.com/h\"", "https")]
    [InlineData("\"http://127.0.0.1:9000/h\"", "https")]
    [InlineData("\"https://169.254.169.254/latest\"", "cloud metadata")]
    [InlineData("\"https://10.1.2.3/h\"", "private")]
    [InlineData("\"https://user:pw@hooks.example.com/h\"", "credentials")]
    [InlineData("42", "string")]
    public async Task Create_BadCallbackUrl_Returns400NamingTheField(string value, string hint)
    {
        await using var host = await StartAsync(new FakeOutbox());

        var error = await (await host.PostDeploymentAsync(ApiHost.Body(extra: ",\"callbackUrl\":" + value))).ErrorAsync(400, ErrorCodes.ValidationError);

        var details = error["details"]!.ToJsonString();
        Assert.Contains("callbackUrl", details, StringComparison.Ordinal);
        Assert.Contains(hint, details, StringComparison.Ordinal);
        Assert.Empty(host.Service.Submissions);
    }

    [Fact]
    public async Task Create_CallbackUrlWithoutSigningSecret_Returns400()
    {
        await using var host = await StartAsync(new FakeOutbox());

        var error = await (await host.PostDeploymentAsync(ApiHost.Body(extra: ",\"callbackUrl\":\"https://hooks.example.com/h\""), ApiHost.BobKey))
            .ErrorAsync(400, ErrorCodes.ValidationError);

        Assert.Contains("WEBHOOK_SECRETS", error["details"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_HttpsCallbackUrl_IsKeptWithTheRequestAndHashed()
    {
        await using var host = await StartAsync(new FakeOutbox());

        var response = await host.PostDeploymentAsync(ApiHost.Body(extra: ",\"callbackUrl\":\"https://hooks.example.com/h\""));
        await host.PostDeploymentAsync(ApiHost.Body());

        Assert.Equal(202, (int)response.StatusCode);
        Assert.Equal("https://hooks.example.com/h", host.Service.Submissions[0].Request.CallbackUrl);
        Assert.Null(host.Service.Submissions[1].Request.CallbackUrl);
        Assert.NotEqual(host.Service.Submissions[0].RequestHash, host.Service.Submissions[1].RequestHash);
    }

    [Fact]
    public async Task Payload_FinalJob_DataEqualsTheStatusRoute()
    {
        await using var host = await StartAsync(new FakeOutbox());
        var job = host.Service.Add("alice", ApiHost.Request(), j => j with
        {
            Status = DeploymentStatus.Failed,
            Step = DeploymentStep.Done,
            Progress = 50,
            StepDetail = "Registering model in the ModelRegistry",
            Error = new DeploymentError
            {
                Code = ErrorCodes.TransactionReverted,
                Message = "reverted",
                Details = new Dictionary<string, string> { ["revertReason"] = "ModelAlreadyRegistered" },
                Suggestions = ["Use another model id."],
                Timestamp = ApiHost.Now,
            },
        });
        var formatter = host.App.Services.GetRequiredService<IWebhookPayloadFormatter>();
        Assert.IsType<ApiWebhookPayloadFormatter>(formatter);
        var eventId = Guid.NewGuid();

        var payload = JsonNode.Parse(formatter.Format(eventId, WebhookEventTypes.Failed, ApiHost.Now, job))!.AsObject();
        var status = await (await host.SendAsync(HttpMethod.Get, $"/api/deployments/{job.Id}/status")).JsonAsync();

        Assert.Equal(eventId.ToString(), payload["eventId"]!.GetValue<string>());
        Assert.Equal("deployment.failed", payload["type"]!.GetValue<string>());
        Assert.Equal("2026-01-02T03:04:05.000Z", payload["createdAt"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(status["data"], payload["data"]), $"{status["data"]} vs {payload["data"]}");
        // The core's default formatter writes the same data for hosts without this package.
        var core = JsonNode.Parse(new DefaultWebhookPayloadFormatter().Format(eventId, WebhookEventTypes.Failed, ApiHost.Now, job))!;
        Assert.True(JsonNode.DeepEquals(core, payload), $"{core} vs {payload}");
    }

    [Fact]
    public async Task OpenApi_EventRoutes_AreDocumentedWithTheirResponses()
    {
        await using var host = await StartAsync(new FakeOutbox());

        var document = JsonNode.Parse(await host.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;

        var paths = document["paths"]!.AsObject();
        var list = paths["/api/deployments/{id}/events"]!["get"]!;
        var redeliver = paths["/api/deployments/{id}/events/{eventId}/redeliver"]!["post"]!;
        Assert.NotNull(list["responses"]!["200"]);
        Assert.NotNull(list["responses"]!["404"]);
        Assert.NotNull(redeliver["responses"]!["202"] ?? redeliver["responses"]!["200"]);
        Assert.NotNull(redeliver["responses"]!["409"]);
        Assert.Contains("callbackUrl", document["components"]!["schemas"]!.ToJsonString(), StringComparison.Ordinal);
    }
}
