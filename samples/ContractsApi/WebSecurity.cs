namespace ContractsApi;

/// <summary>Security headers (the original's Helmet) and CORS for <c>ALLOWED_ORIGINS</c>.</summary>
internal static class WebSecurity
{
    private const string CorsPolicy = "allowed-origins";

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
        app.UseSecurityHeaders(new HeaderPolicyCollection()
            .AddDefaultApiSecurityHeaders()
            .AddStrictTransportSecurityMaxAgeIncludeSubDomains());
        app.UseCors(CorsPolicy);
        return app;
    }
}
