using System.Security.Claims;
using System.Text;
using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
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

    /// <summary>Longest accepted <c>sub</c> and <c>iss</c>: they become part of storage keys.</summary>
    public const int MaxClaimLength = 256;

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

    /// <summary>
    /// The JWT's owner, qualified by issuer; with <see cref="HokusaiAuthenticationOptions.LegacyJwtOwners"/>
    /// the bare <c>sub</c> of earlier versions, unless a configured API key has that identity.
    /// </summary>
    private static string Owner(HttpContext context, HokusaiAuthenticationOptions settings, ClaimsPrincipal principal, string subject)
    {
        if (settings.LegacyJwtOwners
            && !subject.StartsWith(CallerIdentity.JwtPrefix, StringComparison.Ordinal)
            && context.RequestServices.GetService<ApiKeyRegistry>() is { } keys
            && !keys.IsKeyIdentity(subject))
        {
            return subject;
        }

        return CallerIdentity.ForJwt(principal.FindFirst("iss")?.Value, subject);
    }

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
            OnTokenValidated = context =>
            {
                var principal = context.Principal;
                var subject = principal?.FindFirst(HokusaiClaimTypes.Subject)?.Value;
                if (string.IsNullOrEmpty(subject))
                {
                    context.Fail("The token has no 'sub' claim.");
                }
                else if (principal!.FindFirst(HokusaiClaimTypes.Address)?.Value is { } address && !EthereumAddress.HasValidFormat(address))
                {
                    context.Fail("The token's 'address' claim is not an Ethereum address.");
                }
                else if (subject.Length > MaxClaimLength || principal.FindFirst("iss")?.Value.Length > MaxClaimLength)
                {
                    context.Fail("The token's 'sub' or 'iss' claim is too long.");
                }
                else if (principal.Identity is ClaimsIdentity identity)
                {
                    CallerIdentity.SetInternalClaims(
                        identity,
                        new Claim(HokusaiClaimTypes.Owner, Owner(context.HttpContext, settings, principal, subject)),
                        new Claim(HokusaiClaimTypes.Admin, CallerIdentity.HasRole(principal, settings.AdminRole) ? "true" : "false"));
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
