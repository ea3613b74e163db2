using System.Threading.RateLimiting;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisRequestRateLimiterFactoryTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task GetPartition_OverTheLimitAcrossTwoInstances_Rejects()
    {
        var prefix = TestApp.NewPrefix();
        var time = Clocks.MidMinute();
        await using var first = TestApp.Create(redis.Server.ConnectionString, prefix, time: time, contracts: o => o.Quotas.RequestsPerMinute = 3);
        await using var second = TestApp.Create(redis.Server.ConnectionString, prefix, time: time, contracts: o => o.Quotas.RequestsPerMinute = 3);
        using var firstLimiter = PartitionedRateLimiter.Create<string, string>(first.RateLimiters.GetPartition);
        using var secondLimiter = PartitionedRateLimiter.Create<string, string>(second.RateLimiters.GetPartition);

        var acquired = new List<bool>();
        for (var i = 0; i < 4; i++)
        {
            using var lease = await (i % 2 == 0 ? firstLimiter : secondLimiter).AcquireAsync("caller-1");
            acquired.Add(lease.IsAcquired);
        }

        Assert.Equal([true, true, true, false], acquired);
        using var otherCaller = await firstLimiter.AcquireAsync("caller-2");
        Assert.True(otherCaller.IsAcquired);
    }

    [Fact]
    public async Task GetPartition_LimitZero_DoesNotLimit()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, contracts: o => o.Quotas.RequestsPerMinute = 0);
        using var limiter = PartitionedRateLimiter.Create<string, string>(app.RateLimiters.GetPartition);

        for (var i = 0; i < 50; i++)
        {
            using var lease = limiter.AttemptAcquire("caller");
            Assert.True(lease.IsAcquired);
        }
    }
}

public sealed class RedisRequestRateLimiterBatchingTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task AcquireAsync_FarBelowTheLimit_CountsLocallyAndSyncsInOneCommand()
    {
        var time = Clocks.MidMinute();
        await using var app = TestApp.Create(redis.Server.ConnectionString, time: time, contracts: o => o.Quotas.RequestsPerMinute = 100_000);
        using var limiter = PartitionedRateLimiter.Create<string, string>(app.RateLimiters.GetPartition);
        var factory = (RedisRequestRateLimiterFactory)app.RateLimiters;
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await factory.SyncAllAsync(CancellationToken.None);
        var before = await EvalCallsAsync(server);

        for (var i = 0; i < 1_000; i++)
        {
            using var lease = await limiter.AcquireAsync("busy-caller");
            Assert.True(lease.IsAcquired);
        }

        await factory.SyncAllAsync(CancellationToken.None);
        var scripts = await EvalCallsAsync(server) - before;

        // 1,000 requests cost a handful of scripts (the background sync may run once or twice meanwhile), not 1,000.
        Assert.InRange(scripts, 1, 10);
        var window = time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000;
        var counted = await app.Database.StringGetAsync(app.Keys.RateLimitWindow("busy-caller", window));
        Assert.Equal(1_000, (long)counted);
    }

    [Fact]
    public async Task AcquireAsync_TwoReplicasNearTheLimit_NeverAdmitMoreThanTheLimit()
    {
        var prefix = TestApp.NewPrefix();
        var time = Clocks.MidMinute();
        await using var first = TestApp.Create(redis.Server.ConnectionString, prefix, time: time, contracts: o => o.Quotas.RequestsPerMinute = 40);
        await using var second = TestApp.Create(redis.Server.ConnectionString, prefix, time: time, contracts: o => o.Quotas.RequestsPerMinute = 40);
        using var a = PartitionedRateLimiter.Create<string, string>(first.RateLimiters.GetPartition);
        using var b = PartitionedRateLimiter.Create<string, string>(second.RateLimiters.GetPartition);

        var admitted = 0;
        for (var i = 0; i < 100; i++)
        {
            using var lease = await (i % 2 == 0 ? a : b).AcquireAsync("shared-caller");
            admitted += lease.IsAcquired ? 1 : 0;
        }

        // Each replica admits at most a quarter of what it last saw remaining before asking Redis again.
        Assert.InRange(admitted, 30, 40);
    }

    private static async Task<long> EvalCallsAsync(StackExchange.Redis.IServer server)
    {
        var info = await server.InfoAsync("commandstats");
        long calls = 0;
        foreach (var pair in info.SelectMany(group => group).Where(pair => pair.Key is "cmdstat_evalsha" or "cmdstat_eval"))
        {
            var field = pair.Value.Split(',')[0];
            calls += long.Parse(field["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        }

        return calls;
    }
}
