using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Hokusai.Contracts.AspNetCore.Tests.Infrastructure;

/// <summary>Creates test JWTs.</summary>
internal static class Jwt
{
    public static string Create(
        string? subject = "user-42",
        string? address = null,
        string secret = ApiHost.JwtSecret,
        string issuer = ApiHost.JwtIssuer,
        string audience = ApiHost.JwtAudience,
        DateTime? expires = null,
        DateTime? notBefore = null,
        IReadOnlyDictionary<string, object>? extra = null)
    {
        var claims = new Dictionary<string, object>(extra ?? new Dictionary<string, object>());
        if (subject is not null)
        {
            claims["sub"] = subject;
        }

        if (address is not null)
        {
            claims["address"] = address;
        }

        var exp = expires ?? DateTime.UtcNow.AddMinutes(10);
        var nbf = notBefore ?? (exp < DateTime.UtcNow ? exp.AddHours(-1) : DateTime.UtcNow.AddMinutes(-1));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Issuer = issuer,
            Audience = audience,
            IssuedAt = nbf,
            NotBefore = nbf,
            Expires = exp,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public static string Unsigned(string subject = "user-42")
    {
        var exp = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        var now = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode($$"""{"sub":"{{subject}}","iss":"{{ApiHost.JwtIssuer}}","aud":"{{ApiHost.JwtAudience}}","nbf":{{now}},"iat":{{now}},"exp":{{exp}}}""");
        return $"{header}.{payload}.";
    }
}
