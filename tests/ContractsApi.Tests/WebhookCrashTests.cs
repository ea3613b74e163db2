using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts.Client;
using Hokusai.Contracts.Testing;
using Xunit.Abstractions;

namespace ContractsApi.Tests;

/// <summary>
/// The outbox across a crash: the published host on Redis completes a deployment while its caller's receiver is
/// down, so the event is written but not delivered; the host is killed with SIGKILL; a new process on the same
/// Redis delivers the event (same event id, valid signature) once the receiver is back.
/// </summary>
[Collection(PublishedAppGroup.Name)]
public sealed class WebhookCrashTests(PublishedApp app, DevChainFixture chain, ITestOutputHelper output)
{
    private const string Secret = "whsec-ops-crash-0123456789abcdef";
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Kill9_BetweenStatusChangeAndDelivery_DeliveredAfterRestartWithSameEventId()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var receiver = WebhookReceiver.Start();
        await receiver.StopAsync();
        var environment = chain.Environment(new Dictionary<string, string>
        {
            ["REDIS_URL"] = redis.Url,
            ["QUOTA_PER_HOUR"] = "100",
            ["QUOTA_PER_DAY"] = "100",
            ["WEBHOOK_SECRETS"] = "ops:" + Secret,
            ["WEBHOOK_ENDPOINTS"] = "ops:" + receiver.Url,
            ["WEBHOOK_ALLOW_LOOPBACK"] = "true",
            ["WEBHOOK_MAX_AGE"] = "1h",
            ["HokusaiContracts__Webhooks__InitialRetryDelay"] = "00:00:00.5",
            ["HokusaiContracts__Webhooks__MaxRetryDelay"] = "00:00:01",
            ["HokusaiContracts__Webhooks__LeaseDuration"] = "00:00:10",
        });
        const string key = HostEnvironment.ApiKey;
        var model = "webhook-crash-" + Guid.NewGuid().ToString("N")[..8];

        string jobId;
        string eventId;
        await using (var first = PublishedHost.Start(app.Directory, environment))
        {
            await first.WaitForAsync("/health/ready", TimeSpan.FromSeconds(60));
            using var client = new HttpClient { BaseAddress = first.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            jobId = await Api.DeployAsync(client, key, model, chain.Chain.TestAccounts[0].Address);
            var status = await Api.WaitForCompletedAsync(client, key, jobId, Long);
            Assert.Equal("completed", status.GetProperty("status").GetString());

            // The event exists and its delivery has failed at least once: the replica is between the two.
            var pending = await WaitForEventAsync(client, jobId, e => e.GetProperty("attempts").GetInt32() >= 1, "a failed attempt");
            Assert.Equal("pending", pending.GetProperty("state").GetString());
            Assert.False(pending.TryGetProperty("lastResponseCode", out _));
            eventId = pending.GetProperty("eventId").GetString()!;

            using var process = Process.GetProcessById(first.AppProcessId());
            process.Kill();
            Assert.NotNull(await first.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        }

        Assert.Empty(receiver.Deliveries);
        receiver.Resume();
        await using var second = PublishedHost.Start(app.Directory, environment);
        await second.WaitForAsync("/health/ready", TimeSpan.FromSeconds(60));
        var deliveries = await receiver.WaitForAsync(d => d.Any(x => x.AnsweredWith == 200), Long, "delivery after the restart");

        var delivered = Assert.Single(deliveries, d => d.AnsweredWith == 200);
        Assert.Equal(eventId, delivered.EventId);
        Assert.Equal(WebhookSignatureFailure.None, new WebhookSignatureVerifier(Secret).Verify(delivered.Signature, delivered.Body));
        using (var body = JsonDocument.Parse(delivered.Body))
        {
            Assert.Equal(eventId, body.RootElement.GetProperty("eventId").GetString());
            Assert.Equal("deployment.completed", body.RootElement.GetProperty("type").GetString());
            Assert.Equal(jobId, body.RootElement.GetProperty("data").GetProperty("requestId").GetString());
            Assert.StartsWith("0x", body.RootElement.GetProperty("data").GetProperty("tokenDetails").GetProperty("tokenAddress").GetString(), StringComparison.Ordinal);
        }

        using var after = new HttpClient { BaseAddress = second.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var settled = await WaitForEventAsync(after, jobId, e => e.GetProperty("state").GetString() == "delivered", "delivered state");
        Assert.Equal(200, settled.GetProperty("lastResponseCode").GetInt32());
        Assert.Equal(eventId, settled.GetProperty("eventId").GetString());

        using var detailed = Api.Request(HttpMethod.Get, "/health/detailed", key);
        using var response = await after.SendAsync(detailed);
        using var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, health.RootElement.GetProperty("webhooks").GetProperty("outboxDepth").GetInt64());

        // The restarted replica counted its delivery; the gauges are exported next to it.
        var metrics = string.Empty;
        var watch = Stopwatch.StartNew();
        while (!metrics.Contains("hokusai_contracts_webhook_deliveries_total{", StringComparison.Ordinal) && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(500);
            metrics = await after.GetStringAsync(new Uri(second.MetricsAddress, "/metrics"));
        }

        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("hokusai_contracts_webhook_deliveries_total{", StringComparison.Ordinal) && l.Contains("outcome=\"delivered\"", StringComparison.Ordinal));
        Assert.Contains("hokusai_contracts_webhook_outbox_depth", metrics, StringComparison.Ordinal);
        Assert.Contains("hokusai_contracts_webhook_oldest_pending_age_seconds", metrics, StringComparison.Ordinal);
        output.WriteLine($"event {eventId} delivered after the restart; {receiver.Deliveries.Count} request(s) reached the receiver");
    }

