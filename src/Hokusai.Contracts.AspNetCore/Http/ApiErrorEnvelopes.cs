using Hokusai.Contracts.Chain;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>
/// The error envelope for what no handler answered itself: exceptions (a dependency being down answers 503
/// <c>SERVICE_UNAVAILABLE</c>, retryable; anything else 500 <c>INTERNAL_ERROR</c> with no exception text) and the
/// framework's bodiless statuses (404 unknown route, 405, 415, …). The route group's filter and the host's opt-in
/// exception and status-code handlers share it, so an error reads the same wherever it is caught.
/// </summary>
internal static partial class ApiErrorEnvelopes
{
    /// <summary>The envelope for <paramref name="exception"/>, logged once here.</summary>
    public static IResult FromException(HttpContext context, Exception exception)
    {
        var logger = Logger(context);
        var requestId = RequestIds.Get(context);
        switch (exception)
        {
            case StoreUnavailableException or ChainException { IsTransient: true }:
                LogDependencyUnavailable(logger, exception, requestId);
                return ApiResults.ServiceUnavailable(context);
            case BadHttpRequestException badRequest:
                LogBadRequest(logger, requestId, badRequest.StatusCode);
                return badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? ApiResults.Validation(context, "body", $"The body must be at most {JsonBodyReader.MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge)
                    : ApiResults.Validation(context, "request", "The request is malformed.", badRequest.StatusCode);
            default:
                LogUnhandled(logger, exception, requestId);
                return ApiResults.Error(context, StatusCodes.Status500InternalServerError, ErrorCodes.InternalError,
                    "An unexpected error occurred.");
        }
    }

    /// <summary>The route group's filter: response defaults on every answer, exceptions as envelopes.</summary>
    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        RequestIds.ApplyResponseDefaults(context);
        try
        {
            return await next(invocation);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
            return Results.Empty;
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            return FromException(context, exception);
        }
    }

    /// <summary>The exception handler's delegate (<c>UseExceptionHandler</c>): the envelope of the caught exception.</summary>
    public static Task WriteExceptionAsync(HttpContext context)
    {
        if (context.Features.Get<IExceptionHandlerFeature>()?.Error is not { } exception)
        {
            return ApiResults.WriteErrorAsync(context, StatusCodes.Status500InternalServerError, ErrorCodes.InternalError, "An unexpected error occurred.");
        }

        return FromException(context, exception).ExecuteAsync(context);
    }

    /// <summary>Writes the envelope for framework-generated bodiless statuses (404 unknown route, 405, …).</summary>
    public static Task WriteStatusCodeAsync(StatusCodeContext statusCodeContext)
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

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices?.GetService<ILoggerFactory>()?.CreateLogger(typeof(ApiErrorEnvelopes).FullName!)
        ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Request {RequestId} failed: a dependency is unavailable")]
    private static partial void LogDependencyUnavailable(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Request {RequestId} was rejected by the server with status {StatusCode}")]
    private static partial void LogBadRequest(ILogger logger, string requestId, int statusCode);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Request {RequestId} failed with an unexpected error")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string requestId);
}
