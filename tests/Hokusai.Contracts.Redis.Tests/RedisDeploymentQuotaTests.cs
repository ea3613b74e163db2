using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisDeploymentQuotaTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private readonly CancellationToken _ct = CancellationToken.None;

    [Fact]
    public async Task TryAcquireAsync_SixthInAnHour_IsDenied()
    {
        var time = new FakeTimeProvider(Jobs.Epoch);
        await using var app = TestApp.Create(redis.Server.ConnectionString, time: time);

        for (var i = 1; i <= 5; i++)
        {
            var decision = await app.Quota.TryAcquireAsync("alice", _ct);
            Assert.True(decision.Allowed);
            Assert.Equal("hour", decision.Window);
            Assert.Equal(5, decision.Limit);
            Assert.Equal(5 - i, decision.Remaining);
            time.Advance(TimeSpan.FromMinutes(1));
        }

        var denied = await app.Quota.TryAcquireAsync("alice", _ct);

        Assert.False(denied.Allowed);
        Assert.Equal("hour", denied.Window);
        Assert.Equal(0, denied.Remaining);
        // The first unit (taken 5 minutes ago) frees the window 55 minutes from now.
        Assert.Equal(TimeSpan.FromMinutes(55), denied.ResetAfter);
        Assert.True((await app.Quota.TryAcquireAsync("bob", _ct)).Allowed);
    }

    [Fact]
    public async Task TryAcquireAsync_TwoInstancesOnOneRedis_ShareTheQuota()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = TestApp.Create(redis.Server.ConnectionString, prefix);
        await using var second = TestApp.Create(redis.Server.ConnectionString, prefix);

        var decisions = new List<QuotaDecision>();
        for (var i = 0; i < 6; i++)
        {
            decisions.Add(await (i % 2 == 0 ? first : second).Quota.TryAcquireAsync("carol", _ct));
        }

        Assert.All(decisions.Take(5), d => Assert.True(d.Allowed));
        Assert.False(decisions[5].Allowed);
        Assert.False((await first.Quota.TryAcquireAsync("carol", _ct)).Allowed);
    }

    [Fact]
    public async Task TryAcquireAsync_ConcurrentFromTwoInstances_NeverExceedsLimit()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = TestApp.Create(redis.Server.ConnectionString, prefix);
        await using var second = TestApp.Create(redis.Server.ConnectionString, prefix);

        var decisions = await Task.WhenAll(Enumerable.Range(0, 30)
            .Select(i => (i % 2 == 0 ? first : second).Quota.TryAcquireAsync("dave", _ct)));

        Assert.Equal(5, decisions.Count(d => d.Allowed));
    }

    [Fact]
    public async Task TryAcquireAsync_DayWindow_DeniesTwentyFirst()
    {
        var time = new FakeTimeProvider(Jobs.Epoch);
        await using var app = TestApp.Create(redis.Server.ConnectionString, time: time);

        for (var i = 1; i <= 20; i++)
        {
            Assert.True((await app.Quota.TryAcquireAsync("erin", _ct)).Allowed, $"unit {i}");
            time.Advance(TimeSpan.FromMinutes(13));
        }

        // 20 units within 260 minutes: the hour window has room again, the day window has none.
        var denied = await app.Quota.TryAcquireAsync("erin", _ct);

        Assert.False(denied.Allowed);
        Assert.Equal("day", denied.Window);
        Assert.Equal(20, denied.Limit);
        Assert.Equal(TimeSpan.FromDays(1) - TimeSpan.FromMinutes(260), denied.ResetAfter);

        time.Advance(denied.ResetAfter);
        Assert.True((await app.Quota.TryAcquireAsync("erin", _ct)).Allowed);
    }

    [Fact]
    public async Task TryAcquireAsync_AfterAnHour_WindowSlides()
    {
        var time = new FakeTimeProvider(Jobs.Epoch);
        await using var app = TestApp.Create(redis.Server.ConnectionString, time: time);
        for (var i = 0; i < 5; i++)
        {
            await app.Quota.TryAcquireAsync("frank", _ct);
        }

        time.Advance(TimeSpan.FromHours(1));
        var decision = await app.Quota.TryAcquireAsync("frank", _ct);

        Assert.True(decision.Allowed);
        Assert.Equal(4, decision.Remaining);
        Assert.Equal(TimeSpan.FromHours(1), decision.ResetAfter);
    }

    [Fact]
    public async Task RefundAsync_GivesBackTheLastUnit()
    {
        var time = new FakeTimeProvider(Jobs.Epoch);
        await using var app = TestApp.Create(redis.Server.ConnectionString, time: time);
        for (var i = 0; i < 5; i++)
        {
            await app.Quota.TryAcquireAsync("gina", _ct);
        }

        await app.Quota.RefundAsync("gina", _ct);
        var again = await app.Quota.TryAcquireAsync("gina", _ct);

        Assert.True(again.Allowed);
        Assert.Equal(0, again.Remaining);
        Assert.False((await app.Quota.TryAcquireAsync("gina", _ct)).Allowed);
    }

    [Fact]
    public async Task TryAcquireAsync_ConfiguredLimits_AreUsed()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString, contracts: o =>
        {
            o.Quotas.PerHour = 2;
            o.Quotas.PerDay = 3;
        });

        var first = await app.Quota.TryAcquireAsync("hank", _ct);
        Assert.Equal(("hour", 2, 1), (first.Window, first.Limit, first.Remaining));
        await app.Quota.TryAcquireAsync("hank", _ct);
        Assert.False((await app.Quota.TryAcquireAsync("hank", _ct)).Allowed);
    }
}
