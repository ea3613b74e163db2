using Hokusai.Contracts.Accept;
using Hokusai.Contracts.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisDeploymentAcceptorTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly CancellationToken _ct = CancellationToken.None;

    private TestApp Create(FakeTimeProvider? time = null, int perHour = 5, int perDay = 20) =>
        TestApp.Create(redis.Server.ConnectionString, time: time, contracts: o =>
        {
            o.Quotas.PerHour = perHour;
            o.Quotas.PerDay = perDay;
        });

    private static IDeploymentAcceptor Acceptor(TestApp app) => app.Provider.GetRequiredService<IDeploymentAcceptor>();

    [Fact]
    public async Task AcceptAsync_NewJob_WritesJobIndexesQuotaAndQueueEntryInOneRoundTrip()
    {
        await using var app = Create();
        var acceptor = Acceptor(app);
        Assert.IsType<RedisDeploymentAcceptor>(acceptor);
        await acceptor.AcceptAsync(Jobs.New(owner: "warm", model: "warm"), null, _ct); // scripts loaded, connection up
        var counters = app.Database.Multiplexer;
        var rounds = new List<long>();
        DeploymentJob? job = null;
        for (var i = 0; i < 5; i++)
        {
            job = Jobs.New(owner: "alice", model: "model-" + i, idempotencyKey: "key-" + i, createdAt: Jobs.Epoch.AddSeconds(i));
            var before = counters.GetCounters().Interactive.OperationCount;
            var result = await acceptor.AcceptAsync(job, null, _ct);
            rounds.Add(counters.GetCounters().Interactive.OperationCount - before);
            Assert.Equal(AcceptOutcome.Accepted, result.Outcome);
            Assert.Equal(5 - i - 1, result.Quota!.Remaining);
        }

        // One command per acceptance (a heartbeat of the multiplexer may slip into one measurement).
        Assert.Equal(1, rounds.Min());
        Assert.All(rounds, r => Assert.InRange(r, 1, 2));
        var stored = await app.Store.GetAsync(job!.Id, _ct);
        Assert.Equal(job.Id, stored?.Id);
        Assert.Equal(job.Id, await app.Store.GetModelClaimAsync("model-4", _ct));
        Assert.Equal(5, await app.Database.SortedSetLengthAsync(app.Keys.Quota("alice")));
        Assert.Equal(6, await app.Database.StreamLengthAsync(app.Keys.Stream));
        Assert.Equal(5, await app.Database.SortedSetLengthAsync(app.Keys.OwnerStatus("alice", DeploymentStatus.Pending)));
        var page = await app.Store.ListAsync("alice", new DeploymentQuery(DeploymentStatus.Pending, Limit: 2), _ct);
        Assert.Equal(5, page.Total);
        Assert.Equal([job.Id], page.Items.Take(1).Select(j => j.Id));
    }

    [Fact]
    public async Task AcceptAsync_RegisteredOnChain_WritesNothing()
    {
        await using var app = Create();

        var result = await Acceptor(app).AcceptAsync(Jobs.New(), "0x0000000000000000000000000000000000000001", _ct);

        Assert.Equal(AcceptOutcome.RegisteredOnChain, result.Outcome);
        Assert.Null(await app.Store.GetModelClaimAsync("model-1", _ct));
        Assert.False(await app.Database.KeyExistsAsync(app.Keys.Quota("alice")));
        Assert.False(await app.Database.KeyExistsAsync(app.Keys.Stream));
    }

    [Fact]
    public async Task AcceptAsync_QuotaUsedUp_RejectsWithTheTightestWindowAndWritesNothing()
    {
        var time = new FakeTimeProvider(Jobs.Epoch);
        await using var app = Create(time, perHour: 2, perDay: 3);
        var acceptor = Acceptor(app);
        Assert.Equal(AcceptOutcome.Accepted, (await acceptor.AcceptAsync(Jobs.New(model: "a", createdAt: time.GetUtcNow()), null, _ct)).Outcome);
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(AcceptOutcome.Accepted, (await acceptor.AcceptAsync(Jobs.New(model: "b", createdAt: time.GetUtcNow()), null, _ct)).Outcome);

        var rejected = await acceptor.AcceptAsync(Jobs.New(model: "c", createdAt: time.GetUtcNow()), null, _ct);

        Assert.Equal(AcceptOutcome.QuotaExceeded, rejected.Outcome);
        Assert.False(rejected.Quota!.Allowed);
        Assert.Equal("hour", rejected.Quota.Window);
        Assert.Equal(TimeSpan.FromMinutes(50), rejected.Quota.ResetAfter);
        Assert.Null(await app.Store.GetModelClaimAsync("c", _ct));
        Assert.Equal(2, await app.Database.StreamLengthAsync(app.Keys.Stream));
    }

    [Fact]
    public async Task AcceptAsync_SameModelFromTwoConnectionsAtOnce_AcceptsExactlyOne()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = TestApp.Create(redis.Server.ConnectionString, prefix);
        await using var second = TestApp.Create(redis.Server.ConnectionString, prefix);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Acceptor(i % 2 == 0 ? first : second).AcceptAsync(Jobs.New(owner: "o" + (i % 4), model: "contested"), null, _ct)));

        Assert.Single(results, r => r.Outcome == AcceptOutcome.Accepted);
        Assert.All(results.Where(r => r.Outcome != AcceptOutcome.Accepted), r => Assert.Equal(AcceptOutcome.ModelInProgress, r.Outcome));
        Assert.Equal(1, await first.Database.StreamLengthAsync(first.Keys.Stream));
    }

    /// <summary>The Redis script and the default acceptor (over the in-memory store) answer every sequence alike.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task AcceptAsync_RandomSequence_AnswersAsTheInMemoryDefault(int seed)
    {
        var random = new Random(seed);
        var redisTime = new FakeTimeProvider(Jobs.Epoch);
        var memoryTime = new FakeTimeProvider(Jobs.Epoch);
        await using var app = Create(redisTime, perHour: 3, perDay: 6);
        var options = Options.Create(new HokusaiContractsOptions { Quotas = { PerHour = 3, PerDay = 6 } });
        var memoryStore = new InMemoryDeploymentStore(options, memoryTime);
        var memory = new StoreDeploymentAcceptor(memoryStore, new InMemoryDeploymentQuota(options, memoryTime), new InMemoryDeploymentQueue(), NullLogger<StoreDeploymentAcceptor>.Instance);
        var acceptor = Acceptor(app);
        var created = new List<Guid>();

        for (var step = 0; step < 150; step++)
        {
            var roll = random.Next(10);
            if (roll < 7)
            {
                var job = Jobs.New(
                    owner: random.Next(2) == 0 ? "alice" : "bob",
                    model: "m" + random.Next(4),
                    idempotencyKey: random.Next(3) switch { 0 => null, 1 => "k1", _ => "k2" },
                    hash: random.Next(2) == 0 ? "h1" : "h2",
                    createdAt: redisTime.GetUtcNow());
                var onChain = random.Next(8) == 0 ? "0x0000000000000000000000000000000000000001" : null;
                var expected = await memory.AcceptAsync(job, onChain, _ct);
                var actual = await acceptor.AcceptAsync(job, onChain, _ct);
                var context = $"step {step}: {job.Owner} {job.Request.ModelId} {job.IdempotencyKey} {job.RequestHash} onChain={onChain is not null}";
                Assert.True(expected.Outcome == actual.Outcome, $"{context}: memory {expected.Outcome}, redis {actual.Outcome}");
                Assert.True(expected.Existing?.Id == actual.Existing?.Id, context);
                Assert.True(expected.Quota?.Allowed == actual.Quota?.Allowed && expected.Quota?.Remaining == actual.Quota?.Remaining, context);
                if (actual.Outcome == AcceptOutcome.Accepted)
                {
                    created.Add(job.Id);
                }
            }
            else if (roll < 9 && created.Count > 0)
            {
                var id = created[random.Next(created.Count)];
                var status = random.Next(3) switch { 0 => DeploymentStatus.Completed, 1 => DeploymentStatus.Failed, _ => DeploymentStatus.Cancelled };
                foreach (var store in new[] { memoryStore, app.Store })
                {
                    if (await store.GetAsync(id, _ct) is { } current && !current.Status.IsFinal())
                    {
                        Assert.True(await store.TryUpdateAsync(current.Next(status), _ct));
                    }
                }
            }
            else
            {
                var advance = TimeSpan.FromMinutes(random.Next(5, 40));
                redisTime.Advance(advance);
                memoryTime.Advance(advance);
            }
        }
    }
}

