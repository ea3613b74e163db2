using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Client;
using Hokusai.Contracts.Testing;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisWebhookOutboxTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string Secret = "whsec-alice-0123456789abcdef";
    private readonly CancellationToken _ct = CancellationToken.None;

    /// <summary>One "replica": the full registration on Redis, with only the connection warm-up started.</summary>
    private ServiceProvider Replica(string prefix, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddHokusaiContracts(o =>
        {
            o.Chain.RpcUrls.Add("http://127.0.0.1:8545");
            o.Chain.ModelRegistryAddress = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
            o.Chain.TokenManagerAddress = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
            o.Chain.DeployerPrivateKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
            o.Webhooks.Secrets.Add("alice:" + Secret);
            o.Webhooks.AllowLoopback = true;
            o.Webhooks.PollInterval = TimeSpan.FromMilliseconds(20);
            o.Webhooks.InitialRetryDelay = TimeSpan.FromMilliseconds(100);
            o.Webhooks.MaxRetryDelay = TimeSpan.FromMilliseconds(300);
            o.Webhooks.BatchSize = 4;
        }).AddRedis(redis.Server.ConnectionString, o =>
        {
            o.KeyPrefix = prefix;
            // Delivery behaviour, not Redis timeouts: a loaded shared machine can exceed the 750 ms fail-fast bound.
            o.OperationTimeout = TimeSpan.FromSeconds(10);
        });
        var provider = services.BuildServiceProvider();
        foreach (var hosted in provider.GetServices<IHostedService>().Where(h => h.GetType().Name == "RedisConnectionWarmup"))
        {
            hosted.StartAsync(_ct).GetAwaiter().GetResult();
        }

        return provider;
    }

    private static DeploymentJob NewJob(string model, string url) =>
        Jobs.New(model: model) is var job ? job with { Request = job.Request with { CallbackUrl = url } } : null!;

    [Fact]
    public async Task TryUpdateAsync_FinalTransition_WritesTheEventInTheSameScript()
    {
        await using var app = Replica(TestApp.NewPrefix());
        var store = app.GetRequiredService<IDeploymentStore>();
        var outbox = app.GetRequiredService<IWebhookOutbox>();
        var job = NewJob("wh-1", "https://hooks.example.com/h");
        await store.TryCreateAsync(job, _ct);

        var processing = job.Next(DeploymentStatus.Processing);
        Assert.True(await store.TryUpdateAsync(processing, _ct));
        Assert.Empty(await outbox.ListAsync(job.Id, _ct));

        var failed = processing.Next(DeploymentStatus.Failed);
        Assert.False(await store.TryUpdateAsync(failed with { Version = failed.Version + 5 }, _ct));
        Assert.Empty(await outbox.ListAsync(job.Id, _ct));
        Assert.True(await store.TryUpdateAsync(failed, _ct));

        var raised = Assert.Single(await outbox.ListAsync(job.Id, _ct));
        Assert.Equal(WebhookEventTypes.Failed, raised.Type);
        Assert.Equal("alice", raised.Owner);
        var stats = await outbox.GetStatsAsync(_ct);
        Assert.Equal(1, stats.Pending);
        Assert.Equal(raised.CreatedAt.ToUnixTimeMilliseconds(), stats.OldestPendingCreatedAt!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task TryUpdateAsync_WithoutTarget_WritesNoEvent()
    {
        await using var app = Replica(TestApp.NewPrefix());
        var store = app.GetRequiredService<IDeploymentStore>();
        var job = Jobs.New(model: "wh-none");
        await store.TryCreateAsync(job, _ct);

        Assert.True(await store.TryUpdateAsync(job.Next(DeploymentStatus.Cancelled), _ct));

        Assert.Empty(await app.GetRequiredService<IWebhookOutbox>().ListAsync(job.Id, _ct));
        Assert.Equal(0, (await app.GetRequiredService<IWebhookOutbox>().GetStatsAsync(_ct)).Pending);
    }

    [Fact]
    public async Task ClaimDueAsync_TwoReplicas_OnlyOneHoldsAnEventAndAStaleClaimCannotComplete()
    {
        var prefix = TestApp.NewPrefix();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var first = Replica(prefix, time);
        await using var second = Replica(prefix, time);
        var store = first.GetRequiredService<IDeploymentStore>();
        var job = NewJob("wh-claim", "https://hooks.example.com/h");
        await store.TryCreateAsync(job, _ct);
        await store.TryUpdateAsync(job.Next(DeploymentStatus.Cancelled), _ct);
        var outboxA = first.GetRequiredService<IWebhookOutbox>();
        var outboxB = second.GetRequiredService<IWebhookOutbox>();

        var claims = await Task.WhenAll(
            outboxA.ClaimDueAsync(10, TimeSpan.FromSeconds(60), _ct),
            outboxB.ClaimDueAsync(10, TimeSpan.FromSeconds(60), _ct));
        var held = Assert.Single(claims.SelectMany(c => c));
        Assert.Equal(RedeliverOutcome.InFlight, (await outboxB.RedeliverAsync(job.Id, held.Event.Id, _ct)).Outcome);

        time.Advance(TimeSpan.FromSeconds(61));
        var retaken = Assert.Single(await outboxB.ClaimDueAsync(10, TimeSpan.FromSeconds(60), _ct));
        Assert.False(await outboxA.CompleteAsync(held, held.Event with { State = WebhookDeliveryState.Delivered }, _ct));
        Assert.True(await outboxB.CompleteAsync(retaken, retaken.Event with { State = WebhookDeliveryState.Delivered, Attempts = 1 }, _ct));

        var settled = Assert.Single(await outboxA.ListAsync(job.Id, _ct));
        Assert.Equal(WebhookDeliveryState.Delivered, settled.State);
        Assert.Equal(0, (await outboxA.GetStatsAsync(_ct)).Pending);
        Assert.True(await Database(first).KeyTimeToLiveAsync(first.GetRequiredService<RedisExecutor>().Keys.WebhookEvent(settled.Id)) > TimeSpan.Zero,
            "a settled event expires with the job's retention");

        var (outcome, revived) = await outboxA.RedeliverAsync(job.Id, settled.Id, _ct);
        Assert.Equal(RedeliverOutcome.Scheduled, outcome);
        Assert.Equal(WebhookDeliveryState.Pending, revived!.State);
        Assert.Null(await Database(first).KeyTimeToLiveAsync(first.GetRequiredService<RedisExecutor>().Keys.WebhookEvent(settled.Id)));
        Assert.Single(await outboxB.ClaimDueAsync(10, TimeSpan.FromSeconds(60), _ct));
    }

    [Fact]
    public async Task Dispatchers_TwoReplicasOnOneRedis_DeliverEachEventOnceNeverConcurrently()
    {
        await using var receiver = WebhookReceiver.Start();
        receiver.Delay = TimeSpan.FromMilliseconds(100);
        receiver.Respond = n => n % 4 == 1 ? 500 : 200;
        var prefix = TestApp.NewPrefix();
        await using var first = Replica(prefix);
        await using var second = Replica(prefix);
        var store = first.GetRequiredService<IDeploymentStore>();
        var ids = new List<Guid>();
        for (var i = 0; i < 16; i++)
        {
            var job = NewJob("wh-pair-" + i, receiver.Url);
            await store.TryCreateAsync(job, _ct);
            await store.TryUpdateAsync(job.Next(DeploymentStatus.Cancelled), _ct);
            ids.Add(job.Id);
        }

        var dispatchers = new[] { first, second }.Select(p => p.GetRequiredService<WebhookDispatcher>()).ToList();
        foreach (var dispatcher in dispatchers)
        {
            await dispatcher.StartAsync(_ct);
        }

        try
        {
            await receiver.WaitForAsync(d => d.Where(x => x.AnsweredWith == 200).Select(x => x.EventId).Distinct().Count() == 16,
                TimeSpan.FromSeconds(60), "16 events delivered");
            var outbox = second.GetRequiredService<IWebhookOutbox>();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await outbox.GetStatsAsync(_ct)).Pending > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the outbox drains");
                await Task.Delay(50);
            }
        }
        finally
        {
            foreach (var dispatcher in dispatchers)
            {
                await dispatcher.StopAsync(_ct);
            }
        }

        Assert.Equal(1, receiver.MaxConcurrentPerEvent);
        Assert.All(receiver.Deliveries.Where(d => d.AnsweredWith == 200).GroupBy(d => d.EventId), g => Assert.Single(g));
        var verifier = new WebhookSignatureVerifier(Secret);
        Assert.All(receiver.Deliveries, d => Assert.True(verifier.IsValid(d.Signature, d.Body)));
        foreach (var id in ids)
        {
            var recorded = Assert.Single(await first.GetRequiredService<IWebhookOutbox>().ListAsync(id, _ct));
            Assert.Equal(WebhookDeliveryState.Delivered, recorded.State);
        }
    }

    private static IDatabase Database(ServiceProvider provider) => provider.GetRequiredService<RedisConnection>().Get().GetDatabase();
}
