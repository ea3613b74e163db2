using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore;

/// <summary>Adds the API's middleware to a host's pipeline.</summary>
public static class HokusaiApplicationBuilderExtensions
{
    /// <summary>
    /// Adds, in this order: the <c>X-Request-Id</c> middleware with the exception-to-envelope handler
    /// (503 for unavailable dependencies, 500 without details otherwise), status-code envelopes for
    /// framework-generated errors (unknown route 404 <c>NOT_FOUND</c>, 405, 415, …), authentication,
    /// the general per-caller (or per-IP) request limit when an <see cref="IRequestRateLimiterFactory"/>
    /// is registered and <see cref="QuotaOptions.RequestsPerMinute"/> is above 0 (429
    /// <c>RATE_LIMIT_EXCEEDED</c> with <c>Retry-After</c>), and authorization. Call it once, after <c>UseRouting</c> if the host calls that explicitly, and before
    /// <see cref="HokusaiEndpointRouteBuilderExtensions.MapHokusaiContracts"/>'s endpoints run.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IApplicationBuilder UseHokusaiContracts(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<HokusaiErrorMiddleware>();
        app.UseStatusCodePages(HokusaiErrorMiddleware.WriteStatusCodeEnvelopeAsync);
        app.UseAuthentication();
        var services = app.ApplicationServices;
        if (services.GetService<IRequestRateLimiterFactory>() is not null
            && services.GetService<IOptions<HokusaiContractsOptions>>()?.Value.Quotas.RequestsPerMinute > 0)
        {
            app.UseMiddleware<RequestRateLimitMiddleware>();
        }

        app.UseAuthorization();
        return app;
    }
}
