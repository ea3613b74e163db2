using Hokusai.Contracts.InMemory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.InMemory;

public sealed class InMemoryDeploymentQuotaTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private InMemoryDeploymentQuota Create(int perHour = 5, int perDay = 20) =>
        new(Options.Create(new HokusaiContractsOptions { Quotas = { PerHour = perHour, PerDay = perDay } }), _time);

    [Fact]
    public async Task TryAcquireAsync_SixthWithinAnHour_IsDeniedWithResetOfTheOldest()
    {
        var quota = Create();
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await quota.TryAcquireAsync("alice", default)).Allowed);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        var denied = await quota.TryAcquireAsync("alice", default);

        Assert.False(denied.Allowed);
        Assert.Equal(5, denied.Limit);
        Assert.Equal(0, denied.Remaining);
        Assert.Equal(TimeSpan.FromMinutes(55), denied.ResetAfter);
        Assert.True((await quota.TryAcquireAsync("bob", default)).Allowed);
    }

    [Fact]
    public async Task TryAcquireAsync_OldestLeavesTheHour_AllowsAgain()
    {
        var quota = Create();
        for (var i = 0; i < 5; i++)
        {
            await quota.TryAcquireAsync("alice", default);
        }

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));

        Assert.True((await quota.TryAcquireAsync("alice", default)).Allowed);
    }

    [Fact]
    public async Task TryAcquireAsync_TwentyOneInADay_IsDeniedByTheDayWindow()
    {
        var quota = Create();
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await quota.TryAcquireAsync("alice", default)).Allowed);
            _time.Advance(TimeSpan.FromMinutes(61));
        }

        var denied = await quota.TryAcquireAsync("alice", default);

        Assert.False(denied.Allowed);
        Assert.Equal("day", denied.Window);
        Assert.Equal(20, denied.Limit);
    }

    [Fact]
    public async Task RefundAsync_AfterAcquire_GivesTheUnitBack()
    {
        var quota = Create(perHour: 1);
        await quota.TryAcquireAsync("alice", default);
        await quota.RefundAsync("alice", default);

        Assert.True((await quota.TryAcquireAsync("alice", default)).Allowed);
    }

    [Fact]
    public async Task TryAcquireAsync_Allowed_ReportsRemainingOfTightestWindow()
    {
        var quota = Create();
        var first = await quota.TryAcquireAsync("alice", default);

        Assert.Equal(4, first.Remaining);
        Assert.Equal("hour", first.Window);
    }
}
