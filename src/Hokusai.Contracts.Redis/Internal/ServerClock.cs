namespace Hokusai.Contracts.Redis;

/// <summary>
/// Estimates the Redis server's clock from this process's monotonic clock, so a deadline can be written in the
/// server's time without trusting the two wall clocks to agree. A sample is (server time − local send time): the
/// true offset plus the delay before the server read its clock, never less. The smallest sample is the best
/// estimate, so the deadline errs late (never refusing a timely script). A sample whose round trip took longer
/// than <see cref="MaxSampleRoundTrip"/> says little (a cold first call, a paused process) and is discarded when
/// a better one exists; warming up takes several samples before the first request, so one slow call cannot set
/// the estimate. Samples age out after two minutes, so a server clock step is forgotten.
/// </summary>
internal sealed class ServerClock(TimeProvider monotonic)
{
    /// <summary>Round trips longer than this give samples used only while nothing better is known.</summary>
    internal static readonly TimeSpan MaxSampleRoundTrip = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private long _windowStart = -1;
    private Sample? _current;
    private Sample? _previous;

    public ServerClock()
        : this(TimeProvider.System)
    {
    }

    /// <summary>The monotonic clock the timestamps passed in come from.</summary>
    public TimeProvider Monotonic => monotonic;

    /// <summary>True once a sample exists.</summary>
    public bool HasEstimate
    {
        get
        {
            lock (_gate)
            {
                return _current is not null || _previous is not null;
            }
        }
    }

    /// <summary>The server-clock deadline (ms) of a call sent at <paramref name="sentTimestamp"/>, or null while nothing is known.</summary>
    public long? Deadline(long sentTimestamp, TimeSpan timeout)
    {
        Sample? best;
        lock (_gate)
        {
            best = Better(_current, _previous);
        }

        return best is { } known ? LocalMilliseconds(sentTimestamp) + known.Offset + (long)timeout.TotalMilliseconds : null;
    }

    /// <summary>Records the server's clock (ms) as read by a call sent at <paramref name="sentTimestamp"/> and answered at <paramref name="receivedTimestamp"/>.</summary>
    public void Observe(long sentTimestamp, long receivedTimestamp, long serverMilliseconds)
    {
        var sample = new Sample(
            serverMilliseconds - LocalMilliseconds(sentTimestamp),
            monotonic.GetElapsedTime(sentTimestamp, receivedTimestamp) > MaxSampleRoundTrip);
        lock (_gate)
        {
            if (_windowStart < 0 || monotonic.GetElapsedTime(_windowStart, sentTimestamp) > s_window)
            {
                _previous = _current;
                _current = null;
                _windowStart = sentTimestamp;
            }

            _current = Better(_current, sample);
        }
    }

    /// <summary>Forgets the estimate: the next call sends no deadline and samples afresh.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _current = null;
            _previous = null;
            _windowStart = -1;
        }
    }

    /// <summary>A sample from a quick round trip beats a slow one; between two of the same kind, the smaller offset.</summary>
    private static Sample? Better(Sample? a, Sample? b) => (a, b) switch
    {
        (null, var other) => other,
        (var other, null) => other,
        ({ } x, { } y) when x.Slow != y.Slow => x.Slow ? y : x,
        ({ } x, { } y) => x.Offset <= y.Offset ? x : y,
    };

    private long LocalMilliseconds(long timestamp) => timestamp / Math.Max(1, monotonic.TimestampFrequency / 1000);

    private readonly record struct Sample(long Offset, bool Slow);
}
