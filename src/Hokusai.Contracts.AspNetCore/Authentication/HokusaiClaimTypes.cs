using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Security.Claims;

namespace Hokusai.Contracts.AspNetCore.Authentication;

/// <summary>Claim types as they appear in tokens (inbound claim-type mapping is off), and the API's own.</summary>
internal static class HokusaiClaimTypes
{
    /// <summary>The caller identity within its scheme (API-key name, or JWT <c>sub</c>).</summary>
    public const string Subject = "sub";

    /// <summary>The Ethereum address a JWT binds <c>userAddress</c> to.</summary>
    public const string Address = "address";

    /// <summary>
    /// Prefix of the claims the API sets itself. A token's own claims with this prefix are removed
    /// before these are added, so no token can choose its owner or grant itself the admin permission.
    /// </summary>
    public const string InternalPrefix = "hokusai:";

    /// <summary>The owner of jobs and quotas, qualified by scheme (and issuer); see <see cref="CallerIdentity"/>.</summary>
    public const string Owner = InternalPrefix + "owner";

    /// <summary>"true" when the caller has the operator permission.</summary>
    public const string Admin = InternalPrefix + "admin";
}

/// <summary>
/// The owner that jobs, idempotency keys, quotas, request limits and webhook settings are keyed by.
/// Identities of different schemes can never be equal: an API key's owner is its name (or <c>key-</c> +
/// hash), which never contains <c>~</c>; a JWT's owner is <c>jwt~&lt;issuer tag&gt;~&lt;sub&gt;</c>, the tag being
/// the first 12 hex digits of the SHA-256 of <c>iss</c> (of the empty string when the token has none). The tag
/// has a fixed length, so issuer and subject cannot be shifted into each other, and the form has no
/// <c>:</c>, so it can name a caller in <c>WEBHOOK_SECRETS</c> and configuration keys.
/// </summary>
internal static class CallerIdentity
{
    /// <summary>Prefix of JWT owners.</summary>
    public const string JwtPrefix = "jwt~";

    public static string GetOwner(ClaimsPrincipal user) =>
        TryGetOwner(user)
        ?? throw new InvalidOperationException("The caller has no owner; the route must require the Hokusai authorization policy.");

    public static string? TryGetOwner(ClaimsPrincipal user) => user.FindFirst(HokusaiClaimTypes.Owner)?.Value;

    /// <summary>The owner of a JWT with issuer <paramref name="issuer"/> (null or empty when absent) and subject <paramref name="subject"/>.</summary>
    public static string ForJwt(string? issuer, string subject) =>
        string.Create(CultureInfo.InvariantCulture, $"{JwtPrefix}{IssuerTag(issuer)}~{subject}");

    /// <summary>First 12 hex digits of the SHA-256 of <paramref name="issuer"/> (empty when null).</summary>
    public static string IssuerTag(string? issuer) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(issuer ?? string.Empty)), 0, 6);

    /// <summary>Replaces any claim a token brought under the API's own prefix with <paramref name="claims"/>.</summary>
    public static void SetInternalClaims(ClaimsIdentity identity, params Claim[] claims)
    {
        foreach (var claim in identity.Claims.Where(c => c.Type.StartsWith(HokusaiClaimTypes.InternalPrefix, StringComparison.OrdinalIgnoreCase)).ToList())
        {
            identity.RemoveClaim(claim);
        }

        foreach (var claim in claims)
        {
            identity.AddClaim(claim);
        }
    }

    /// <summary>Whether a JWT's role or scope claims hold <paramref name="role"/>.</summary>
    public static bool HasRole(ClaimsPrincipal user, string role)
    {
        foreach (var claim in user.Claims)
        {
            var matches = claim.Type switch
            {
                "role" or "roles" or ClaimTypes.Role => string.Equals(claim.Value, role, StringComparison.Ordinal),
                "scope" or "scp" => claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(role, StringComparer.Ordinal),
                _ => false,
            };
            if (matches)
            {
                return true;
            }
        }

        return false;
    }
}
