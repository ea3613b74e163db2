using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;

namespace Hokusai.Contracts.AspNetCore;

/// <summary>Opt-in middleware giving every response of the host the API's request id and caching defaults.</summary>
public static class HokusaiRequestIdApplicationBuilderExtensions
{
    /// <summary>
    /// Gives every response an <c>X-Request-Id</c> (the caller's, when it is at most 128 safe characters, else a new
    /// one; also the request's <c>TraceIdentifier</c>) and <c>Cache-Control: no-store</c> unless a handler chose
    /// otherwise. Add it first, so responses written by later middleware (CORS preflights, forwarded-header
    /// rejections) carry them too; the API's own responses carry them without it.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IApplicationBuilder UseHokusaiRequestIds(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use((context, next) =>
        {
            RequestIds.ApplyResponseDefaults(context);
            return next(context);
        });
    }
}
