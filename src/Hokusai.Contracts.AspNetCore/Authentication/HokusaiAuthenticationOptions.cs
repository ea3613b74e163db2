namespace Hokusai.Contracts.AspNetCore;

/// <summary>
/// Credentials accepted by the API. <c>AddHokusaiApi</c> binds them from the configuration section
/// <see cref="SectionName"/>; <c>AddHokusaiEnvironmentVariables</c> maps the original service's variables
/// onto it (<c>VALID_API_KEYS</c>, <c>JWT_SECRET</c>, <c>JWT_ISSUER</c>, <c>JWT_AUDIENCE</c>, <c>JWT_AUTHORITY</c>, …).
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

    /// <summary>
    /// Operator keys (<c>ADMIN_API_KEYS</c>, same format as <see cref="ApiKeys"/>): they authenticate like
    /// any key and also carry the admin permission that <c>/health/detailed</c> requires. Never logged.
    /// </summary>
    public IList<string> AdminApiKeys { get; } = [];

    /// <summary>
    /// Role or scope that gives a JWT the admin permission (<c>JWT_ADMIN_ROLE</c>): found in the
    /// <c>role</c>/<c>roles</c> claims, or among the space-separated <c>scope</c>/<c>scp</c> values.
    /// </summary>
    public string AdminRole { get; set; } = "hokusai:admin";

    /// <summary>
    /// Migration switch for jobs stored before JWT owners were qualified by issuer (<c>JWT_LEGACY_OWNERS</c>):
    /// when true, a JWT caller whose <c>sub</c> is not the identity of a configured API key keeps its bare
    /// <c>sub</c> as owner, so it still sees the jobs it created under that name. Off by default.
    /// </summary>
    public bool LegacyJwtOwners { get; set; }

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
        $"HokusaiAuthenticationOptions {{ ApiKeys = {ApiKeys.Count}, AdminApiKeys = {AdminApiKeys.Count}, AdminRole = {AdminRole}, LegacyJwtOwners = {LegacyJwtOwners}, JwtSecret = {(string.IsNullOrEmpty(JwtSecret) ? "<unset>" : "<redacted>")}, JwtIssuer = {JwtIssuer}, JwtAudience = {JwtAudience}, JwtAuthority = {JwtAuthority} }}";
}
