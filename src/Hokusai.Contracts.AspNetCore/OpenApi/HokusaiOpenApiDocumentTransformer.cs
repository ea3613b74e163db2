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

    /// <summary>The error codes each status can carry, for the response descriptions.</summary>
    private static readonly Dictionary<string, string> ErrorDescriptions = new(StringComparer.Ordinal)
    {
        ["400"] = "VALIDATION_ERROR: invalid body field, malformed JSON, non-UUID id or bad query; details is {fields:[{field, message}]}.",
        ["401"] = "INVALID_TOKEN (missing or invalid credentials) or TOKEN_EXPIRED (expired JWT); see WWW-Authenticate.",
        ["403"] = "UNAUTHORIZED: userAddress differs from the JWT's address claim.",
        ["404"] = "DEPLOYMENT_NOT_FOUND: no such deployment for the caller.",
        ["409"] = "TOKEN_ALREADY_EXISTS or DEPLOYMENT_IN_PROGRESS (create); DEPLOYMENT_NOT_CANCELLABLE (cancel).",
        ["413"] = "VALIDATION_ERROR: the body is over 64 KiB.",
        ["415"] = "UNSUPPORTED_MEDIA_TYPE: the body is not JSON.",
        ["422"] = "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with another body.",
        ["429"] = "RATE_LIMIT_EXCEEDED: quota used up; Retry-After and RateLimit-* headers say when to retry.",
        ["500"] = "INTERNAL_ERROR: unexpected failure, no details exposed.",
        ["503"] = "SERVICE_UNAVAILABLE: a dependency is down; retryable, see Retry-After.",
    };

    /// <summary>Marks an operation as accepting either scheme and names the error codes of its error responses.</summary>
    internal static Task AddSecurityAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (response is OpenApiResponse concrete && ErrorDescriptions.TryGetValue(status, out var description))
            {
                concrete.Description = description;
            }
        }

        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeySchemeId, context.Document)] = [] });
        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerSchemeId, context.Document)] = [] });
        return Task.CompletedTask;
    }
}
