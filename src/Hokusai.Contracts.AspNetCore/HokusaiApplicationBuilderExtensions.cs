using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;

namespace Hokusai.Contracts.AspNetCore;

/// <summary>Adds the API's middleware to a host's pipeline.</summary>
public static class HokusaiApplicationBuilderExtensions
{
    /// <summary>
    /// Adds, in this order: the <c>X-Request-Id</c> middleware with the exception-to-envelope handler
    /// (503 for unavailable dependencies, 500 without details otherwise), status-code envelopes for
    /// framework-generated errors (unknown route 404 <c>NOT_FOUND</c>, 405, 415, …), authentication and
    /// authorization. Call it once, after <c>UseRouting</c> if the host calls that explicitly, and before
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
        app.UseAuthorization();
        return app;
    }
}
