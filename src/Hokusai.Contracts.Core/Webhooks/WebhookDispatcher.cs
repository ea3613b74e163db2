using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Webhooks;

/// <summary>
/// Delivers the outbox. Runs on every replica; replicas coordinate only through the outbox's claims: an event
/// claimed by one is withheld from the others for <see cref="WebhookOptions.LeaseDuration"/> (longer than an
/// attempt can take), and a result reported under a superseded claim is discarded. A replica killed mid-delivery
/// leaves its claim to expire, and the event is delivered again (at least once, same event id).
/// </summary>
internal sealed partial class WebhookDispatcher(
    IWebhookOutbox outbox,
    WebhookSender sender,
    WebhookMetrics metrics,
    IOptions<HokusaiContractsOptions> options,
    TimeProvider timeProvider,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan StatsInterval = TimeSpan.FromSeconds(5);
    private readonly WebhookOptions _settings = options.Value.Webhooks;
    private IReadOnlyDictionary<string, IReadOnlyList<string>>? _secrets;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_settings.DispatcherEnabled)
        {
            return;
        }

        var nextStats = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await DispatchOnceAsync(stoppingToken).ConfigureAwait(false);
                if (timeProvider.GetUtcNow() >= nextStats)
                {
                    metrics.Report(await outbox.GetStatsAsync(stoppingToken).ConfigureAwait(false));
                    nextStats = timeProvider.GetUtcNow() + StatsInterval;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (StoreUnavailableException ex)
            {
                LogStoreUnavailable(logger, ex.Message);
            }

            // A full batch suggests more are due: go again at once.
            if (claimed < _settings.BatchSize)
            {
                try
                {
                    await Task.Delay(_settings.PollInterval, timeProvider, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Claims the due events and makes one attempt at each. Returns how many were claimed.</summary>
    public async Task<int> DispatchOnceAsync(CancellationToken cancellationToken)
    {
        var leases = await outbox.ClaimDueAsync(_settings.BatchSize, _settings.LeaseDuration, cancellationToken).ConfigureAwait(false);

        // Claimed attempts run to their end even during shutdown (each is bounded by the delivery timeout), so a
        // rolling deploy does not leave claimed events waiting for their claims to expire.
        await Task.WhenAll(leases.Select(lease => AttemptAsync(lease, CancellationToken.None))).ConfigureAwait(false);
        return leases.Count;
    }

    private async Task AttemptAsync(WebhookLease lease, CancellationToken cancellationToken)
    {
        var webhookEvent = lease.Event;
        WebhookAttemptResult result;
        if (!Secrets().TryGetValue(webhookEvent.Owner, out var secrets) || secrets.Count == 0)
        {
            // Kept and retried: a rolling restart with the caller's secret added delivers it within the window.
            result = new WebhookAttemptResult(null, $"No signing secret is configured for caller '{webhookEvent.Owner}' (WEBHOOK_SECRETS).", null);
        }
        else
        {
            result = await sender.SendAsync(webhookEvent, secrets, timeProvider.GetUtcNow().ToUnixTimeSeconds(), cancellationToken).ConfigureAwait(false);
        }

        var now = timeProvider.GetUtcNow();
        var attempts = webhookEvent.Attempts + 1;
        var updated = webhookEvent with
        {
            Attempts = attempts,
            LastAttemptAt = now,
            LastStatusCode = result.StatusCode,
            LastError = result.Error,
            LastResponseBody = result.ResponseBody,
        };

        string outcome;
        if (result.Succeeded)
        {
            updated = updated with { State = WebhookDeliveryState.Delivered, DeliveredAt = now, NextAttemptAt = null };
            outcome = "delivered";
            LogDelivered(logger, webhookEvent.Id, webhookEvent.Type, webhookEvent.JobId, attempts);
        }
        else if (result.Refused)
        {
            updated = updated with { State = WebhookDeliveryState.Dead, NextAttemptAt = null };
            outcome = "refused";
            LogRefused(logger, webhookEvent.Id, webhookEvent.JobId, result.Error);
        }
        else if (WebhookRetrySchedule.Next(attempts, webhookEvent.WindowStartedAt, now, _settings, Random.Shared.NextDouble()) is { } next)
        {
            updated = updated with { NextAttemptAt = next };
            outcome = "failed";
            LogRetrying(logger, webhookEvent.Id, webhookEvent.JobId, attempts, result.Error, next);
        }
        else
        {
            updated = updated with { State = WebhookDeliveryState.Dead, NextAttemptAt = null };
            outcome = "dead";
            LogDead(logger, webhookEvent.Id, webhookEvent.JobId, attempts, result.Error);
        }

        metrics.Delivery(outcome);
        try
        {
            if (!await outbox.CompleteAsync(lease, updated, CancellationToken.None).ConfigureAwait(false))
            {
                LogSuperseded(logger, webhookEvent.Id);
            }
        }
        catch (StoreUnavailableException ex)
        {
            // The claim expires and the event is attempted again: at least once, never lost.
            LogStoreUnavailable(logger, ex.Message);
        }
    }

    private IReadOnlyDictionary<string, IReadOnlyList<string>> Secrets() => _secrets ??= _settings.ParseSecrets();

    [LoggerMessage(1, LogLevel.Information, "Webhook {EventId} ({EventType}) of job {JobId} delivered after {Attempts} attempt(s)")]
    private static partial void LogDelivered(ILogger logger, Guid eventId, string eventType, Guid jobId, int attempts);

    [LoggerMessage(2, LogLevel.Warning, "Webhook {EventId} of job {JobId} attempt {Attempts} failed ({Reason}); next attempt at {NextAttemptAt:o}")]
    private static partial void LogRetrying(ILogger logger, Guid eventId, Guid jobId, int attempts, string? reason, DateTimeOffset nextAttemptAt);

    [LoggerMessage(3, LogLevel.Error, "Webhook {EventId} of job {JobId} is dead after {Attempts} attempt(s): {Reason}")]
    private static partial void LogDead(ILogger logger, Guid eventId, Guid jobId, int attempts, string? reason);

    [LoggerMessage(4, LogLevel.Error, "Webhook {EventId} of job {JobId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, Guid eventId, Guid jobId, string? reason);

    [LoggerMessage(5, LogLevel.Warning, "Webhook {EventId}: the result of this attempt was discarded, the event was claimed again meanwhile")]
    private static partial void LogSuperseded(ILogger logger, Guid eventId);

    [LoggerMessage(6, LogLevel.Warning, "Webhook dispatcher: the outbox is unavailable ({Reason})")]
    private static partial void LogStoreUnavailable(ILogger logger, string reason);
}
