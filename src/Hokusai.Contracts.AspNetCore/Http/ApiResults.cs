using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>Builds the API's envelopes as typed results.</summary>
internal static class ApiResults
{
    public const string ApiVersion = "1.0";

    /// <summary>Code of a 405 (not in the original service, which had no such status).</summary>
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";

    /// <summary>Seconds a client should wait after a 503.</summary>
    public const int ServiceUnavailableRetrySeconds = 5;

    public static JsonHttpResult<ApiSuccess<T>> Success<T>(HttpContext context, T data, int statusCode = StatusCodes.Status200OK) =>
        TypedResults.Json(
            new ApiSuccess<T> { Data = data, Meta = new ApiMeta(RequestIds.Get(context), Now(context), ApiVersion) },
            ApiJson.Options,
            contentType: "application/json; charset=utf-8",
            statusCode: statusCode);

    public static JsonHttpResult<ApiFailure> Error(
        HttpContext context,
        int statusCode,
        string code,
        string message,
        object? details = null,
        IReadOnlyList<string>? suggestions = null,
        bool retryable = false)
    {
        RequestIds.Get(context);
        var failure = new ApiFailure
        {
            Error = new ApiError
            {
                Code = code,
                Message = message,
                Details = details ?? ApiError.EmptyDetails,
                Suggestions = suggestions ?? DefaultSuggestions(code),
                Timestamp = Now(context),
                Retryable = retryable,
            },
        };
        return TypedResults.Json(failure, ApiJson.Options, contentType: "application/json; charset=utf-8", statusCode: statusCode);
    }

    public static JsonHttpResult<ApiFailure> Validation(HttpContext context, IReadOnlyList<FieldError> errors, int statusCode = StatusCodes.Status400BadRequest) =>
        Error(context, statusCode, ErrorCodes.ValidationError, "The request is invalid.", new ValidationDetails(errors));

    public static JsonHttpResult<ApiFailure> Validation(HttpContext context, string field, string message, int statusCode = StatusCodes.Status400BadRequest) =>
        Validation(context, [new FieldError(field, message)], statusCode);

    public static JsonHttpResult<ApiFailure> NotFound(HttpContext context, Guid id) =>
        Error(context, StatusCodes.Status404NotFound, ErrorCodes.DeploymentNotFound, "No deployment with this id exists for the caller.", new { requestId = id });

    public static JsonHttpResult<ApiFailure> ServiceUnavailable(HttpContext context)
    {
        context.Response.Headers.RetryAfter = ServiceUnavailableRetrySeconds.ToString(CultureInfo.InvariantCulture);
        return Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.ServiceUnavailable,
            "A dependency of the service is unavailable. Try again shortly.", retryable: true);
    }

    /// <summary>Writes an error envelope outside an endpoint (middleware, authentication challenges).</summary>
    public static Task WriteErrorAsync(HttpContext context, int statusCode, string code, string message, object? details = null, bool retryable = false) =>
        Error(context, statusCode, code, message, details, retryable: retryable).ExecuteAsync(context);

    /// <summary>Adds <c>RateLimit-*</c> headers from a quota decision.</summary>
    public static void AddRateLimitHeaders(HttpContext context, QuotaDecision? quota)
    {
        if (quota is null)
        {
            return;
        }

        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = quota.Limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = Math.Max(0, quota.Remaining).ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = CeilingSeconds(quota.ResetAfter).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Whole seconds, rounded up, at least 1 (a zero <c>Retry-After</c> invites a busy loop).</summary>
    public static long CeilingSeconds(TimeSpan value) => Math.Max(1, (long)Math.Ceiling(value.TotalSeconds));

    private static DateTime Now(HttpContext context) =>
        (context.RequestServices?.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow().UtcDateTime;

    /// <summary>What a caller can do about each error.</summary>
    internal static IReadOnlyList<string> DefaultSuggestions(string code) => code switch
    {
        ErrorCodes.InvalidToken => ["Send a valid API key in the X-API-Key header, or a valid JWT as 'Authorization: Bearer <token>'."],
        ErrorCodes.TokenExpired => ["Obtain a new token and retry."],
        ErrorCodes.Unauthorized => ["Use the address bound to your credentials as userAddress."],
        ErrorCodes.ValidationError => ["Fix the fields listed in details and retry."],
        ErrorCodes.UnsupportedMediaType => ["Send the body as JSON with 'Content-Type: application/json'."],
        ErrorCodes.DeploymentNotFound => ["Check the request id returned when the deployment was accepted."],
        ErrorCodes.TokenAlreadyExists => ["Use the existing token, or deploy for another model id."],
        ErrorCodes.DeploymentInProgress => ["Wait for the running deployment of this model to finish."],
        ErrorCodes.DeploymentNotCancellable => ["Only pending deployments can be cancelled; poll its status instead."],
        ErrorCodes.IdempotencyKeyReused => ["Use a new Idempotency-Key for a different request body."],
        ErrorCodes.RateLimitExceeded => ["Wait for the number of seconds in the Retry-After header."],
        ErrorCodes.ServiceUnavailable => ["Retry after the number of seconds in the Retry-After header."],
        ErrorCodes.EventNotFound => ["List the deployment's events with GET /api/deployments/{id}/events."],
        ErrorCodes.EventDeliveryInProgress => ["Wait a few seconds and list the events again."],
        ErrorCodes.NotFound => ["Check the URL; the API lives under /api/deployments."],
        MethodNotAllowed => ["Use one of the methods listed in the Allow header."],
        ErrorCodes.InternalError => ["Retry later; if it persists, report the X-Request-Id of the response."],
        _ => [],
    };
}
