using Hokusai.Contracts.Core.Tests.Jobs;
using Hokusai.Contracts.Testing;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using static Hokusai.Contracts.Core.Tests.Webhooks.WebhookTestSupport;

namespace Hokusai.Contracts.Core.Tests.Webhooks;

/// <summary>The engine, the in-memory outbox and the dispatcher against a real HTTP receiver on loopback.</summary>
public sealed class WebhookDeliveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static async Task<EngineHarness> StartAsync(FakeChainClient? chain = null, Action<HokusaiContractsOptions>? configure = null)
    {
        var harness = EngineHarness.Create(o =>
        {
            FastWebhooks(o);
            configure?.Invoke(o);
        }, chain);
        await harness.Provider.GetRequiredService<WebhookDispatcher>().StartAsync(CancellationToken.None);
        return harness;
    }

    private static async Task StopAsync(EngineHarness harness)
    {
        await harness.Provider.GetRequiredService<WebhookDispatcher>().StopAsync(CancellationToken.None);
        await harness.DisposeAsync();
    }

    [Fact]
    public async Task Dispatcher_Completed_DeliversOnceSignedWithTokenDetails()
    {
        await using var receiver = WebhookReceiver.Start();
        var harness = await StartAsync();
        try
        {
            await harness.StartAsync();
            var submitted = await harness.Service.SubmitAsync(Submission("hook-done", receiver.Url), default);
            await harness.WaitForAsync(submitted.Job!.Id, j => j.Status == DeploymentStatus.Completed);

            var deliveries = await receiver.WaitForAsync(d => d.Count >= 1, Wait, "the completed event");
            var events = await WaitSettledAsync(harness, submitted.Job.Id);

            var body = AssertSigned(Assert.Single(receiver.Deliveries));
            Assert.Equal(WebhookEventTypes.Completed, body.GetProperty("type").GetString());
            Assert.Equal(WebhookEventTypes.Completed, deliveries[0].EventType);
            Assert.Equal(submitted.Job.Id.ToString(), body.GetProperty("data").GetProperty("requestId").GetString());
            Assert.Equal("completed", body.GetProperty("data").GetProperty("status").GetString());
            Assert.StartsWith("0x", body.GetProperty("data").GetProperty("tokenDetails").GetProperty("tokenAddress").GetString(), StringComparison.Ordinal);
            var recorded = Assert.Single(events);
            Assert.Equal(WebhookDeliveryState.Delivered, recorded.State);
            Assert.Equal(1, recorded.Attempts);
            Assert.Equal(200, recorded.LastStatusCode);
            Assert.Equal(deliveries[0].EventId, recorded.Id.ToString());
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_Failed_DeliversOnceWithTheErrorBlock()
    {
        await using var receiver = WebhookReceiver.Start();
        var harness = await StartAsync(new FakeChainClient { RevertRegistrationWith = "ModelAlreadyRegistered" });
        try
        {
            await harness.StartAsync();
            var submitted = await harness.Service.SubmitAsync(Submission("hook-fail", receiver.Url), default);
            await harness.WaitForAsync(submitted.Job!.Id, j => j.Status == DeploymentStatus.Failed);

            await receiver.WaitForAsync(d => d.Count >= 1, Wait, "the failed event");
            await WaitSettledAsync(harness, submitted.Job.Id);

            var body = AssertSigned(Assert.Single(receiver.Deliveries));
            Assert.Equal(WebhookEventTypes.Failed, body.GetProperty("type").GetString());
            Assert.Equal("failed", body.GetProperty("data").GetProperty("status").GetString());
            Assert.False(string.IsNullOrEmpty(body.GetProperty("data").GetProperty("error").GetProperty("code").GetString()));
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_Cancelled_DeliversOnce()
    {
        await using var receiver = WebhookReceiver.Start();
        var harness = await StartAsync();
        try
        {
            // The engine is not started: the job stays pending and its owner cancels it.
            var submitted = await harness.Service.SubmitAsync(Submission("hook-cancel", receiver.Url), default);
            var cancelled = await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);
            Assert.Equal(CancelOutcome.Cancelled, cancelled.Outcome);

            await receiver.WaitForAsync(d => d.Count >= 1, Wait, "the cancelled event");
            await WaitSettledAsync(harness, submitted.Job.Id);

            var body = AssertSigned(Assert.Single(receiver.Deliveries));
            Assert.Equal(WebhookEventTypes.Cancelled, body.GetProperty("type").GetString());
            Assert.Equal("cancelled", body.GetProperty("data").GetProperty("status").GetString());
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_ReceiverAnswers500Then200_RetriesAndDelivers()
    {
        await using var receiver = WebhookReceiver.Start();
        receiver.Respond = n => n < 2 ? 500 : 200;
        var harness = await StartAsync();
        try
        {
            var submitted = await harness.Service.SubmitAsync(Submission("hook-500", receiver.Url), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);

            await receiver.WaitForAsync(d => d.Any(x => x.AnsweredWith == 200), Wait, "a 200 after two 500s");
            var recorded = Assert.Single(await WaitSettledAsync(harness, submitted.Job.Id));

            Assert.Equal([500, 500, 200], receiver.Deliveries.Select(d => d.AnsweredWith));
            Assert.Single(receiver.Deliveries.Select(d => d.EventId).Distinct());
            Assert.Single(receiver.Deliveries.Select(d => d.Body).Distinct());
            Assert.All(receiver.Deliveries, d => AssertSigned(d));
            Assert.Equal(WebhookDeliveryState.Delivered, recorded.State);
            Assert.Equal(3, recorded.Attempts);
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_ReceiverDownThenBack_DeliversAfterItReturns()
    {
        await using var receiver = WebhookReceiver.Start();
        await receiver.StopAsync();
        var harness = await StartAsync();
        try
        {
            var submitted = await harness.Service.SubmitAsync(Submission("hook-down", receiver.Url), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);
            var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();

            // Wait until at least two attempts failed against the closed port.
            var deadline = DateTime.UtcNow + Wait;
            while ((await outbox.ListAsync(submitted.Job.Id, default)).Single().Attempts < 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "attempts against the stopped receiver");
                await Task.Delay(20);
            }

            var failed = (await outbox.ListAsync(submitted.Job.Id, default)).Single();
            Assert.Equal(WebhookDeliveryState.Pending, failed.State);
            Assert.Null(failed.LastStatusCode);
            Assert.NotNull(failed.LastError);

            receiver.Resume();
            await receiver.WaitForAsync(d => d.Count >= 1, Wait, "the delivery after the receiver came back");
            var recorded = Assert.Single(await WaitSettledAsync(harness, submitted.Job.Id));

            AssertSigned(Assert.Single(receiver.Deliveries));
            Assert.Equal(WebhookDeliveryState.Delivered, recorded.State);
            Assert.True(recorded.Attempts >= 3);
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_Redirect_IsNotFollowedAndCountsAsFailure()
    {
        await using var receiver = WebhookReceiver.Start();
        await using var elsewhere = WebhookReceiver.Start();
        receiver.Respond = n => n == 0 ? 307 : 200;
        receiver.RedirectTo = elsewhere.Url;
        var harness = await StartAsync();
        try
        {
            var submitted = await harness.Service.SubmitAsync(Submission("hook-redirect", receiver.Url), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);

            var recorded = Assert.Single(await WaitSettledAsync(harness, submitted.Job.Id));

            Assert.Equal(WebhookDeliveryState.Delivered, recorded.State);
            Assert.Equal(2, recorded.Attempts);
            Assert.Equal([307, 200], receiver.Deliveries.Select(d => d.AnsweredWith));
            Assert.Empty(elsewhere.Deliveries);
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_SlowReceiver_AttemptCutAtTheTimeoutThenRetried()
    {
        await using var receiver = WebhookReceiver.Start();
        receiver.DelayFor = n => n == 0 ? TimeSpan.FromSeconds(4) : TimeSpan.Zero;
        var harness = await StartAsync(configure: o =>
        {
            o.Webhooks.Timeout = TimeSpan.FromSeconds(1);
            o.Webhooks.LeaseDuration = TimeSpan.FromSeconds(10);
        });
        try
        {
            var submitted = await harness.Service.SubmitAsync(Submission("hook-slow", receiver.Url), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);
            var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();
            var deadline = DateTime.UtcNow + Wait;
            WebhookEvent current;
            while ((current = (await outbox.ListAsync(submitted.Job.Id, default)).Single()).Attempts < 1)
            {
                Assert.True(DateTime.UtcNow < deadline, "the first attempt ends");
                await Task.Delay(20);
            }

            Assert.Contains("No answer within 1 s", current.LastError ?? current.State.ToString(), StringComparison.Ordinal);
            var recorded = Assert.Single(await WaitSettledAsync(harness, submitted.Job.Id));
            Assert.Equal(WebhookDeliveryState.Delivered, recorded.State);
            Assert.True(recorded.Attempts >= 2);
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_LoopbackNotAllowed_RefusesWithoutConnecting()
    {
        await using var receiver = WebhookReceiver.Start();
        var harness = await StartAsync(configure: o => o.Webhooks.AllowLoopback = false);
        try
        {
            var submitted = await harness.Service.SubmitAsync(Submission("hook-ssrf", receiver.Url), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);

            var recorded = Assert.Single(await WaitSettledAsync(harness, submitted.Job.Id));

            Assert.Equal(WebhookDeliveryState.Dead, recorded.State);
            Assert.Contains("loopback", recorded.LastError, StringComparison.Ordinal);
            Assert.Empty(receiver.Deliveries);
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.255.255.1:8080/hook")]
    [InlineData("http://[::ffff:127.0.0.1]:9/hook")]
    [InlineData("http://localhost:9/hook")]
    public async Task Dispatcher_InternalTarget_IsRefusedAndDead(string url)
    {
        var harness = await StartAsync(configure: o => o.Webhooks.AllowLoopback = false);
        try
        {
            var submitted = await harness.Service.SubmitAsync(Submission("hook-int-" + Math.Abs(url.GetHashCode(StringComparison.Ordinal)), url), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);

            var recorded = Assert.Single(await WaitSettledAsync(harness, submitted.Job.Id));

            Assert.Equal(WebhookDeliveryState.Dead, recorded.State);
            Assert.StartsWith("Refused", recorded.LastError, StringComparison.Ordinal);
            Assert.Equal(1, recorded.Attempts);
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_NoTarget_RaisesNoEvent()
    {
        var harness = await StartAsync();
        try
        {
            var submitted = await harness.Service.SubmitAsync(EngineHarness.Submission("hook-none"), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);

            Assert.Empty(await harness.Provider.GetRequiredService<IWebhookOutbox>().ListAsync(submitted.Job.Id, default));
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatcher_CallerEndpointFromSettings_UsedWithoutCallbackUrl()
    {
        await using var receiver = WebhookReceiver.Start();
        var harness = await StartAsync(configure: o => o.Webhooks.Endpoints["alice"] = receiver.Url);
        try
        {
            var submitted = await harness.Service.SubmitAsync(EngineHarness.Submission("hook-endpoint"), default);
            await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);

            await receiver.WaitForAsync(d => d.Count >= 1, Wait, "delivery to the configured endpoint");
            AssertSigned(Assert.Single(await receiver.WaitForAsync(d => d.Count >= 1, Wait, "one delivery")));
        }
        finally
        {
            await StopAsync(harness);
        }
    }

    [Fact]
    public async Task Dispatchers_TwoOnOneOutbox_NeverDeliverOneEventConcurrently()
    {
        await using var receiver = WebhookReceiver.Start();
        receiver.Delay = TimeSpan.FromMilliseconds(150);
        receiver.Respond = n => n % 3 == 0 ? 503 : 200;
        var harness = await StartAsync(configure: o => o.Webhooks.BatchSize = 4);
        var second = ActivatorUtilities.CreateInstance<WebhookDispatcher>(harness.Provider);
        await second.StartAsync(CancellationToken.None);
        try
        {
            var ids = new List<Guid>();
            for (var i = 0; i < 12; i++)
            {
                var submitted = await harness.Service.SubmitAsync(Submission("hook-pair-" + i, receiver.Url) with { Owner = "alice" }, default);
                await harness.Service.CancelAsync("alice", submitted.Job!.Id, default);
                ids.Add(submitted.Job.Id);
            }

            foreach (var id in ids)
            {
                Assert.Equal(WebhookDeliveryState.Delivered, Assert.Single(await WaitSettledAsync(harness, id)).State);
            }

            Assert.Equal(1, receiver.MaxConcurrentPerEvent);
            var successes = receiver.Deliveries.Where(d => d.AnsweredWith == 200).GroupBy(d => d.EventId).ToList();
            Assert.Equal(12, successes.Count);
            Assert.All(successes, g => Assert.Single(g));
        }
        finally
        {
            await second.StopAsync(CancellationToken.None);
            await StopAsync(harness);
        }
    }

    private static async Task<IReadOnlyList<WebhookEvent>> WaitSettledAsync(EngineHarness harness, Guid jobId)
    {
        var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var events = await outbox.ListAsync(jobId, default);
            if (events.Count > 0 && events.All(e => e.State != WebhookDeliveryState.Pending))
            {
                return events;
            }

            Assert.True(DateTime.UtcNow < deadline, $"events of job {jobId} did not settle: {string.Join(", ", events.Select(e => $"{e.State}/{e.Attempts}/{e.LastError}"))}");
            await Task.Delay(20);
        }
    }
}
