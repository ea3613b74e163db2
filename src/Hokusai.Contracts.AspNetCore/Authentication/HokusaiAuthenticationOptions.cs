namespace Hokusai.Contracts.AspNetCore;

/// <summary>
/// Credentials accepted by the API. <c>AddHokusaiApi</c> binds them from the configuration section
/// <see cref="SectionName"/> and then from the original service's environment variables, which win:
/// <c>VALID_API_KEYS</c>, <c>JWT_SECRET</c>, <c>JWT_ISSUER</c>, <c>JWT_AUDIENCE</c>, <c>JWT_AUTHORITY</c>.
/// At least one of API keys, a JWT secret or a JWT authority must be set.
/// </summary>
public sealed class HokusaiAuthenticationOptions
{
    /// <summary>The configuration section bound to these options.</summary>
    public const string SectionName = "HokusaiContracts:Authentication";

    /// <summary>
    /// API keys (<c>VALID_API_KEYS</c>, comma separated). An entry <c>name:key</c> makes <c>name</c> the
    /// caller's identity; a bare key gets the identity <c>key-</c> + the first 8 hex digits of its SHA-256.
    /// Keys are at least 16 characters. Never logged.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>HS256 signing secret of JWTs (<c>JWT_SECRET</c>), at least 32 bytes. Never logged.</summary>
    public string? JwtSecret { get; set; }

    /// <summary>Required <c>iss</c> of JWTs (<c>JWT_ISSUER</c>); not checked when unset (unless an authority is set).</summary>
    public string? JwtIssuer { get; set; }

    /// <summary>Required <c>aud</c> of JWTs (<c>JWT_AUDIENCE</c>); not checked when unset.</summary>
    public string? JwtAudience { get; set; }

    /// <summary>
    /// OpenID Connect authority (<c>JWT_AUTHORITY</c>) whose discovery document and JWKS provide RS256
    /// signing keys. Must be https except on a loopback host.
    /// </summary>
    public string? JwtAuthority { get; set; }

    /// <summary>Tolerated clock difference when checking JWT lifetimes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Describes the settings without any secret.</summary>
    public override string ToString() =>
        $"HokusaiAuthenticationOptions {{ ApiKeys = {ApiKeys.Count}, JwtSecret = {(string.IsNullOrEmpty(JwtSecret) ? "<unset>" : "<redacted>")}, JwtIssuer = {JwtIssuer}, JwtAudience = {JwtAudience}, JwtAuthority = {JwtAuthority} }}";
}
