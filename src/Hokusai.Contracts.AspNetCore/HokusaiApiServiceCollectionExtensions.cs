using Hokusai.Contracts.AspNetCore.Authentication;
using Hokusai.Contracts.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
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
    /// The configuration: section <see cref="HokusaiAuthenticationOptions.SectionName"/>, overridden by the
    /// keys <c>VALID_API_KEYS</c>, <c>JWT_SECRET</c>, <c>JWT_ISSUER</c>, <c>JWT_AUDIENCE</c>, <c>JWT_AUTHORITY</c>.
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
        services.AddSingleton<Http.RequestRateLimiter>();

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

    private static void Bind(IConfiguration configuration, HokusaiAuthenticationOptions options)
    {
        configuration.GetSection(HokusaiAuthenticationOptions.SectionName).Bind(options);
        if (configuration["VALID_API_KEYS"] is { Length: > 0 } keys)
        {
            options.ApiKeys.Clear();
            options.ApiKeys.Add(keys);
        }

        if (configuration["ADMIN_API_KEYS"] is { Length: > 0 } admins)
        {
            options.AdminApiKeys.Clear();
            options.AdminApiKeys.Add(admins);
        }

        options.AdminRole = NonEmpty(configuration["JWT_ADMIN_ROLE"]) ?? options.AdminRole;
        if (NonEmpty(configuration["JWT_LEGACY_OWNERS"]) is { } legacy)
        {
            // Kept for the validator, which stops start-up on anything but true or false.
            options.LegacyJwtOwnersSetting = legacy;
            options.LegacyJwtOwners = bool.TryParse(legacy, out var on) && on;
        }

        options.JwtSecret = NonEmpty(configuration["JWT_SECRET"]) ?? options.JwtSecret;
        options.JwtIssuer = NonEmpty(configuration["JWT_ISSUER"]) ?? options.JwtIssuer;
        options.JwtAudience = NonEmpty(configuration["JWT_AUDIENCE"]) ?? options.JwtAudience;
        options.JwtAuthority = NonEmpty(configuration["JWT_AUTHORITY"]) ?? options.JwtAuthority;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
