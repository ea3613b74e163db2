using Hokusai.Contracts.Accept;
using Hokusai.Contracts.Backends;
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
    public async Task WarmUp_HostStart_LoadsTheScriptAndEstimatesTheServerClockBeforeTheFirstRequest()
    {
        // A server of its own: the class's shared one has the script loaded by other tests already.
        await using var server = await Hokusai.Contracts.Testing.RedisServer.StartAsync();
        await using var app = TestApp.Create(server.ConnectionString); // starts the hosted services, as a host does
#pragma warning disable CA5350 // Redis names a loaded script by its SHA-1; nothing here is security.
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(RedisDeploymentAcceptor.AcceptScript)));
#pragma warning restore CA5350

        Assert.Equal(1, (int)(await app.Database.ExecuteAsync("SCRIPT", "EXISTS", sha))[0]);
        var started = (RedisDeploymentAcceptor)Acceptor(app);
        Assert.True(started.Clock.HasEstimate);
        Assert.NotNull(started.Clock.Deadline(started.Clock.Monotonic.GetTimestamp(), TimeSpan.FromMilliseconds(375)));
        Assert.Equal(0, await app.Database.StreamLengthAsync(app.Keys.Stream)); // warming up accepts nothing

        // The same steps on an acceptor that was not warmed: nothing known until WarmUpAsync runs.
        await app.Database.ExecuteAsync("SCRIPT", "FLUSH");
        var cold = new RedisDeploymentAcceptor(
            app.Provider.GetRequiredService<RedisExecutor>(), app.Provider.GetRequiredService<IOptionsMonitor<HokusaiContractsOptions>>(), TimeProvider.System);
        Assert.False(cold.Clock.HasEstimate);
        Assert.Equal(0, (int)(await app.Database.ExecuteAsync("SCRIPT", "EXISTS", sha))[0]);

        await cold.WarmUpAsync(_ct);

        Assert.True(cold.Clock.HasEstimate);
        Assert.Equal(1, (int)(await app.Database.ExecuteAsync("SCRIPT", "EXISTS", sha))[0]);
        Assert.Equal(AcceptOutcome.Accepted, (await cold.AcceptAsync(Jobs.New(), null, _ct)).Outcome);
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
    private static readonly TimeSpan s_timeout = TimeSpan.FromMilliseconds(750);

    /// <summary>The server's clock runs 5 000 000 000 ms ahead of the local monotonic one.</summary>
    private const long Offset = 5_000_000_000;

    private readonly FakeTimeProvider _time = new(Jobs.Epoch);

    private long LocalMs(long timestamp) => timestamp / (_time.TimestampFrequency / 1000);

    /// <summary>A call sent now whose script reads the server clock after <paramref name="delay"/> and answers after <paramref name="roundTrip"/>.</summary>
    private void Sample(ServerClock clock, TimeSpan delay, TimeSpan roundTrip)
    {
        var sent = _time.GetTimestamp();
        var server = LocalMs(sent) + Offset + (long)delay.TotalMilliseconds;
        _time.Advance(roundTrip);
        clock.Observe(sent, _time.GetTimestamp(), server);
    }

    [Fact]
    public void Deadline_BeforeAnySample_IsNone()
    {
        var clock = new ServerClock(_time);

        Assert.Null(clock.Deadline(_time.GetTimestamp(), s_timeout));
        Assert.False(clock.HasEstimate);
    }

    [Fact]
    public void Deadline_AfterSamples_UsesTheSmallestOffsetPlusTheTimeout()
    {
        var clock = new ServerClock(_time);
        Sample(clock, TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(40));
        Sample(clock, TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(4));

        var now = _time.GetTimestamp();
        Assert.Equal(LocalMs(now) + Offset + 2 + 750, clock.Deadline(now, s_timeout));
    }

    [Fact]
    public void Deadline_SlowFirstSampleThenQuickOnes_TheSlowOneNeverCounts()
    {
        var clock = new ServerClock(_time);
        // A cold first call: the client stalled 400 ms before the command left, so the sample is 400 ms late.
        Sample(clock, TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(401));
        var alone = _time.GetTimestamp();
        Assert.Equal(LocalMs(alone) + Offset + 400 + 750, clock.Deadline(alone, s_timeout)); // alone, it is all there is

        Sample(clock, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2));
        Sample(clock, TimeSpan.FromMilliseconds(3), TimeSpan.FromMilliseconds(5));

        var now = _time.GetTimestamp();
        Assert.Equal(LocalMs(now) + Offset + 1 + 750, clock.Deadline(now, s_timeout));
    }

    [Fact]
    public void Deadline_SlowRoundTripWithSmallerOffset_LosesToAQuickRoundTrip()
    {
        var clock = new ServerClock(_time);
        Sample(clock, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(6));
        // Only a clock step could make a slow round trip give a smaller sample; it is an outlier either way.
        var sent = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(300));
        clock.Observe(sent, _time.GetTimestamp(), LocalMs(sent) + Offset - 200);

        var now = _time.GetTimestamp();
        Assert.Equal(LocalMs(now) + Offset + 5 + 750, clock.Deadline(now, s_timeout));
    }

    [Fact]
    public void Reset_ForgetsTheEstimate()
    {
        var clock = new ServerClock(_time);
        Sample(clock, TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(3));

        clock.Reset();

        Assert.Null(clock.Deadline(_time.GetTimestamp(), s_timeout));
    }

    [Fact]
    public void Observe_OlderThanTwoWindows_IsForgotten()
    {
        var clock = new ServerClock(_time);
        Sample(clock, TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(3));     // first window
        _time.Advance(TimeSpan.FromSeconds(61));
        Sample(clock, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(3));   // next window
        _time.Advance(TimeSpan.FromSeconds(61));
        Sample(clock, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(3));   // the first window is dropped now

        var now = _time.GetTimestamp();
        Assert.Equal(LocalMs(now) + Offset + 500 + 750, clock.Deadline(now, s_timeout));
    }
}
