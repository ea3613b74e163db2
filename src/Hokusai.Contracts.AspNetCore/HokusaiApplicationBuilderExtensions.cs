using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hokusai.Contracts.AspNetCore;

/// <summary>
/// Opt-in, app-wide error envelopes. <c>MapHokusaiContracts</c> needs none of it (its routes answer in the envelope
/// and carry the request id themselves); a host adds it for the rest of its pipeline: unknown routes, other
/// endpoints, other middleware.
/// </summary>
public static class HokusaiApplicationBuilderExtensions
{
    /// <summary>
    /// Answers in the API's error envelope what nothing else answered: <c>UseExceptionHandler</c> for unhandled
    /// exceptions (503 <c>SERVICE_UNAVAILABLE</c> with <c>Retry-After</c> for an unavailable store or chain, 500
    /// <c>INTERNAL_ERROR</c> without details otherwise) and <c>UseStatusCodePages</c> for bodiless statuses
    /// (unknown route 404 <c>NOT_FOUND</c>, 405 <c>METHOD_NOT_ALLOWED</c>, 415, …). Call it after
    /// <see cref="HokusaiRequestIdApplicationBuilderExtensions.UseHokusaiRequestIds"/> and before authentication.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IApplicationBuilder UseHokusaiErrorEnvelopes(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = ApiErrorEnvelopes.WriteExceptionAsync,
            // The envelope writer logs the failure with its request id; the middleware's own error log would repeat it.
            SuppressDiagnosticsCallback = static _ => true,
        });
        return app.UseStatusCodePages(ApiErrorEnvelopes.WriteStatusCodeAsync);
    }
}
