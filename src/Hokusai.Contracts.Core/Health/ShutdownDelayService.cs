using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Health;

/// <summary>
/// Holds the host's shutdown for <see cref="HokusaiHealthCheckOptions.ShutdownDelay"/> after
/// <c>ApplicationStopping</c>: the host runs every <see cref="IHostedLifecycleService.StoppingAsync"/>
/// before it stops any hosted service, so the web server keeps answering (readiness with 503) until
/// the delay is over, instead of refusing connections the moment the signal arrives.
/// </summary>
internal sealed class ShutdownDelayService(IOptions<HokusaiHealthCheckOptions> options, IHostApplicationLifetime lifetime, TimeProvider timeProvider) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var delay = options.Value.ShutdownDelay;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        // A signal fires ApplicationStopping before this runs, but a direct StopAsync runs this first:
        // either way readiness must fail for the whole delay.
        lifetime.StopApplication();
        try
        {
            await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out: stop now.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
