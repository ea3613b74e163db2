using System.Text.Json.Serialization;

namespace Hokusai.Contracts.Webhooks;

/// <summary>The webhook event types: one per final status.</summary>
internal static class WebhookEventTypes
{
    /// <summary>The token was deployed, registered (and minted); the payload carries <c>tokenDetails</c>.</summary>
    public const string Completed = "deployment.completed";

    /// <summary>The deployment failed; the payload carries the <c>error</c> block.</summary>
    public const string Failed = "deployment.failed";

    /// <summary>The owner cancelled the deployment while it was pending.</summary>
    public const string Cancelled = "deployment.cancelled";

    /// <summary>The event type of a final status, or null for a status that raises none.</summary>
    public static string? For(DeploymentStatus status) => status switch
    {
        DeploymentStatus.Completed => Completed,
        DeploymentStatus.Failed => Failed,
        DeploymentStatus.Cancelled => Cancelled,
        _ => null,
    };
}

/// <summary>Where an outbox event stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WebhookDeliveryState>))]
public enum WebhookDeliveryState
{
    /// <summary>Waiting for its first or next attempt.</summary>
    Pending,
    /// <summary>The receiver answered 2xx.</summary>
    Delivered,
    /// <summary>Not delivered within the maximum age (or refused for good); kept for inspection and redelivery.</summary>
    Dead,
}

/// <summary>
/// One webhook event in the outbox. It is written by the store in the same atomic step as the status
/// change that causes it; the payload is fixed then, so every attempt sends the same bytes.
/// </summary>
public sealed record WebhookEvent
{
    /// <summary>The event id, sent as <c>Hokusai-Event-Id</c> and in the payload; receivers de-duplicate on it.</summary>
    public required Guid Id { get; init; }

    /// <summary>The job whose status change raised the event.</summary>
    public required Guid JobId { get; init; }

    /// <summary>The job's owner: whose endpoint and signing secret apply.</summary>
    public required string Owner { get; init; }

    /// <summary>One of <see cref="WebhookEventTypes"/>.</summary>
    public required string Type { get; init; }

    /// <summary>The receiver's URL.</summary>
    public required string Url { get; init; }

    /// <summary>The exact request body (JSON) sent on every attempt.</summary>
    public required string Payload { get; init; }

    /// <summary>When the event was raised (the status change).</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Start of the current delivery window (<see cref="CreatedAt"/>, or the last redelivery request).</summary>
    public required DateTimeOffset WindowStartedAt { get; init; }

    /// <summary>Where delivery stands.</summary>
    public WebhookDeliveryState State { get; init; } = WebhookDeliveryState.Pending;

    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; init; }

    /// <summary>When the next attempt is due (pending only).</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>When the last attempt was made.</summary>
    public DateTimeOffset? LastAttemptAt { get; init; }

    /// <summary>HTTP status of the last attempt, when the receiver answered.</summary>
    public int? LastStatusCode { get; init; }

    /// <summary>Why the last attempt failed, when it did (never contains the secret).</summary>
    public string? LastError { get; init; }

    /// <summary>The start of the receiver's last response body, at most 1 KB.</summary>
    public string? LastResponseBody { get; init; }

    /// <summary>When a receiver accepted the event.</summary>
    public DateTimeOffset? DeliveredAt { get; init; }
}

/// <summary>An event claimed by one dispatcher; <see cref="Token"/> fences its result against later claims.</summary>
/// <param name="Event">The event as claimed.</param>
/// <param name="Token">The claim's token; a completion with an older token is discarded.</param>
public sealed record WebhookLease(WebhookEvent Event, long Token);

/// <summary>Outbox figures for health and metrics.</summary>
/// <param name="Pending">Events waiting for delivery.</param>
/// <param name="OldestPendingCreatedAt">Start of the delivery window of the oldest pending event (its creation, or its last redelivery request), if any.</param>
public sealed record WebhookOutboxStats(long Pending, DateTimeOffset? OldestPendingCreatedAt);

/// <summary>The outcome of <see cref="IWebhookOutbox.RedeliverAsync"/>.</summary>
public enum RedeliverOutcome
{
    /// <summary>The event is pending again and due now.</summary>
    Scheduled,
    /// <summary>No such event for this job.</summary>
    NotFound,
    /// <summary>A dispatcher is delivering it right now; its result decides.</summary>
    InFlight,
}

/// <summary>
/// The webhook outbox, kept by the same backend as the <see cref="Backends.IDeploymentStore"/>: the store's update
/// writes an event in the same atomic step as the final status that raises it. Every replica's dispatcher
/// claims due events here; a claim is a lease, so two dispatchers never deliver one event at once.
/// </summary>
public interface IWebhookOutbox
{
    /// <summary>Claims up to <paramref name="max"/> due events for <paramref name="leaseFor"/>: no other claim gets them meanwhile.</summary>
    Task<IReadOnlyList<WebhookLease>> ClaimDueAsync(int max, TimeSpan leaseFor, CancellationToken cancellationToken);

    /// <summary>
    /// Records an attempt's result (<paramref name="updated"/>: delivered, dead, or pending with its next attempt)
    /// and ends the lease. Returns false, writing nothing, when the lease was superseded.
    /// </summary>
    Task<bool> CompleteAsync(WebhookLease lease, WebhookEvent updated, CancellationToken cancellationToken);

    /// <summary>The job's events, oldest first.</summary>
    Task<IReadOnlyList<WebhookEvent>> ListAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>Makes an event of the job pending and due now with a fresh delivery window.</summary>
    Task<(RedeliverOutcome Outcome, WebhookEvent? Event)> RedeliverAsync(Guid jobId, Guid eventId, CancellationToken cancellationToken);

    /// <summary>Pending count and the oldest pending event's age.</summary>
    Task<WebhookOutboxStats> GetStatsAsync(CancellationToken cancellationToken);
}
