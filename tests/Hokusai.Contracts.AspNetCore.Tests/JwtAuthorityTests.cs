using System.Net;
using System.Security.Cryptography;
using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Hokusai.Contracts.AspNetCore.Tests;

/// <summary>RS256 through <c>JWT_AUTHORITY</c>: a real OpenID Connect discovery document and JWKS served on loopback.</summary>
public sealed class JwtAuthorityTests : IAsyncLifetime
{
    private readonly RSA _rsa = RSA.Create(2048);
    private WebApplication? _authority;
    private string _issuer = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _authority = builder.Build();
        var parameters = _rsa.ExportParameters(false);
        _authority.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = _issuer,
            ["jwks_uri"] = _issuer + "/jwks",
        }));
        _authority.MapGet("/jwks", () => Results.Json(new
        {
            keys = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = "test-key",
                    ["n"] = Base64UrlEncoder.Encode(parameters.Modulus!), ["e"] = Base64UrlEncoder.Encode(parameters.Exponent!),
                },
            },
        }));
        await _authority.StartAsync();
        _issuer = _authority.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        if (_authority is not null)
        {
            await _authority.DisposeAsync();
        }

        _rsa.Dispose();
    }

    private Task<ApiHost> StartApiAsync() => ApiHost.StartAsync(s =>
    {
        s.Remove("JWT_SECRET");
        s.Remove("JWT_ISSUER");
        s["JWT_AUTHORITY"] = _issuer;
    });

    private string Rs256(RSA key, string? issuer = null) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Claims = new Dictionary<string, object> { ["sub"] = "oidc-user" },
        Issuer = issuer ?? _issuer,
        Audience = ApiHost.JwtAudience,
        Expires = DateTime.UtcNow.AddMinutes(10),
        SigningCredentials = new SigningCredentials(new RsaSecurityKey(key) { KeyId = "test-key" }, SecurityAlgorithms.RsaSha256),
    });

    [Fact]
    public async Task Rs256TokenSignedByTheAuthority_IsAccepted()
    {
        await using var host = await StartApiAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Rs256(_rsa));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"jwt~{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(_issuer)))[..12]}~oidc-user", Assert.Single(host.Service.Queries).Owner);
    }

    [Fact]
    public async Task Rs256TokenSignedByAnotherKey_Returns401()
    {
        await using var host = await StartApiAsync();
        using var other = RSA.Create(2048);

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Rs256(other));

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task Rs256TokenFromAnotherIssuer_Returns401()
    {
        await using var host = await StartApiAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Rs256(_rsa, issuer: "https://elsewhere.example"));

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task Hs256TokenWithoutConfiguredSecret_Returns401()
    {
        await using var host = await StartApiAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(issuer: _issuer));

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }
}
