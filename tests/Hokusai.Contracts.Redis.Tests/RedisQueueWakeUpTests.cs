using System.Diagnostics;
using System.Globalization;
using Hokusai.Contracts.Backends;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisQueueWakeUpTests(RedisFixture redis, ITestOutputHelper output) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task DequeueAsync_JobQueuedByAnotherReplica_WakesAnIdleWorkerWithoutPolling()
    {
        var prefix = TestApp.NewPrefix();
        // A safety poll of a minute: only the wake-up can deliver within the test's bound.
        await using var owner = TestApp.Create(redis.Server.ConnectionString, prefix, configure: o => o.PollInterval = TimeSpan.FromMinutes(1));
        await using var other = TestApp.Create(redis.Server.ConnectionString, prefix);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var latencies = new List<double>();

        for (var round = 0; round < 20; round++)
        {
            var workers = Enumerable.Range(0, 4).Select(_ => owner.Queue.DequeueAsync(stop.Token).AsTask()).ToList();
            await Task.Delay(200); // the workers found the stream empty and wait
            var jobId = Guid.NewGuid();
            var watch = Stopwatch.StartNew();
            await other.Queue.EnqueueAsync(jobId, CancellationToken.None);
            var first = await Task.WhenAny(workers).WaitAsync(TimeSpan.FromSeconds(20));
            if (round > 0)
            {
                latencies.Add(watch.Elapsed.TotalMilliseconds); // the first round warms the code paths up
            }

            var item = await first;
            Assert.Equal(jobId, item?.JobId);
            await owner.Queue.AcknowledgeAsync(item!, CancellationToken.None);

            // The remaining workers go back to waiting; end them for the next round.
            workers.Remove(first);
            await CancelAsync(owner, workers);
        }

        latencies.Sort();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"enqueue on one replica → dequeued on the other: p50 {latencies[latencies.Count / 2]:0.0} ms, max {latencies[^1]:0.0} ms over {latencies.Count} rounds"));
        Assert.True(latencies[^1] < 20_000);
    }

    [Fact]
    public async Task DequeueAsync_JobQueuedBeforeTheSubscriptionIsLive_IsPickedUpWithoutThePoll()
    {
        var prefix = TestApp.NewPrefix();
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString);
        var gated = new GatedSubscriptions(multiplexer);
        // A safety poll of ten minutes: only a wake-up or a second look can deliver within the test's bound. The
        // wait for the subscription is bounded by the operation timeout: long enough for the test to hold it.
        await using var owner = TestApp.Create(redis.Server.ConnectionString, prefix, configure: o =>
        {
            o.PollInterval = TimeSpan.FromMinutes(10);
            o.OperationTimeout = TimeSpan.FromSeconds(60);
        }, multiplexer: gated.Multiplexer);
        await using var other = TestApp.Create(redis.Server.ConnectionString, prefix);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var firstRead = gated.NextAnswered(GatedSubscriptions.StreamGroupRead);

        var waiting = owner.Queue.DequeueAsync(stop.Token).AsTask();
        await firstRead.WaitAsync(TimeSpan.FromSeconds(60));
        // Found the stream empty, not subscribed yet: this enqueue's announcement reaches no one on that replica.
        var jobId = Guid.NewGuid();
        await other.Queue.EnqueueAsync(jobId, CancellationToken.None);
        gated.OpenSubscriptions();
        var item = await waiting.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(jobId, item?.JobId);
        await owner.Queue.AcknowledgeAsync(item!, CancellationToken.None);
    }

    [Fact]
    public async Task DequeueAsync_JobQueuedAsAFreshReplicaStartsWaiting_IsPickedUpWithoutThePoll()
    {
        var prefix = TestApp.NewPrefix();
        await using var other = TestApp.Create(redis.Server.ConnectionString, prefix);
        for (var round = 0; round < 10; round++)
        {
            // A new instance each round: its subscription starts with its first look, racing the enqueue below.
            await using var owner = TestApp.Create(redis.Server.ConnectionString, prefix, configure: o => o.PollInterval = TimeSpan.FromMinutes(10));
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var waiting = owner.Queue.DequeueAsync(stop.Token).AsTask();
            var jobId = Guid.NewGuid();

            await other.Queue.EnqueueAsync(jobId, CancellationToken.None);
            var item = await waiting.WaitAsync(TimeSpan.FromSeconds(20));

            Assert.Equal(jobId, item?.JobId);
            await owner.Queue.AcknowledgeAsync(item!, CancellationToken.None);
        }
    }

    [Fact]
    public async Task DequeueAsync_EightIdleWorkers_SendOnlyTheSafetyPoll()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, configure: o => o.PollInterval = TimeSpan.FromSeconds(1));
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 8).Select(_ => app.Queue.DequeueAsync(stop.Token).AsTask()).ToList();
        await Task.Delay(1_000);
        var multiplexer = app.Database.Multiplexer;
        var before = multiplexer.GetCounters().Interactive.OperationCount;

        await Task.Delay(4_000);
        var sent = multiplexer.GetCounters().Interactive.OperationCount - before;

        await stop.CancelAsync();
        Assert.All(await Task.WhenAll(workers), Assert.Null);
        output.WriteLine($"eight idle workers sent {sent} commands in 4 s");
        // One XREADGROUP per second from the one polling worker, perhaps one reclaim walk: never 8 workers × 10 polls.
        Assert.InRange(sent, 1, 10);
    }

    private static async Task CancelAsync(TestApp app, List<Task<QueueItem?>> workers)
    {
        // Waiting workers return null only when their own token is cancelled; give them a job each instead so
        // they return, then acknowledge those jobs.
        foreach (var _ in workers)
        {
            await app.Queue.EnqueueAsync(Guid.NewGuid(), CancellationToken.None);
        }

        foreach (var item in await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30)))
        {
            await app.Queue.AcknowledgeAsync(item!, CancellationToken.None);
        }
    }
}
