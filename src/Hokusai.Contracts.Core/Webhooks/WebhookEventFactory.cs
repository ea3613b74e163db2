using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Webhooks;

/// <summary>
/// Builds the event a status change raises, for a store to write atomically with that change. A job raises
/// an event when it enters a final status and has a receiver: its request's <c>callbackUrl</c>, else its
/// owner's configured endpoint.
/// </summary>
public sealed class WebhookEventFactory(IOptions<HokusaiContractsOptions> options, IWebhookPayloadFormatter formatter, TimeProvider timeProvider)
{
    /// <summary>The event <paramref name="job"/> raises on entering its status, or null for none.</summary>
    public WebhookEvent? ForTransition(DeploymentJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (WebhookEventTypes.For(job.Status) is not { } type || TargetFor(job) is not { } url)
        {
            return null;
        }

        var id = Guid.NewGuid();
        var now = timeProvider.GetUtcNow();
        return new WebhookEvent
        {
            Id = id,
            JobId = job.Id,
            Owner = job.Owner,
            Type = type,
            Url = url,
            Payload = formatter.Format(id, type, now, job),
            CreatedAt = now,
            WindowStartedAt = now,
            NextAttemptAt = now,
        };
    }

    private string? TargetFor(DeploymentJob job) =>
        job.Request.CallbackUrl
        ?? (options.Value.Webhooks.Endpoints.TryGetValue(job.Owner, out var url) ? url : null);
}
