using System.Diagnostics;
using Hokusai.Contracts.Backends;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisDeploymentQueueTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly TimeSpan s_idle = TimeSpan.FromSeconds(1);

    // How long a delivery that must happen may take: an item ready now usually arrives in milliseconds, but a
    // shared, loaded CI machine can stall a process for seconds, and a failure should mean "never", not "late".
    private static readonly TimeSpan s_delivery = TimeSpan.FromSeconds(60);

    private TestApp Instance(string prefix, string consumer, TimeSpan? claimIdle = null) =>
        TestApp.Create(redis.Server.ConnectionString, prefix, o =>
        {
            o.ConsumerName = consumer;
            o.ClaimIdleTimeout = claimIdle ?? s_idle;
            o.PollInterval = TimeSpan.FromMilliseconds(20);
        });

    private static async Task<QueueItem> DequeueWithin(IDeploymentQueue queue, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var item = await queue.DequeueAsync(timeout.Token);
        Assert.NotNull(item);
        return item;
    }

    [Fact]
    public async Task EnqueueDequeueAcknowledge_DeliversOnceThenEmpties()
    {
        await using var app = Instance(TestApp.NewPrefix(), "a");
        var jobId = Guid.NewGuid();

        await app.Queue.EnqueueAsync(jobId, CancellationToken.None);
        Assert.Equal(1, await app.Queue.GetDepthAsync(CancellationToken.None));
        var item = await DequeueWithin(app.Queue, s_delivery);

        Assert.Equal(jobId, item.JobId);
        Assert.Equal(1, item.DeliveryCount);
        Assert.True(app.Queue.IsDurable);
        Assert.Equal(1, await app.Queue.GetDepthAsync(CancellationToken.None));

        await app.Queue.AcknowledgeAsync(item, CancellationToken.None);

        Assert.Equal(0, await app.Queue.GetDepthAsync(CancellationToken.None));
        var pending = await app.Database.StreamPendingAsync(app.Keys.Stream, "workers");
        Assert.Equal(0, pending.PendingMessageCount);
    }

    [Fact]
    public async Task DequeueAsync_ItemsInOrder_EachDeliveredToOneConsumer()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix, "a");
        await using var second = Instance(prefix, "b");
        var ids = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await first.Queue.EnqueueAsync(id, CancellationToken.None);
        }

        var seen = new List<Guid>();
        for (var i = 0; i < ids.Count; i++)
        {
            var item = await DequeueWithin(i % 2 == 0 ? first.Queue : second.Queue, s_delivery);
            seen.Add(item.JobId);
        }

        Assert.Equal(ids, seen);
    }

    [Fact]
    public async Task DequeueAsync_ConcurrentWorkersOnTwoInstances_DeliverEachItemOnce()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix, "a");
        await using var second = Instance(prefix, "b");
        var ids = Enumerable.Range(0, 24).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await first.Queue.EnqueueAsync(id, CancellationToken.None);
        }

        var delivered = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        using var stop = new CancellationTokenSource(s_delivery);
        var workers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            var queue = (w % 2 == 0 ? first : second).Queue;
            while (delivered.Count < ids.Count && await queue.DequeueAsync(stop.Token) is { } item)
            {
                delivered.Add(item.JobId);
                await queue.AcknowledgeAsync(item, CancellationToken.None);
            }
        })).ToArray();
        while (delivered.Count < ids.Count && !stop.IsCancellationRequested)
        {
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.Equal(ids.Order(), delivered.Order());
        Assert.Equal(0, await first.Queue.GetDepthAsync(CancellationToken.None));
    }

    [Fact]
    public async Task DequeueAsync_Cancelled_ReturnsNull()
    {
        await using var app = Instance(TestApp.NewPrefix(), "a");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();

        var item = await app.Queue.DequeueAsync(cancel.Token);

        Assert.Null(item);
        // Returns once cancelled instead of waiting for work that never comes; the slack is for a loaded machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task DequeueAsync_DeadConsumersEntry_IsReclaimedWithDeliveryCountTwo()
    {
        var prefix = TestApp.NewPrefix();
        var jobId = Guid.NewGuid();
        await using var survivor = Instance(prefix, "survivor");
        await survivor.Queue.EnqueueAsync(jobId, CancellationToken.None);
        // A replica that read the entry and crashed: it never acknowledges and never refreshes it.
        await survivor.Database.StreamCreateConsumerGroupAsync(survivor.Keys.Stream, "workers", "0");
        // Started before the read: the entry's idle time counts from the read, however late this thread runs after it.
        var watch = Stopwatch.StartNew();
        var read = Assert.Single(await survivor.Database.StreamReadGroupAsync(survivor.Keys.Stream, "workers", "crashed", ">", 1));

        var reclaimed = await DequeueWithin(survivor.Queue, s_delivery);

        Assert.Equal(jobId, reclaimed.JobId);
        Assert.Equal(read.Id.ToString(), reclaimed.DeliveryId);
        Assert.Equal(2, reclaimed.DeliveryCount);
        Assert.True(watch.Elapsed >= s_idle - TimeSpan.FromMilliseconds(100), $"reclaimed after {watch.Elapsed}");
        await survivor.Queue.AcknowledgeAsync(reclaimed, CancellationToken.None);
        Assert.Equal(0, await survivor.Queue.GetDepthAsync(CancellationToken.None));
    }

    [Fact]
    public async Task DisposeAsync_UnacknowledgedEntries_AreHandedOverAtOnce()
    {
        var prefix = TestApp.NewPrefix();
        static void SlowReclaim(RedisContractsOptions o) => o.ClaimIdleTimeout = TimeSpan.FromSeconds(30);
        await using var survivor = TestApp.Create(redis.Server.ConnectionString, prefix, o => { SlowReclaim(o); o.ConsumerName = "survivor"; });
        var leaving = TestApp.Create(redis.Server.ConnectionString, prefix, o => { SlowReclaim(o); o.ConsumerName = "leaving"; });
        var jobId = Guid.NewGuid();
        await leaving.Queue.EnqueueAsync(jobId, CancellationToken.None);
        var held = await DequeueWithin(leaving.Queue, s_delivery);

        await leaving.DisposeAsync();
        var watch = Stopwatch.StartNew();
        var taken = await DequeueWithin(survivor.Queue, s_delivery);

        Assert.Equal((jobId, held.DeliveryId, 2), (taken.JobId, taken.DeliveryId, taken.DeliveryCount));
        // Handed over, not reclaimed: a reclaim waits for the 30 s claim timeout; the slack below it is for a loaded machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
        var consumers = await survivor.Database.StreamConsumerInfoAsync(survivor.Keys.Stream, "workers");
        Assert.Equal(0, Assert.Single(consumers, c => c.Name == "leaving").PendingMessageCount);
    }

    [Fact]
    public async Task DequeueAsync_GoneConsumers_ArePrunedOnceTheyOwnNothing()
    {
        var prefix = TestApp.NewPrefix();
        await using var app = Instance(prefix, "live");
        await app.Queue.EnqueueAsync(Guid.NewGuid(), CancellationToken.None);
        await app.Database.StreamCreateConsumerGroupAsync(app.Keys.Stream, "workers", "0");
        // "holding" read an entry and vanished; "empty" vanished owning nothing.
        await app.Database.StreamReadGroupAsync(app.Keys.Stream, "workers", "holding", ">", 1);
        await app.Database.StreamReadGroupAsync(app.Keys.Stream, "workers", "empty", ">", 1);

        await Task.Delay(2 * s_idle + TimeSpan.FromMilliseconds(200));
        var item = await DequeueWithin(app.Queue, s_delivery);
        await app.Queue.AcknowledgeAsync(item, CancellationToken.None);
        await Task.Delay(s_idle + TimeSpan.FromMilliseconds(100));
        // Each short wait for work prunes at most once per claim timeout; a loaded machine may cancel one before it
        // gets there, so the waits go on until the gone consumers are pruned (or the deadline says they never are).
        var deadline = DateTime.UtcNow + s_delivery;
        string[] consumers;
        while (true)
        {
            using (var idle = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            {
                Assert.Null(await app.Queue.DequeueAsync(idle.Token));
            }

            consumers = (await app.Database.StreamConsumerInfoAsync(app.Keys.Stream, "workers")).Select(c => c.Name.ToString()).ToArray();
            if (!consumers.Contains("empty") && !consumers.Contains("holding"))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"consumers still listed: {string.Join(", ", consumers)}");
        }

        Assert.Contains("live", consumers);
    }

    [Fact]
    public async Task ReclaimedJob_FinishedBySurvivor_CompletesExactlyOnce()
    {
        var prefix = TestApp.NewPrefix();
        await using var survivor = Instance(prefix, "survivor");
        var victim = Instance(prefix, "victim");
        var job = Jobs.New();
        Assert.Equal(CreateJobOutcome.Created, (await victim.Store.TryCreateAsync(job, CancellationToken.None)).Outcome);
        await victim.Queue.EnqueueAsync(job.Id, CancellationToken.None);

        // The victim starts the job, then dies before finishing or acknowledging it.
        var first = await DequeueWithin(victim.Queue, s_delivery);
        var started = job.Next(DeploymentStatus.Processing);
        Assert.True(await victim.Store.TryUpdateAsync(started, CancellationToken.None));
        await victim.DisposeAsync();

        var second = await DequeueWithin(survivor.Queue, s_delivery);
        Assert.Equal((job.Id, 2), (second.JobId, second.DeliveryCount));
        var current = await survivor.Store.GetAsync(second.JobId, CancellationToken.None);
        Assert.True(await survivor.Store.TryUpdateAsync(current!.Next(DeploymentStatus.Completed), CancellationToken.None));
        await survivor.Queue.AcknowledgeAsync(second, CancellationToken.None);

        // A late write from the victim's stale copy cannot complete the job a second time.
        Assert.False(await survivor.Store.TryUpdateAsync(started.Next(DeploymentStatus.Completed), CancellationToken.None));
        var counts = await survivor.Store.CountByStatusAsync(CancellationToken.None);
        Assert.Equal(1, counts[DeploymentStatus.Completed]);
        Assert.Equal(0, await survivor.Queue.GetDepthAsync(CancellationToken.None));
        Assert.Equal(first.DeliveryId, second.DeliveryId);
    }

    [Fact]
    public async Task DequeueAsync_DeadEntryBehindManyLiveOnes_IsStillReclaimed()
    {
        var prefix = TestApp.NewPrefix();
        await using var busy = Instance(prefix, "busy");
        await using var survivor = Instance(prefix, "survivor");
        var victim = Instance(prefix, "victim");
        var ids = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await busy.Queue.EnqueueAsync(id, CancellationToken.None);
        }

        // 15 entries stay with a live consumer; XAUTOCLAIM looks at only ten pending entries per call.
        for (var i = 0; i < 15; i++)
        {
            await DequeueWithin(busy.Queue, s_delivery);
        }

        var lost = await DequeueWithin(victim.Queue, s_delivery);
        Assert.Equal(ids[15], lost.JobId);
        await victim.DisposeAsync();

        var reclaimed = await DequeueWithin(survivor.Queue, s_delivery);

        Assert.Equal((ids[15], 2), (reclaimed.JobId, reclaimed.DeliveryCount));
    }

    [Fact]
    public async Task DequeueAsync_LiveConsumersEntry_IsNotReclaimed()
    {
        var prefix = TestApp.NewPrefix();
        // The holder refreshes its entries every quarter of the claim timeout: 4 s leaves a stalled process 3 s
        // before its entry would look abandoned, and the wait lasts past the point an unrefreshed one is reclaimed.
        await using var holder = Instance(prefix, "holder", s_idle * 4);
        await using var other = Instance(prefix, "other", s_idle * 4);
        await holder.Queue.EnqueueAsync(Guid.NewGuid(), CancellationToken.None);
        var held = await DequeueWithin(holder.Queue, s_delivery);

        using var wait = new CancellationTokenSource(s_idle * 6);
        var stolen = await other.Queue.DequeueAsync(wait.Token);

        Assert.Null(stolen);
        var pending = await holder.Database.StreamPendingMessagesAsync(holder.Keys.Stream, "workers", 10, RedisValue.Null);
        var entry = Assert.Single(pending);
        Assert.Equal("holder", entry.ConsumerName);
        Assert.Equal(1, entry.DeliveryCount);
        await holder.Queue.AcknowledgeAsync(held, CancellationToken.None);
    }

    [Fact]
    public async Task DequeueAsync_StreamAndGroupLost_RecreatesThem()
    {
        await using var app = Instance(TestApp.NewPrefix(), "a");
        await app.Queue.EnqueueAsync(Guid.NewGuid(), CancellationToken.None);
        await app.Queue.AcknowledgeAsync(await DequeueWithin(app.Queue, s_delivery), CancellationToken.None);

        await app.Database.KeyDeleteAsync(app.Keys.Stream);
        var jobId = Guid.NewGuid();
        await app.Queue.EnqueueAsync(jobId, CancellationToken.None);
        var item = await DequeueWithin(app.Queue, s_delivery);

        Assert.Equal(jobId, item.JobId);
    }

    [Fact]
    public async Task DequeueAsync_MalformedEntry_IsDroppedAndNextDelivered()
    {
        await using var app = Instance(TestApp.NewPrefix(), "a");
        await app.Database.StreamAddAsync(app.Keys.Stream, "jobId", "not-a-guid");
        var jobId = Guid.NewGuid();
        await app.Queue.EnqueueAsync(jobId, CancellationToken.None);

        var item = await DequeueWithin(app.Queue, s_delivery);

        Assert.Equal(jobId, item.JobId);
        Assert.Equal(1, await app.Queue.GetDepthAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ConsumerName_Default_HasMachinePidAndRandomPart()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        new TestBuilder(services).AddRedis(redis.Server.ConnectionString);
        await using var provider = services.BuildServiceProvider();
        var queue = provider.GetRequiredService<RedisDeploymentQueue>();
        var other = RedisDeploymentQueue.DefaultConsumerName();

        Assert.StartsWith($"{Environment.MachineName}:{Environment.ProcessId}:", queue.ConsumerName);
        Assert.NotEqual(queue.ConsumerName, other);
    }
}
