namespace Hokusai.Contracts.Webhooks;

/// <summary>
/// When a failed delivery is tried again: exponential backoff from <see cref="WebhookOptions.InitialRetryDelay"/>
/// (doubling per attempt, capped at <see cref="WebhookOptions.MaxRetryDelay"/>) with "equal jitter" (a random
/// point in the upper half of the step, so replicas that failed together spread out), never past the end of the
/// delivery window (<see cref="WebhookOptions.MaxAge"/> after it started). A failure at or after the window's end
/// is final: the event is dead.
/// </summary>
internal static class WebhookRetrySchedule
{
    /// <summary>The un-jittered step after <paramref name="attempts"/> failed attempts (1-based).</summary>
    public static TimeSpan Step(int attempts, TimeSpan initial, TimeSpan max)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 40);
        var ticks = initial.Ticks * Math.Pow(2, exponent);
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// The next attempt after the <paramref name="attempts"/>-th failed at <paramref name="now"/>, or null when the
    /// event is dead. <paramref name="random"/> is a value in [0, 1).
    /// </summary>
    public static DateTimeOffset? Next(int attempts, DateTimeOffset windowStartedAt, DateTimeOffset now, WebhookOptions options, double random)
    {
        ArgumentNullException.ThrowIfNull(options);
        var deadline = windowStartedAt + options.MaxAge;
        if (now >= deadline)
        {
            return null;
        }

        var step = Step(attempts, options.InitialRetryDelay, options.MaxRetryDelay);
        var delay = TimeSpan.FromTicks(step.Ticks / 2 + (long)(step.Ticks / 2 * Math.Clamp(random, 0, 1)));
        var next = now + delay;
        return next < deadline ? next : deadline;
    }
}
