using Hokusai.Contracts.Core.Tests.Jobs;
using Hokusai.Contracts.Testing;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Hokusai.Contracts.Core.Tests.Webhooks.WebhookTestSupport;

namespace Hokusai.Contracts.Core.Tests.Webhooks;

/// <summary>The in-memory outbox and one dispatcher pass at a time, on a fake clock.</summary>
public sealed class WebhookOutboxTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private EngineHarness Create(Action<HokusaiContractsOptions>? configure = null) => EngineHarness.Create(o =>
    {
        FastWebhooks(o);
        o.Webhooks.InitialRetryDelay = TimeSpan.FromSeconds(10);
        o.Webhooks.MaxRetryDelay = TimeSpan.FromHours(1);
        configure?.Invoke(o);
    }, time: _time);

    private static async Task<DeploymentJob> CreatePendingAsync(EngineHarness harness, string model, string url) =>
        (await harness.Service.SubmitAsync(Submission(model, url), default)).Job!;

    [Fact]
    public async Task TryUpdateAsync_FinalTransition_WritesExactlyOneEventWithTheChange()
    {
        await using var harness = Create();
        var job = await CreatePendingAsync(harness, "ob-1", "https://hooks.example.com/h");
        var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();
        var cancelled = job with { Version = 2, Status = DeploymentStatus.Cancelled, Step = DeploymentStep.Done };

        Assert.Empty(await outbox.ListAsync(job.Id, default));
        Assert.True(await harness.Store.TryUpdateAsync(cancelled, default));
        // A stale write of the same transition loses the compare-and-swap and raises nothing.
        Assert.False(await harness.Store.TryUpdateAsync(cancelled, default));

        var raised = Assert.Single(await outbox.ListAsync(job.Id, default));
        Assert.Equal(WebhookEventTypes.Cancelled, raised.Type);
        Assert.Equal(WebhookDeliveryState.Pending, raised.State);
        Assert.Equal(_time.GetUtcNow(), raised.NextAttemptAt);
        Assert.Contains(raised.Id.ToString(), raised.Payload, StringComparison.Ordinal);
        Assert.Equal(1, (await outbox.GetStatsAsync(default)).Pending);
    }

    [Fact]
    public async Task TryUpdateAsync_NonFinalChange_RaisesNothing()
    {
        await using var harness = Create();
        var job = await CreatePendingAsync(harness, "ob-2", "https://hooks.example.com/h");

        Assert.True(await harness.Store.TryUpdateAsync(job with { Version = 2, Status = DeploymentStatus.Processing }, default));

        Assert.Empty(await harness.Provider.GetRequiredService<IWebhookOutbox>().ListAsync(job.Id, default));
    }

    [Fact]
    public async Task ClaimDueAsync_ClaimedEvent_IsWithheldUntilTheLeaseEndsAndStaleResultsAreDiscarded()
    {
        await using var harness = Create();
        var job = await CreatePendingAsync(harness, "ob-3", "https://hooks.example.com/h");
        await harness.Store.TryUpdateAsync(job with { Version = 2, Status = DeploymentStatus.Cancelled }, default);
        var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();

        var first = Assert.Single(await outbox.ClaimDueAsync(10, TimeSpan.FromSeconds(60), default));
        Assert.Empty(await outbox.ClaimDueAsync(10, TimeSpan.FromSeconds(60), default));

        _time.Advance(TimeSpan.FromSeconds(61));
        var second = Assert.Single(await outbox.ClaimDueAsync(10, TimeSpan.FromSeconds(60), default));

        Assert.False(await outbox.CompleteAsync(first, first.Event with { State = WebhookDeliveryState.Delivered }, default));
        Assert.True(await outbox.CompleteAsync(second, second.Event with { State = WebhookDeliveryState.Delivered }, default));
        Assert.Equal(0, (await outbox.GetStatsAsync(default)).Pending);
    }

    [Fact]
    public async Task DispatchOnceAsync_500Then200_FollowsTheBackoffOnTheFakeClock()
    {
        await using var receiver = WebhookReceiver.Start();
        receiver.Respond = n => n == 0 ? 500 : 200;
        await using var harness = Create();
        var dispatcher = harness.Provider.GetRequiredService<WebhookDispatcher>();
        var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();
        var job = await CreatePendingAsync(harness, "ob-4", receiver.Url);
        await harness.Service.CancelAsync("alice", job.Id, default);

        Assert.Equal(1, await dispatcher.DispatchOnceAsync(default));
        var failed = Assert.Single(await outbox.ListAsync(job.Id, default));
        Assert.Equal(WebhookDeliveryState.Pending, failed.State);
        Assert.Equal(500, failed.LastStatusCode);
        Assert.True(failed.LastResponseBody!.Length <= 1024, "the stored response body is cut to 1 KB");
        Assert.InRange(failed.NextAttemptAt!.Value - _time.GetUtcNow(), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));

        // Not due yet: nothing is claimed.
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, await dispatcher.DispatchOnceAsync(default));

        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1, await dispatcher.DispatchOnceAsync(default));
        var delivered = Assert.Single(await outbox.ListAsync(job.Id, default));
        Assert.Equal(WebhookDeliveryState.Delivered, delivered.State);
        Assert.Equal(2, delivered.Attempts);
        Assert.Equal(2, receiver.Deliveries.Count);
    }

    [Fact]
    public async Task DispatchOnceAsync_FailingPastMaxAge_MarksDeadAndRedeliverRevives()
    {
        await using var receiver = WebhookReceiver.Start();
        receiver.Respond = _ => 503;
        await using var harness = Create(o => o.Webhooks.MaxAge = TimeSpan.FromMinutes(5));
        var dispatcher = harness.Provider.GetRequiredService<WebhookDispatcher>();
        var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();
        var job = await CreatePendingAsync(harness, "ob-5", receiver.Url);
        await harness.Service.CancelAsync("alice", job.Id, default);

        for (var i = 0; i < 50 && (await outbox.ListAsync(job.Id, default)).Single().State == WebhookDeliveryState.Pending; i++)
        {
            await dispatcher.DispatchOnceAsync(default);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        var dead = Assert.Single(await outbox.ListAsync(job.Id, default));
        Assert.Equal(WebhookDeliveryState.Dead, dead.State);
        Assert.True(dead.LastAttemptAt >= dead.CreatedAt + TimeSpan.FromMinutes(5));

        receiver.Respond = _ => 200;
        var (outcome, revived) = await outbox.RedeliverAsync(job.Id, dead.Id, default);
        Assert.Equal(RedeliverOutcome.Scheduled, outcome);
        Assert.Equal(WebhookDeliveryState.Pending, revived!.State);
        await dispatcher.DispatchOnceAsync(default);

        var delivered = Assert.Single(await outbox.ListAsync(job.Id, default));
        Assert.Equal(WebhookDeliveryState.Delivered, delivered.State);
        Assert.Equal(dead.Id, delivered.Id);
        Assert.Single(receiver.Deliveries.Select(d => d.Body).Distinct());
    }

    [Fact]
    public async Task RedeliverAsync_OtherJobOrUnknownEvent_NotFound()
    {
        await using var harness = Create();
        var job = await CreatePendingAsync(harness, "ob-6", "https://hooks.example.com/h");
        await harness.Service.CancelAsync("alice", job.Id, default);
        var outbox = harness.Provider.GetRequiredService<IWebhookOutbox>();
        var raised = Assert.Single(await outbox.ListAsync(job.Id, default));

        Assert.Equal(RedeliverOutcome.NotFound, (await outbox.RedeliverAsync(Guid.NewGuid(), raised.Id, default)).Outcome);
        Assert.Equal(RedeliverOutcome.NotFound, (await outbox.RedeliverAsync(job.Id, Guid.NewGuid(), default)).Outcome);
        await outbox.ClaimDueAsync(10, TimeSpan.FromSeconds(60), default);
        Assert.Equal(RedeliverOutcome.InFlight, (await outbox.RedeliverAsync(job.Id, raised.Id, default)).Outcome);
    }

    [Fact]
    public void Validate_Secrets_RejectsMalformedShortAndThreePerCaller()
    {
        static IEnumerable<string> Failures(params string[] secrets)
        {
            var options = new WebhookOptions();
            foreach (var s in secrets)
            {
                options.Secrets.Add(s);
            }

            return options.Validate();
        }

        Assert.Empty(Failures("alice:0123456789abcdef0", "alice:fedcba98765432100", "bob:0123456789abcdef0"));
        Assert.NotEmpty(Failures("no-separator-0123456789"));
        Assert.NotEmpty(Failures("alice:short"));
        Assert.NotEmpty(Failures("alice:0123456789abcdef0,alice:0123456789abcdef1,alice:0123456789abcdef2"));
        Assert.DoesNotContain(Failures("alice:short"), f => f.Contains("short", StringComparison.Ordinal));
    }
}
