using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Hokusai.Contracts.AspNetCore.OpenApi;

/// <summary>Describes the API and its two security schemes (API key header, JWT bearer) in the OpenAPI document.</summary>
internal sealed class HokusaiOpenApiDocumentTransformer : IOpenApiDocumentTransformer
{
    public const string ApiKeySchemeId = "ApiKey";
    public const string BearerSchemeId = "Bearer";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info ??= new OpenApiInfo();
        document.Info.Title = "Hokusai Contracts API";
        document.Info.Version = "1.0";
        document.Info.Description =
            "Deploys an ERC-20 token for an ML model, registers it in the ModelRegistry and reports the job's progress. "
            + "Every response carries X-Request-Id; errors use the envelope {success:false, error:{code, message, details, suggestions, timestamp, retryable}}.";

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiKeySchemeId] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = HokusaiAuthenticationDefaults.ApiKeyHeader,
            Description = "An API key from VALID_API_KEYS.",
        };
        document.Components.SecuritySchemes[BearerSchemeId] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A JWT signed with JWT_SECRET (HS256) or by JWT_AUTHORITY (RS256); 'sub' is the caller, 'address' binds userAddress.",
        };
        return Task.CompletedTask;
    }

    /// <summary>Marks an operation as accepting either scheme.</summary>
    internal static Task AddSecurityAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeySchemeId, context.Document)] = [] });
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerSchemeId, context.Document)] = [] });
        return Task.CompletedTask;
    }
}
