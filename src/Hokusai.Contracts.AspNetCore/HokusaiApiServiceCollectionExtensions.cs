using Hokusai.Contracts.AspNetCore.Authentication;
using Hokusai.Contracts.AspNetCore.OpenApi;
using Hokusai.Contracts.Backends;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore;

/// <summary>Registers the HTTP API's services.</summary>
public static class HokusaiApiServiceCollectionExtensions
{
    /// <summary>The OpenAPI document name; the host's <c>MapOpenApi()</c> serves it at <c>/openapi/v1.json</c>.</summary>
    public const string OpenApiDocumentName = "v1";

    /// <summary>
    /// Adds the API on top of <c>AddHokusaiContracts</c>: see
    /// <see cref="AddHokusaiApi(IServiceCollection, IConfiguration)"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddHokusaiContracts</c>.</param>
    /// <param name="configuration">The configuration holding the credentials settings.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHokusaiContractsBuilder AddHokusaiApi(this IHokusaiContractsBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHokusaiApi(configuration);
        return builder;
    }

    /// <summary>
    /// Adds the API's authentication (API keys and JWT bearer behind one policy scheme), its
    /// authorization policy, <see cref="HokusaiAuthenticationOptions"/> bound from
    /// <paramref name="configuration"/> and validated on start, and the OpenAPI document
    /// <see cref="OpenApiDocumentName"/>. The job engine itself (<see cref="IDeploymentService"/>)
    /// comes from <c>AddHokusaiContracts</c>. Safe to call more than once.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">
    /// The configuration: section <see cref="HokusaiAuthenticationOptions.SectionName"/> (the environment
    /// variables <c>VALID_API_KEYS</c>, <c>JWT_SECRET</c>, … map onto it with <c>AddHokusaiEnvironmentVariables</c>).
    /// </param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddHokusaiApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(ApiKeyRegistry)))
        {
            return services;
        }

        services.AddOptions<HokusaiAuthenticationOptions>()
            .Configure(options => Bind(configuration, options))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HokusaiAuthenticationOptions>, HokusaiAuthenticationOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ApiKeyRegistry>();

        // Deliveries carry the status route's own payload, whatever order the packages were added in.
        services.RemoveAll<Webhooks.IWebhookPayloadFormatter>();
        services.AddSingleton<Webhooks.IWebhookPayloadFormatter, Http.ApiWebhookPayloadFormatter>();

        // The host's UseAuthentication then finds the API's caller (the request limiter partitions by it), unless
        // the host chose a default scheme of its own.
        services.PostConfigure<AuthenticationOptions>(options => options.DefaultScheme ??= HokusaiAuthenticationDefaults.Scheme);
        services.AddAuthentication()
            .AddPolicyScheme(HokusaiAuthenticationDefaults.Scheme, "API key or JWT", options => options.ForwardDefaultSelector = SelectScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(HokusaiAuthenticationDefaults.ApiKeyScheme, "API key", null)
            .AddJwtBearer(HokusaiAuthenticationDefaults.JwtScheme);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<JwtBearerOptions>, ConfigureHokusaiJwtBearer>());
        services.AddAuthorizationBuilder()
            .AddPolicy(HokusaiAuthenticationDefaults.Policy, policy => policy
                .AddAuthenticationSchemes(HokusaiAuthenticationDefaults.Scheme)
                .RequireAuthenticatedUser())
            .AddPolicy(HokusaiAuthenticationDefaults.AdminPolicy, policy => policy
                .AddAuthenticationSchemes(HokusaiAuthenticationDefaults.Scheme)
                .RequireAuthenticatedUser()
                .RequireClaim(HokusaiClaimTypes.Admin, "true"));

        services.AddOpenApi(OpenApiDocumentName, options => options
            .AddDocumentTransformer<HokusaiOpenApiDocumentTransformer>()
            .AddSchemaTransformer<HokusaiOpenApiSchemaTransformer>());
        return services;
    }

    /// <summary>
    /// Adds the general per-caller request limit (<see cref="QuotaOptions.RequestsPerMinute"/>) to ASP.NET Core's
    /// rate limiter: see <see cref="AddHokusaiRateLimiter(IServiceCollection)"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddHokusaiContracts</c>.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHokusaiContractsBuilder AddHokusaiRateLimiter(this IHokusaiContractsBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHokusaiRateLimiter();
        return builder;
    }

    /// <summary>
    /// Calls <c>AddRateLimiter</c> with the general request limit as its global limiter, when
    /// <see cref="QuotaOptions.RequestsPerMinute"/> is above 0 and an <see cref="IRequestRateLimiterFactory"/> is
    /// registered (<c>AddHokusaiContracts</c> registers an in-process one; <c>AddRedis</c> one whose budget the
    /// replicas share without a Redis round trip per request). Requests are partitioned by caller when
    /// authentication ran before <c>UseRateLimiter</c>, otherwise by client IP; a rejected one answers 429
    /// <c>RATE_LIMIT_EXCEEDED</c> in the envelope with <c>Retry-After</c>. The host adds the middleware:
    /// <c>app.UseAuthentication(); app.UseRateLimiter();</c>. Endpoints marked <c>DisableRateLimiting()</c>
    /// (the health probes) are never limited. A global limiter the host set itself is kept. Safe to call more than once.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddHokusaiRateLimiter(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(Http.HokusaiRequestLimiter)))
        {
            return services;
        }

        services.AddSingleton(sp => new Http.HokusaiRequestLimiter(sp.GetRequiredService<IRequestRateLimiterFactory>()));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IServiceProvider>((options, sp) =>
        {
            if (options.GlobalLimiter is not null
                || sp.GetService<IRequestRateLimiterFactory>() is null
                || sp.GetService<IOptions<HokusaiContractsOptions>>()?.Value.Quotas.RequestsPerMinute is not > 0)
            {
                return;
            }

            options.GlobalLimiter = sp.GetRequiredService<Http.HokusaiRequestLimiter>().Limiter;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = Http.HokusaiRequestLimiter.OnRejectedAsync;
        });
        return services;
    }

    /// <summary>An <c>X-API-Key</c> header selects the API-key scheme, a bearer token the JWT scheme.</summary>
    internal static string SelectScheme(HttpContext context)
    {
        if (context.Request.Headers.ContainsKey(HokusaiAuthenticationDefaults.ApiKeyHeader))
        {
            return HokusaiAuthenticationDefaults.ApiKeyScheme;
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? HokusaiAuthenticationDefaults.JwtScheme
            : HokusaiAuthenticationDefaults.ApiKeyScheme;
    }

    // Configuration keys only: environment variable names (VALID_API_KEYS, JWT_SECRET, …) reach this
    // section through the host's opt-in AddHokusaiEnvironmentVariables().
    private static void Bind(IConfiguration configuration, HokusaiAuthenticationOptions options) =>
        configuration.GetSection(HokusaiAuthenticationOptions.SectionName).Bind(options);

}