    [Fact]
    public async Task Kill9_DuringDelivery_ClaimExpiresAndRestartDeliversSameEventOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var receiver = WebhookReceiver.Start();
        // The first request is held (shorter than the claim, so it is over before anyone may claim again).
        receiver.DelayFor = n => n == 0 ? TimeSpan.FromSeconds(5) : TimeSpan.Zero;
        receiver.Respond = n => n == 0 ? 503 : 200;
        var environment = chain.Environment(new Dictionary<string, string>
        {
            ["REDIS_URL"] = redis.Url,
            ["QUOTA_PER_HOUR"] = "100",
            ["QUOTA_PER_DAY"] = "100",
            ["WEBHOOK_SECRETS"] = "ops:" + Secret,
            ["WEBHOOK_ENDPOINTS"] = "ops:" + receiver.Url,
            ["WEBHOOK_ALLOW_LOOPBACK"] = "true",
            ["HokusaiContracts__Webhooks__LeaseDuration"] = "00:00:10",
        });
        const string key = HostEnvironment.ApiKey;
        var model = "webhook-inflight-" + Guid.NewGuid().ToString("N")[..8];

        string eventId;
        var killedAt = Stopwatch.StartNew();
        await using (var first = PublishedHost.Start(app.Directory, environment))
        {
            await first.WaitForAsync("/health/ready", TimeSpan.FromSeconds(60));
            using var client = new HttpClient { BaseAddress = first.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            var jobId = await Api.DeployAsync(client, key, model, chain.Chain.TestAccounts[0].Address);
            var watch = Stopwatch.StartNew();
            while (receiver.Arrivals == 0)
            {
                Assert.True(watch.Elapsed < Long, "the first delivery never arrived");
                await Task.Delay(20);
            }

            // The delivery is in flight (the receiver holds it): kill the replica now.
            using (var process = Process.GetProcessById(first.AppProcessId()))
            {
                process.Kill();
            }

            killedAt.Restart();
            Assert.NotNull(await first.WaitForExitAsync(TimeSpan.FromSeconds(15)));
            await using var second = PublishedHost.Start(app.Directory, environment);
            await second.WaitForAsync("/health/ready", TimeSpan.FromSeconds(60));
            using var secondClient = new HttpClient { BaseAddress = second.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            var delivered = await WaitForEventAsync(secondClient, jobId, e => e.GetProperty("state").GetString() == "delivered", "delivery by the restarted replica");
            eventId = delivered.GetProperty("eventId").GetString()!;
            Assert.Equal(200, delivered.GetProperty("lastResponseCode").GetInt32());
        }

        var deliveries = receiver.Deliveries;
        Assert.All(deliveries, d => Assert.Equal(eventId, d.EventId));
        var accepted = Assert.Single(deliveries, d => d.AnsweredWith == 200);
        Assert.Equal(WebhookSignatureFailure.None, new WebhookSignatureVerifier(Secret).Verify(accepted.Signature, accepted.Body));
        Assert.Equal(1, receiver.MaxConcurrentPerEvent);
        output.WriteLine($"event {eventId}: {deliveries.Count} requests; redelivered {killedAt.Elapsed.TotalSeconds:0.0} s after the kill");
    }

    private static async Task<JsonElement> WaitForEventAsync(HttpClient client, string jobId, Func<JsonElement, bool> until, string what)
    {
        var watch = Stopwatch.StartNew();
        string last = string.Empty;
        while (watch.Elapsed < Long)
        {
            using var request = Api.Request(HttpMethod.Get, $"/api/deployments/{jobId}/events", HostEnvironment.ApiKey);
            using var response = await client.SendAsync(request);
            last = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, last);
            using var doc = JsonDocument.Parse(last);
            var events = doc.RootElement.GetProperty("data").GetProperty("events");
            if (events.GetArrayLength() == 1 && until(events[0]))
            {
                return events[0].Clone();
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{what} not seen within {Long}; last: {last}");
    }
}
