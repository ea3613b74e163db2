using System.Text;
using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Hokusai.Contracts.AspNetCore.Authentication;

/// <summary>
/// Configures the JWT scheme from <see cref="HokusaiAuthenticationOptions"/>: HS256 with
/// <c>JWT_SECRET</c> and/or RS256 keys from <c>JWT_AUTHORITY</c>; lifetime and signature always
/// checked, issuer and audience when configured; unsigned (<c>alg:none</c>) tokens rejected.
/// </summary>
internal sealed class ConfigureHokusaiJwtBearer(IOptions<HokusaiAuthenticationOptions> authentication)
    : IConfigureNamedOptions<JwtBearerOptions>
{
    private static readonly string[] AsymmetricAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, JwtBearerOptions options)
    {
        if (name != HokusaiAuthenticationDefaults.JwtScheme)
        {
            return;
        }

        var settings = authentication.Value;
        var algorithms = new List<string>();
        var parameters = new TokenValidationParameters
        {
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = settings.ClockSkew,
            NameClaimType = HokusaiClaimTypes.Subject,
            ValidateIssuer = !string.IsNullOrEmpty(settings.JwtIssuer),
            ValidIssuer = settings.JwtIssuer,
            ValidateAudience = !string.IsNullOrEmpty(settings.JwtAudience),
            ValidAudience = settings.JwtAudience,
        };

        if (!string.IsNullOrEmpty(settings.JwtSecret))
        {
            parameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(settings.JwtSecret));
            algorithms.Add(SecurityAlgorithms.HmacSha256);
        }

        if (!string.IsNullOrEmpty(settings.JwtAuthority))
        {
            options.Authority = settings.JwtAuthority;
            options.RequireHttpsMetadata = settings.JwtAuthority.StartsWith("https:", StringComparison.OrdinalIgnoreCase);
            // With an authority the issuer is always checked: the metadata supplies it when JWT_ISSUER is unset.
            parameters.ValidateIssuer = true;
            algorithms.AddRange(AsymmetricAlgorithms);
        }

        // Without any key source nothing validates; the option validator makes sure one exists.
        parameters.ValidAlgorithms = algorithms.Count > 0 ? algorithms : [SecurityAlgorithms.HmacSha256];
        options.TokenValidationParameters = parameters;
        options.MapInboundClaims = false;
        options.SaveToken = false;
        options.IncludeErrorDetails = false;
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = static context =>
            {
                var principal = context.Principal;
                if (string.IsNullOrEmpty(principal?.FindFirst(HokusaiClaimTypes.Subject)?.Value))
                {
                    context.Fail("The token has no 'sub' claim.");
                }
                else if (principal.FindFirst(HokusaiClaimTypes.Address)?.Value is { } address && !EthereumAddress.HasValidFormat(address))
                {
                    context.Fail("The token's 'address' claim is not an Ethereum address.");
                }

                return Task.CompletedTask;
            },
            OnChallenge = static context =>
            {
                context.HandleResponse();
                var expired = context.AuthenticateFailure is SecurityTokenExpiredException;
                var description = expired ? "The token expired" : "The token is missing or invalid";
                context.Response.Headers.Append("WWW-Authenticate", $"Bearer error=\"invalid_token\", error_description=\"{description}\"");
                return ApiResults.WriteErrorAsync(
                    context.HttpContext,
                    StatusCodes.Status401Unauthorized,
                    expired ? ErrorCodes.TokenExpired : ErrorCodes.InvalidToken,
                    expired ? "The token has expired." : "The bearer token is invalid.");
            },
            OnForbidden = static context => ApiResults.WriteErrorAsync(
                context.HttpContext, StatusCodes.Status403Forbidden, ErrorCodes.Unauthorized, "The caller may not use this resource."),
        };
    }
}
