using NetEscapades.AspNetCore.SecurityHeaders;
using Scalar.AspNetCore;

namespace ContractsApi;

/// <summary>
/// The Scalar API reference page (<c>/scalar</c>), in Development only. It works offline and under a strict CSP:
/// its script is the bundle embedded in Scalar.AspNetCore (served by this host, never from a CDN), fonts and
/// telemetry (both from Scalar's servers) are off, and its script tags carry the per-request nonce of the
/// security-headers middleware, so the page's policy needs no <c>'unsafe-inline'</c> for scripts
/// (it does need <c>'unsafe-eval'</c>, and <c>'unsafe-inline'</c> for the styles Scalar generates).
/// </summary>
internal static class ApiReference
{
    public const string Path = "/scalar";

    /// <summary>Whether the request is for the reference page or its assets.</summary>
    public static bool Serves(HttpContext context) => context.Request.Path.StartsWithSegments(Path, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The page's headers: the API's defaults, with a CSP that lets the page run its own nonced scripts, fetch
    /// the OpenAPI document from this host and apply the styles it generates at run time.
    /// </summary>
    public static HeaderPolicyCollection SecurityHeaders(bool https)
    {
        var headers = new HeaderPolicyCollection().AddDefaultApiSecurityHeaders();
        if (https)
        {
            headers.AddStrictTransportSecurityMaxAgeIncludeSubDomains();
        }

        return headers.AddContentSecurityPolicy(csp =>
        {
            csp.AddDefaultSrc().None();
            // Scalar's bundle compiles code at run time (eval); no nonce or hash can allow that, and the page is
            // Development-only, so this one page gets 'unsafe-eval' (never 'unsafe-inline' for scripts).
            csp.AddScriptSrc().Self().WithNonce().UnsafeEval();
            csp.AddStyleSrc().Self().UnsafeInline();
            csp.AddConnectSrc().Self();
            csp.AddImgSrc().Self().Data();
            csp.AddFontSrc().Self().Data();
            csp.AddBaseUri().None();
            csp.AddFormAction().None();
            csp.AddFrameAncestors().None();
        });
    }

    /// <summary>Maps the page in Development; other environments get no reference page at all.</summary>
    public static WebApplication MapContractsApiReference(this WebApplication app)
    {
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference(Path, (options, context) => options
                .WithNonce(context.GetNonce())
                .DisableDefaultFonts()
                .DisableTelemetry());
        }

        return app;
    }
}
