using System.Diagnostics;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Health;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Tests.Health;

public sealed class CachedProbeTests
{
    private static readonly TimeSpan TwoSeconds = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task GetAsync_WithinCacheDuration_ReusesResult()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var probe = new CachedProbe<int>(_ => Task.FromResult(Interlocked.Increment(ref calls)), time, TwoSeconds, TwoSeconds);

        var first = await probe.GetAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(1999));
        var second = await probe.GetAsync(CancellationToken.None);

        Assert.Equal(1, first.Value);
        Assert.Equal(1, second.Value);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task GetAsync_AfterCacheDuration_ProbesAgain()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var probe = new CachedProbe<int>(_ => Task.FromResult(Interlocked.Increment(ref calls)), time, TwoSeconds, TwoSeconds);

        await probe.GetAsync(CancellationToken.None);
        time.Advance(TwoSeconds);
        var again = await probe.GetAsync(CancellationToken.None);

        Assert.Equal(2, again.Value);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task GetAsync_WallClockStepsBack_ProbesAgainAfterCacheDuration()
    {
        var time = new WallClockStepper(new FakeTimeProvider());
        var calls = 0;
        var probe = new CachedProbe<int>(_ => Task.FromResult(Interlocked.Increment(ref calls)), time, TwoSeconds, TwoSeconds);

        await probe.GetAsync(CancellationToken.None);
        // NTP or an operator sets the clock an hour back while two seconds pass.
        time.Step(TimeSpan.FromHours(-1));
        time.Inner.Advance(TwoSeconds);
        var again = await probe.GetAsync(CancellationToken.None);

        Assert.Equal(2, again.Value);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task GetAsync_WallClockStepsForward_ReusesResultWithinCacheDuration()
    {
        var time = new WallClockStepper(new FakeTimeProvider());
        var calls = 0;
        var probe = new CachedProbe<int>(_ => Task.FromResult(Interlocked.Increment(ref calls)), time, TwoSeconds, TwoSeconds);

        var first = await probe.GetAsync(CancellationToken.None);
        time.Step(TimeSpan.FromHours(1));
        time.Inner.Advance(TimeSpan.FromSeconds(1));
        var second = await probe.GetAsync(CancellationToken.None);

        Assert.Same(first, second);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task GetAsync_ProbeHangsIgnoringCancellation_TimesOutAtTheTimeoutOnInjectedTime()
    {
        var time = new FakeTimeProvider();
        var invoked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new CachedProbe<int>(_ => { invoked.TrySetResult(); return new TaskCompletionSource<int>().Task; }, time, TwoSeconds, TwoSeconds);

        var run = probe.GetAsync(CancellationToken.None);
        // The deadline is armed before the probe is invoked, so advancing from here on reaches it.
        await invoked.Task.WaitAsync(TimeSpan.FromSeconds(60));
        time.Advance(TwoSeconds);
        var result = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.TimedOut);
        Assert.Equal(TwoSeconds, result.Duration);
    }

    [Fact]
    public async Task GetAsync_ZeroCacheDuration_ProbesEveryTime()
    {
        var calls = 0;
        var probe = new CachedProbe<int>(_ => Task.FromResult(Interlocked.Increment(ref calls)), new FakeTimeProvider(), TwoSeconds, TimeSpan.Zero);

        await probe.GetAsync(CancellationToken.None);
        await probe.GetAsync(CancellationToken.None);

        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task GetAsync_ConcurrentCallers_ShareOneRun()
    {
        var calls = 0;
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new CachedProbe<int>(_ => { Interlocked.Increment(ref calls); return gate.Task; }, TimeProvider.System, TwoSeconds, TwoSeconds);

        var waiting = Enumerable.Range(0, 20).Select(_ => probe.GetAsync(CancellationToken.None)).ToArray();
        gate.SetResult(7);
        var results = await Task.WhenAll(waiting);

        Assert.All(results, r => Assert.Equal(7, r.Value));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task GetAsync_ProbeIgnoresCancellationAndHangs_FailsAtTimeout()
    {
        var probe = new CachedProbe<int>(_ => new TaskCompletionSource<int>().Task, TimeProvider.System, TimeSpan.FromMilliseconds(300), TwoSeconds);

        var sw = Stopwatch.StartNew();
        var result = await probe.GetAsync(CancellationToken.None);
        sw.Stop();

        Assert.False(result.Succeeded);
        Assert.True(result.TimedOut);
        Assert.Contains("timed out", result.Error, StringComparison.Ordinal);
        Assert.InRange(sw.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task GetAsync_ProbeBlocksSynchronously_StillFailsAtTimeout()
    {
        using var release = new ManualResetEventSlim();
        var probe = new CachedProbe<int>(_ => { release.Wait(TimeSpan.FromSeconds(10), CancellationToken.None); return Task.FromResult(1); }, TimeProvider.System, TimeSpan.FromMilliseconds(300), TwoSeconds);

        var sw = Stopwatch.StartNew();
        var result = await probe.GetAsync(CancellationToken.None);
        release.Set();

        Assert.True(result.TimedOut);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task GetAsync_Failure_IsCachedLikeSuccess()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var probe = new CachedProbe<int>(_ => { Interlocked.Increment(ref calls); throw new ChainException(ChainErrorKind.Transient, "node down"); }, time, TwoSeconds, TwoSeconds);

        var first = await probe.GetAsync(CancellationToken.None);
        var second = await probe.GetAsync(CancellationToken.None);

        Assert.False(first.Succeeded);
        Assert.Same(first, second);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task GetAsync_ChainErrorWithUrl_DescriptionOmitsUrl()
    {
        var probe = new CachedProbe<int>(
            _ => throw new ChainException(ChainErrorKind.Transient, "POST https://mainnet.example/v3/secretprojectkey failed"),
            new FakeTimeProvider(), TwoSeconds, TwoSeconds);

        var result = await probe.GetAsync(CancellationToken.None);

        Assert.Contains("Transient", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("secretprojectkey", result.Error, StringComparison.Ordinal);
        Assert.Contains("<url>", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_UnknownException_DescribesTypeOnly()
    {
        var probe = new CachedProbe<int>(
            _ => throw new InvalidOperationException("password=hunter2hunter2"),
            new FakeTimeProvider(), TwoSeconds, TwoSeconds);

        var result = await probe.GetAsync(CancellationToken.None);

        Assert.Equal(nameof(InvalidOperationException), result.Error);
    }

    [Fact]
    public async Task GetAsync_CallerCancels_OthersStillGetTheResult()
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new CachedProbe<int>(_ => gate.Task, TimeProvider.System, TwoSeconds, TwoSeconds);
        using var cts = new CancellationTokenSource();

        var cancelled = probe.GetAsync(cts.Token);
        var other = probe.GetAsync(CancellationToken.None);
        await cts.CancelAsync();
        gate.SetResult(3);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(3, (await other).Value);
    }

    /// <summary>A clock whose wall time can be stepped while its monotonic timestamp and timers keep going.</summary>
    private sealed class WallClockStepper(FakeTimeProvider inner) : TimeProvider
    {
        private TimeSpan _offset;

        public FakeTimeProvider Inner => inner;

        public void Step(TimeSpan by) => _offset += by;

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + _offset;

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(callback, state, dueTime, period);
    }
}
