using System.Net;
using Hokusai.Contracts.AspNetCore;
using Microsoft.AspNetCore.HttpOverrides;

namespace ContractsApi;

/// <summary>
/// Transport-level hardening of the reference host: request id and <c>no-store</c> on every response the
/// application writes (CORS preflights included), client address and scheme from trusted proxies only
/// (<c>TRUSTED_PROXIES</c>), security headers (the original's Helmet) with HSTS on https, no
/// <c>Server</c> header, and CORS for <c>ALLOWED_ORIGINS</c>.
/// </summary>
internal static class WebSecurity
{
    private const string CorsPolicy = "allowed-origins";

    /// <summary>
    /// Networks trusted to set <c>X-Forwarded-For</c>/<c>-Proto</c> when <c>TRUSTED_PROXIES</c> is unset: the
    /// private ranges an AWS ALB (or any load balancer inside a VPC) connects from, and loopback.
    /// </summary>
    internal const string DefaultTrustedProxies = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,::1/128,fc00::/7";

    public static WebApplicationBuilder AddContractsWebSecurity(this WebApplicationBuilder builder)
    {
        var origins = (builder.Configuration["ALLOWED_ORIGINS"] ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var origin in origins)
        {
            if (origin != "*" && !Uri.TryCreate(origin, UriKind.Absolute, out _))
            {
                throw new InvalidOperationException($"ALLOWED_ORIGINS must be a comma list of absolute origins (or *); '{origin}' is not one.");
            }
        }

        var proxies = ParseTrustedProxies(builder.Configuration["TRUSTED_PROXIES"]);
        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            // Empty proxy lists would make the middleware trust every sender, so "none" turns it off instead.
            o.ForwardedHeaders = proxies.Count == 0 ? ForwardedHeaders.None : ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // One hop: the balancer appends the address it saw; entries further left are the client's own claims.
            o.ForwardLimit = 1;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var network in proxies)
            {
                o.KnownIPNetworks.Add(network);
            }
        });
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            // Header values outside ASCII (obs-text, legal in HTTP/1.1) would make Kestrel answer 400 itself,
            // with no request id or envelope; read as Latin-1 they reach the application, which refuses them properly.
            o.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        });

        builder.Services.AddCors(o => o.AddPolicy(CorsPolicy, p =>
        {
            // No origins configured means no cross-origin access at all, as in the original.
            if (origins.Contains("*"))
            {
                p.AllowAnyOrigin();
            }
            else
            {
                p.WithOrigins(origins);
            }

            p.WithMethods("GET", "POST").WithHeaders("Content-Type", "X-API-Key", "Authorization", "Idempotency-Key", "X-Request-Id")
                .WithExposedHeaders("X-Request-Id", "Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset");
        }));
        return builder;
    }

    public static WebApplication UseContractsWebSecurity(this WebApplication app)
    {
        // First, so that responses written by later middleware (CORS preflights, forwarded-header
        // rejections) carry the request id and no-store too.
        app.UseHokusaiRequestIds();
        app.UseForwardedHeaders();
        // HSTS only on https requests (the scheme the balancer saw, from X-Forwarded-Proto): over plain
        // http it is meaningless and would pin development hosts to https.
        var https = new HeaderPolicyCollection().AddDefaultApiSecurityHeaders().AddStrictTransportSecurityMaxAgeIncludeSubDomains();
        var http = new HeaderPolicyCollection().AddDefaultApiSecurityHeaders();
        // The API reference page (Development only) needs a CSP that lets it run; everything else keeps the API's.
        var reference = app.Environment.IsDevelopment();
        var referenceHttps = ApiReference.SecurityHeaders(https: true);
        var referenceHttp = ApiReference.SecurityHeaders(https: false);
        app.UseWhen(c => reference && ApiReference.Serves(c), b => b
            .UseWhen(c => c.Request.IsHttps, h => h.UseSecurityHeaders(referenceHttps))
            .UseWhen(c => !c.Request.IsHttps, h => h.UseSecurityHeaders(referenceHttp)));
        app.UseWhen(c => !(reference && ApiReference.Serves(c)) && c.Request.IsHttps, b => b.UseSecurityHeaders(https));
        app.UseWhen(c => !(reference && ApiReference.Serves(c)) && !c.Request.IsHttps, b => b.UseSecurityHeaders(http));
        app.UseCors(CorsPolicy);
        return app;
    }

    /// <summary>
    /// <c>TRUSTED_PROXIES</c>: a comma list of addresses or CIDR networks; unset means
    /// <see cref="DefaultTrustedProxies"/>, <c>none</c> trusts nobody (forwarded headers are ignored).
    /// </summary>
    internal static IReadOnlyList<System.Net.IPNetwork> ParseTrustedProxies(string? value)
    {
        value = string.IsNullOrWhiteSpace(value) ? DefaultTrustedProxies : value.Trim();
        if (value.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        var networks = new List<System.Net.IPNetwork>();
        foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (System.Net.IPNetwork.TryParse(entry, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                networks.Add(new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                throw new InvalidOperationException($"TRUSTED_PROXIES must be 'none' or a comma list of IP addresses or CIDR networks (e.g. 10.0.0.0/8); '{entry}' is neither.");
            }
        }

        return networks;
    }
}
