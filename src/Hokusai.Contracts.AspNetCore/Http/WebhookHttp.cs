using System.Text.Json;
using System.Text.Json.Serialization;
using Hokusai.Contracts.AspNetCore.Authentication;
using Hokusai.Contracts.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary><c>data</c> of <c>GET /api/deployments/{id}/events</c>.</summary>
internal sealed record DeploymentEventsData(Guid RequestId, IReadOnlyList<WebhookEventData> Events);

/// <summary>One event and where its delivery stands.</summary>
internal sealed class WebhookEventData
{
    public required Guid EventId { get; init; }

    public required string Type { get; init; }

    public required string Url { get; init; }

    /// <summary><c>pending</c>, <c>delivered</c> or <c>dead</c>.</summary>
    public required string State { get; init; }

    public required DateTime CreatedAt { get; init; }

    public required int Attempts { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? NextAttemptAt { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? LastAttemptAt { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? LastResponseCode { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LastError { get; init; }

    /// <summary>The start of the receiver's last answer (at most 1 KB).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LastResponseBody { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? DeliveredAt { get; init; }

    public static WebhookEventData From(WebhookEvent e) => new()
    {
        EventId = e.Id,
        Type = e.Type,
        Url = e.Url,
        State = e.State switch
        {
            WebhookDeliveryState.Delivered => "delivered",
            WebhookDeliveryState.Dead => "dead",
            _ => "pending",
        },
        CreatedAt = e.CreatedAt.UtcDateTime,
        Attempts = e.Attempts,
        NextAttemptAt = e.State == WebhookDeliveryState.Pending ? e.NextAttemptAt?.UtcDateTime : null,
        LastAttemptAt = e.LastAttemptAt?.UtcDateTime,
        LastResponseCode = e.LastStatusCode,
        LastError = e.LastError,
        LastResponseBody = e.LastResponseBody,
        DeliveredAt = e.DeliveredAt?.UtcDateTime,
    };
}

/// <summary>The body of a webhook delivery as the API writes it.</summary>
internal sealed record WebhookPayload(Guid EventId, string Type, DateTime CreatedAt, DeploymentStatusData Data, WebhookPayloadMeta Meta);

/// <summary>The <c>meta</c> block of a delivery.</summary>
internal sealed record WebhookPayloadMeta(string Version);

/// <summary>
/// Writes deliveries with the status route's own mapping and serializer settings, so a delivery's <c>data</c> is
/// exactly what <c>GET …/status</c> answers for the job.
/// </summary>
internal sealed class ApiWebhookPayloadFormatter : IWebhookPayloadFormatter
{
    public string Format(Guid eventId, string type, DateTimeOffset createdAt, DeploymentJob job) =>
        JsonSerializer.Serialize(
            new WebhookPayload(eventId, type, createdAt.UtcDateTime, DeploymentMapping.ToStatusData(job, 0), new WebhookPayloadMeta(ApiResults.ApiVersion)),
            ApiJson.Options);
}

/// <summary>The handlers of a deployment's webhook events.</summary>
internal static class WebhookHandlers
{
    public const string ListName = "ListDeploymentEvents";
    public const string RedeliverName = "RedeliverDeploymentEvent";

    public static async Task<Results<JsonHttpResult<ApiSuccess<DeploymentEventsData>>, JsonHttpResult<ApiFailure>>> ListAsync(
        string id,
        HttpContext context,
        IDeploymentService service,
        [FromServices] IWebhookOutbox outbox,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParseExact(id, "D", out var jobId))
        {
            return InvalidId(context, "id");
        }

        if (await service.GetAsync(CallerIdentity.GetOwner(context.User), jobId, cancellationToken) is null)
        {
            return ApiResults.NotFound(context, jobId);
        }

        var events = await outbox.ListAsync(jobId, cancellationToken);
        return ApiResults.Success(context, new DeploymentEventsData(jobId, events.Select(WebhookEventData.From).ToList()));
    }

    public static async Task<Results<JsonHttpResult<ApiSuccess<WebhookEventData>>, JsonHttpResult<ApiFailure>>> RedeliverAsync(
        string id,
        string eventId,
        HttpContext context,
        IDeploymentService service,
        [FromServices] IWebhookOutbox outbox,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParseExact(id, "D", out var jobId))
        {
            return InvalidId(context, "id");
        }

        if (!Guid.TryParseExact(eventId, "D", out var eventGuid))
        {
            return InvalidId(context, "eventId");
        }

        if (await service.GetAsync(CallerIdentity.GetOwner(context.User), jobId, cancellationToken) is null)
        {
            return ApiResults.NotFound(context, jobId);
        }

        var (outcome, webhookEvent) = await outbox.RedeliverAsync(jobId, eventGuid, cancellationToken);
        return outcome switch
        {
            RedeliverOutcome.Scheduled when webhookEvent is not null =>
                ApiResults.Success(context, WebhookEventData.From(webhookEvent), StatusCodes.Status202Accepted),
            RedeliverOutcome.InFlight =>
                ApiResults.Error(context, StatusCodes.Status409Conflict, ErrorCodes.EventDeliveryInProgress,
                    "The event is being delivered right now; its result decides whether it needs redelivery.",
                    new { requestId = jobId, eventId = eventGuid }, retryable: true),
            _ => ApiResults.Error(context, StatusCodes.Status404NotFound, ErrorCodes.EventNotFound,
                "No event with this id exists for the deployment.", new { requestId = jobId, eventId = eventGuid }),
        };
    }

    private static JsonHttpResult<ApiFailure> InvalidId(HttpContext context, string field) =>
        ApiResults.Validation(context, field, $"{field} must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).");
}

/// <summary>Reads and checks the optional <c>callbackUrl</c> of a deployment request.</summary>
internal static class CallbackUrlValidator
{
    /// <summary>
    /// The callback URL, or null when absent. https only (http to a loopback host when
    /// <paramref name="allowHttpToLoopback"/>, i.e. in Development); IP literals must not be internal; the caller needs
    /// a signing secret, since deliveries are always signed. <paramref name="callerHasSecret"/> is asked only when a
    /// URL is present, so a request without one does not pay for reading the secrets.
    /// </summary>
    public static string? Read(JsonElement root, bool allowHttpToLoopback, Func<bool> callerHasSecret, List<FieldError> errors)
    {
        JsonElement value;
        try
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("callbackUrl", out value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
        }
        catch (InvalidOperationException)
        {
            // A property name that is not valid Unicode; the request validator reports the body.
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new FieldError("callbackUrl", "callbackUrl must be a string."));
            return null;
        }

        // Not GetString(): a lone surrogate escape or invalid UTF-8 makes it throw, and that is the caller's error.
        if (JsonStrings.SafeString(value, "callbackUrl", errors)?.Trim() is not { } url)
        {
            return null;
        }

        if (WebhookOptions.CheckUrl(url, allowHttpToLoopback) is { } problem)
        {
            errors.Add(new FieldError("callbackUrl", "callbackUrl " + problem));
            return null;
        }

        if (!callerHasSecret())
        {
            errors.Add(new FieldError("callbackUrl", "callbackUrl needs a webhook signing secret for this caller (WEBHOOK_SECRETS); none is configured."));
            return null;
        }

        return url;
    }
}
