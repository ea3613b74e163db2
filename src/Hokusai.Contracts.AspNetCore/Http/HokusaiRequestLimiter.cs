using System.Globalization;
using System.Threading.RateLimiting;
using Hokusai.Contracts.AspNetCore.Authentication;
using Hokusai.Contracts.Backends;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>
/// The general request limit (<see cref="QuotaOptions.RequestsPerMinute"/>) as ASP.NET Core's global limiter:
/// partitioned by caller when authentication (run before <c>UseRateLimiter</c>) found one, otherwise by client IP.
/// Each partition's limiter comes from the registered <see cref="IRequestRateLimiterFactory"/> (in process, or a
/// budget shared by the replicas through Redis). A singleton, so the container disposes the partitions' timers.
/// </summary>
internal sealed partial class HokusaiRequestLimiter(IRequestRateLimiterFactory factory) : IAsyncDisposable
{
    public PartitionedRateLimiter<HttpContext> Limiter { get; } =
        PartitionedRateLimiter.Create<HttpContext, string>(context => factory.GetPartition(PartitionKey(context)), StringComparer.Ordinal);

    public ValueTask DisposeAsync() => Limiter.DisposeAsync();

    internal static string PartitionKey(HttpContext context) =>
        CallerIdentity.TryGetOwner(context.User) is { } owner
            ? "caller:" + owner
            : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    /// <summary>429 <c>RATE_LIMIT_EXCEEDED</c> in the envelope, with <c>Retry-After</c> from the lease (60 s if it has none).</summary>
    public static ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var requestId = RequestIds.Get(context);
        if (context.RequestServices.GetService<ILogger<HokusaiRequestLimiter>>() is { } logger)
        {
            LogRejected(logger, requestId);
        }

        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? ApiResults.CeilingSeconds(wait) : 60;
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        return new ValueTask(ApiResults.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimitExceeded,
            "Too many requests.", new { retryAfter }, retryable: true));
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Request {RequestId} rejected by the request rate limit")]
    private static partial void LogRejected(ILogger logger, string requestId);
}
