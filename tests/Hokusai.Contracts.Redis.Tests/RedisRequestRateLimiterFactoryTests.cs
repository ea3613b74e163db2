using System.Threading.RateLimiting;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisRequestRateLimiterFactoryTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task GetPartition_OverTheLimitAcrossTwoInstances_Rejects()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = TestApp.Create(redis.Server.ConnectionString, prefix, contracts: o => o.Quotas.RequestsPerMinute = 3);
        await using var second = TestApp.Create(redis.Server.ConnectionString, prefix, contracts: o => o.Quotas.RequestsPerMinute = 3);
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
