namespace Hokusai.Contracts.AspNetCore;

/// <summary>Names of the API's authentication schemes and authorization policy.</summary>
public static class HokusaiAuthenticationDefaults
{
    /// <summary>The policy scheme that picks <see cref="ApiKeyScheme"/> or <see cref="JwtScheme"/> by header.</summary>
    public const string Scheme = "Hokusai";

    /// <summary>The API-key scheme (header <see cref="ApiKeyHeader"/>).</summary>
    public const string ApiKeyScheme = "HokusaiApiKey";

    /// <summary>The JWT bearer scheme.</summary>
    public const string JwtScheme = "HokusaiJwt";

    /// <summary>The authorization policy required by every API route.</summary>
    public const string Policy = "Hokusai";

    /// <summary>
    /// The operator policy (<c>/health/detailed</c>): an <c>ADMIN_API_KEYS</c> key, or a JWT with the
    /// <see cref="HokusaiAuthenticationOptions.AdminRole"/> role or scope.
    /// </summary>
    public const string AdminPolicy = "HokusaiAdmin";

    /// <summary>The header carrying an API key.</summary>
    public const string ApiKeyHeader = "X-API-Key";
}
