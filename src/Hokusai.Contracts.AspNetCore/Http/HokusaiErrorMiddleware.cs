using Hokusai.Contracts.Chain;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>
/// Assigns the request id and turns exceptions into the error envelope: a dependency being down
/// answers 503 <c>SERVICE_UNAVAILABLE</c> (retryable), anything else 500 <c>INTERNAL_ERROR</c> with no
/// exception text.
/// </summary>
internal sealed partial class HokusaiErrorMiddleware(RequestDelegate next, ILogger<HokusaiErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestIds.ApplyResponseDefaults(context);
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            switch (exception)
            {
                case StoreUnavailableException or ChainException { IsTransient: true }:
                    LogDependencyUnavailable(logger, exception, requestId);
                    await ApiResults.ServiceUnavailable(context).ExecuteAsync(context);
                    break;
                case BadHttpRequestException badRequest:
                    LogBadRequest(logger, requestId, badRequest.StatusCode);
                    await (badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge
                        ? ApiResults.Validation(context, "body", $"The body must be at most {JsonBodyReader.MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge)
                        : ApiResults.Validation(context, "request", "The request is malformed.", badRequest.StatusCode)).ExecuteAsync(context);
                    break;
                default:
                    LogUnhandled(logger, exception, requestId);
                    await ApiResults.Error(context, StatusCodes.Status500InternalServerError, ErrorCodes.InternalError,
                        "An unexpected error occurred.").ExecuteAsync(context);
                    break;
            }
        }
    }

    /// <summary>Writes the envelope for framework-generated bodiless statuses (404 unknown route, 405, …).</summary>
    internal static Task WriteStatusCodeEnvelopeAsync(StatusCodeContext statusCodeContext)
    {
        var context = statusCodeContext.HttpContext;
        var status = context.Response.StatusCode;
        var (code, message) = status switch
        {
            StatusCodes.Status400BadRequest => (ErrorCodes.ValidationError, "The request is invalid."),
            StatusCodes.Status401Unauthorized => (ErrorCodes.InvalidToken, "Authentication is required."),
            StatusCodes.Status403Forbidden => (ErrorCodes.Unauthorized, "The caller may not use this resource."),
            StatusCodes.Status404NotFound => (ErrorCodes.NotFound, $"No route matches {context.Request.Method} {context.Request.Path}."),
            StatusCodes.Status405MethodNotAllowed => (ApiResults.MethodNotAllowed, $"{context.Request.Method} is not allowed on {context.Request.Path}."),
            StatusCodes.Status413PayloadTooLarge => (ErrorCodes.ValidationError, "The body is too large."),
            StatusCodes.Status415UnsupportedMediaType => (ErrorCodes.UnsupportedMediaType, "The body must be JSON (Content-Type: application/json)."),
            StatusCodes.Status429TooManyRequests => (ErrorCodes.RateLimitExceeded, "Too many requests."),
            StatusCodes.Status503ServiceUnavailable => (ErrorCodes.ServiceUnavailable, "The service is unavailable."),
            >= 500 => (ErrorCodes.InternalError, "An unexpected error occurred."),
            _ => (ErrorCodes.ValidationError, "The request could not be processed."),
        };
        var retryable = status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable;
        return ApiResults.WriteErrorAsync(context, status, code, message, retryable: retryable);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Request {RequestId} failed: a dependency is unavailable")]
    private static partial void LogDependencyUnavailable(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Request {RequestId} was rejected by the server with status {StatusCode}")]
    private static partial void LogBadRequest(ILogger logger, string requestId, int statusCode);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Request {RequestId} failed with an unexpected error")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string requestId);
}
