using System.Security.Claims;
using System.Text.Encodings.Web;
using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore.Authentication;

/// <summary>Authenticates <c>X-API-Key</c>; challenges answer 401 <c>INVALID_TOKEN</c> in the error envelope.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyRegistry registry)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string ChallengeHeader = "ApiKey header=\"X-API-Key\"";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HokusaiAuthenticationDefaults.ApiKeyHeader, out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (values.Count != 1 || string.IsNullOrEmpty(values[0]))
        {
            return Task.FromResult(AuthenticateResult.Fail("Malformed API key header."));
        }

        var entry = registry.FindEntry(values[0]!);
        if (entry is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(
            [
                new Claim(HokusaiClaimTypes.Subject, entry.Identity),
                // A key's owner is its bare name, as jobs stored before owners were qualified have it.
                new Claim(HokusaiClaimTypes.Owner, entry.Identity),
                new Claim(HokusaiClaimTypes.Admin, entry.Admin ? "true" : "false"),
            ],
            Scheme.Name,
            HokusaiClaimTypes.Subject,
            ClaimTypes.Role));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.Append("WWW-Authenticate", ChallengeHeader);
        Response.Headers.Append("WWW-Authenticate", "Bearer");
        var message = Request.Headers.ContainsKey(HokusaiAuthenticationDefaults.ApiKeyHeader)
            ? "The API key is invalid."
            : "Authentication is required: send X-API-Key or Authorization: Bearer <token>.";
        return ApiResults.WriteErrorAsync(Context, StatusCodes.Status401Unauthorized, ErrorCodes.InvalidToken, message);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiResults.WriteErrorAsync(Context, StatusCodes.Status403Forbidden, ErrorCodes.Unauthorized, "The caller may not use this resource.");
}
