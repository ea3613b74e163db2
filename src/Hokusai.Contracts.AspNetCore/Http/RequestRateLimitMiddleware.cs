using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>
/// The general request limit (<see cref="QuotaOptions.RequestsPerMinute"/>) on every request: partitioned
/// by caller identity when the request carries valid credentials, otherwise by client IP. Limiters come
/// from the registered <see cref="IRequestRateLimiterFactory"/> (in-process or shared through Redis).
/// </summary>
internal sealed partial class RequestRateLimitMiddleware(
    RequestDelegate next,
    RequestRateLimiter limiter,
    ILogger<RequestRateLimitMiddleware> logger)
{

    public async Task InvokeAsync(HttpContext context)
    {
        // Health probes (and anything else marked DisableRateLimiting) must never be throttled: a 429
        // on readiness takes a healthy task out of the load balancer.
        if (context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.RateLimiting.DisableRateLimitingAttribute>() is not null)
        {
            await next(context);
            return;
        }

        var partition = await GetPartitionKeyAsync(context);
        using var lease = await limiter.Limiter.AcquireAsync(partition, 1, context.RequestAborted);
        if (lease.IsAcquired)
        {
            await next(context);
            return;
        }

        LogRejected(logger, context.TraceIdentifier);
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? ApiResults.CeilingSeconds(wait) : 60;
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        await ApiResults.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimitExceeded,
            "Too many requests.", new { retryAfter }, retryable: true);
    }

    /// <summary>Authenticating here is not wasted: handlers cache the result for the authorization step.</summary>
    private static async Task<string> GetPartitionKeyAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(HokusaiAuthenticationDefaults.Scheme);
        if (result.Succeeded && Authentication.CallerIdentity.TryGetOwner(result.Principal) is { } owner)
        {
            return "caller:" + owner;
        }

        return "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Request {RequestId} rejected by the request rate limit")]
    private static partial void LogRejected(ILogger logger, string requestId);
}

/// <summary>The partitioned limiter, a singleton so the container disposes it (and its timers) with the host.</summary>
internal sealed class RequestRateLimiter(IRequestRateLimiterFactory factory) : IAsyncDisposable
{
    public PartitionedRateLimiter<string> Limiter { get; } =
        PartitionedRateLimiter.Create<string, string>(factory.GetPartition, StringComparer.Ordinal);

    public ValueTask DisposeAsync() => Limiter.DisposeAsync();
}
