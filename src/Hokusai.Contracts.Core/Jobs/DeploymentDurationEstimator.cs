using Microsoft.Extensions.Options;

namespace Hokusai.Contracts;

/// <summary>
/// How long a deployment takes from acceptance to completion, as this process measured it: the median of the
/// last <see cref="SampleSize"/> completed jobs (the job engine reports each one), and
/// <see cref="JobEngineOptions.EstimatedCompletionSeconds"/> until the first completes. A median, so one job held
/// back for long (a gas price above the cap, an RPC outage) does not inflate the estimates that follow it.
/// </summary>
/// <remarks>Kept in memory per process: each replica learns from the jobs it completed.</remarks>
internal sealed class DeploymentDurationEstimator
{
    /// <summary>How many recent completions the estimate is taken from.</summary>
    public const int SampleSize = 20;

    private readonly Lock _gate = new();
    private readonly TimeSpan[] _recent = new TimeSpan[SampleSize];
    private readonly IOptions<HokusaiContractsOptions> _options;
    private int _count;
    private int _next;

    /// <summary>Creates an estimator that falls back to the configured estimate.</summary>
    /// <param name="options">The options holding <see cref="JobEngineOptions.EstimatedCompletionSeconds"/>.</param>
    public DeploymentDurationEstimator(IOptions<HokusaiContractsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>The expected time from acceptance to completion.</summary>
    public TimeSpan Estimate
    {
        get
        {
            TimeSpan[] samples;
            lock (_gate)
            {
                if (_count == 0)
                {
                    return TimeSpan.FromSeconds(_options.Value.Jobs.EstimatedCompletionSeconds);
                }

                samples = _recent[.._count];
            }

            Array.Sort(samples);
            var middle = samples.Length / 2;
            return samples.Length % 2 == 1 ? samples[middle] : (samples[middle - 1] + samples[middle]) / 2;
        }
    }


    /// <summary>Records a completed job's time from acceptance to completion; the oldest of the sample makes room.</summary>
    /// <param name="duration">Acceptance to completion; negative values (clock steps) are ignored.</param>
    public void RecordCompleted(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            return;
        }

        lock (_gate)
        {
            _recent[_next] = duration;
            _next = (_next + 1) % SampleSize;
            _count = Math.Min(_count + 1, SampleSize);
        }
    }
}
