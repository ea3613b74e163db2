using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.Webhooks;

public sealed class WebhookRetryScheduleTests
{
    private static readonly WebhookOptions Defaults = new();

    [Fact]
    public void Step_Attempts_DoublesFromInitialUpToTheCap()
    {
        var steps = Enumerable.Range(1, 12).Select(n => WebhookRetrySchedule.Step(n, Defaults.InitialRetryDelay, Defaults.MaxRetryDelay)).ToList();

        Assert.Equal(TimeSpan.FromSeconds(10), steps[0]);
        Assert.Equal(TimeSpan.FromSeconds(20), steps[1]);
        Assert.Equal(TimeSpan.FromSeconds(40), steps[2]);
        Assert.All(steps.Zip(steps.Skip(1)), pair => Assert.True(pair.Second >= pair.First));
        Assert.Equal(TimeSpan.FromHours(1), steps[^1]);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void Next_Jitter_StaysInTheUpperHalfOfTheStep(double random)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var start = time.GetUtcNow();
        time.Advance(TimeSpan.FromMinutes(3));

        var next = WebhookRetrySchedule.Next(4, start, time.GetUtcNow(), Defaults, random);

        var delay = next!.Value - time.GetUtcNow();
        Assert.InRange(delay, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(80));
    }

    [Fact]
    public void Next_WholeWindow_RetriesUntilMaxAgeThenDies()
    {
        // Every attempt fails; follow the schedule with the clock to the end of the 24 h window.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var start = time.GetUtcNow();
        var attempts = 0;
        var random = new Random(7);
        var delays = new List<TimeSpan>();
        while (true)
        {
            attempts++;
            var next = WebhookRetrySchedule.Next(attempts, start, time.GetUtcNow(), Defaults, random.NextDouble());
            if (next is null)
            {
                break;
            }

            delays.Add(next.Value - time.GetUtcNow());
            time.SetUtcNow(next.Value);
            Assert.True(attempts < 1000, "the schedule must end");
        }

        Assert.Equal(start + Defaults.MaxAge, time.GetUtcNow());
        Assert.All(delays, d => Assert.True(d <= Defaults.MaxRetryDelay));
        Assert.InRange(attempts, 24, 60);
        Assert.True(delays[0] < TimeSpan.FromSeconds(11), "the first retry comes within seconds");
    }

    [Fact]
    public void Next_AfterWindowEnd_ReturnsNull()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var start = time.GetUtcNow();
        time.Advance(TimeSpan.FromHours(24));

        Assert.Null(WebhookRetrySchedule.Next(30, start, time.GetUtcNow(), Defaults, 0.5));
    }

    [Fact]
    public void Next_NearWindowEnd_ClampsToTheDeadline()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var start = time.GetUtcNow();
        time.Advance(TimeSpan.FromHours(24) - TimeSpan.FromMinutes(1));

        Assert.Equal(start + TimeSpan.FromHours(24), WebhookRetrySchedule.Next(20, start, time.GetUtcNow(), Defaults, 0.9));
    }
}