public sealed class ServerClockTests
{
    private static readonly long s_second = TimeProvider.System.TimestampFrequency;

    [Fact]
    public void Deadline_BeforeAnySample_IsNone()
    {
        Assert.Null(new ServerClock().Deadline(10 * s_second, TimeSpan.FromMilliseconds(750)));
    }

    [Fact]
    public void Deadline_AfterSamples_UsesTheSmallestOffsetPlusTheTimeout()
    {
        var clock = new ServerClock();
        var sent = 100 * s_second; // local monotonic time: 100 000 ms
        clock.Observe(sent, 5_000_100_030); // a slow sample: offset + 30 ms delay
        clock.Observe(sent, 5_000_100_002); // a fast one: offset + 2 ms

        Assert.Equal(5_000_100_002 + 750, clock.Deadline(sent, TimeSpan.FromMilliseconds(750)));
        Assert.Equal(5_000_101_002 + 750, clock.Deadline(sent + s_second, TimeSpan.FromMilliseconds(750)));
    }

    [Fact]
    public void Reset_ForgetsTheEstimate()
    {
        var clock = new ServerClock();
        clock.Observe(100 * s_second, 5_000_100_002);

        clock.Reset();

        Assert.Null(clock.Deadline(100 * s_second, TimeSpan.FromMilliseconds(750)));
    }

    [Fact]
    public void Observe_OlderThanTwoWindows_IsForgotten()
    {
        var clock = new ServerClock();
        clock.Observe(100 * s_second, 5_000_100_002);          // offset 5 000 000 002
        clock.Observe(161 * s_second, 5_000_161_500);          // next window: offset 5 000 000 500
        clock.Observe(222 * s_second, 5_000_222_500);          // the first window is dropped now

        Assert.Equal(5_000_222_500 + 750, clock.Deadline(222 * s_second, TimeSpan.FromMilliseconds(750)));
    }
}
