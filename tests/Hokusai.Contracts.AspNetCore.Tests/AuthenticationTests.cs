using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hokusai.Contracts.AspNetCore.Authentication;
using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class AuthenticationTests
{
    [Fact]
    public async Task NoCredentials_Returns401InvalidTokenWithChallenges()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments", apiKey: null);

        await response.ErrorAsync(401, "INVALID_TOKEN");
        var challenges = response.Headers.WwwAuthenticate.Select(h => h.Scheme).ToList();
        Assert.Contains("ApiKey", challenges);
        Assert.Contains("Bearer", challenges);
        Assert.Empty(host.Service.Queries);
    }

    [Fact]
    public async Task UnknownApiKey_Returns401InvalidToken()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments", apiKey: "wrong-key-0123456789abcdef");

        await response.ErrorAsync(401, "INVALID_TOKEN");
        Assert.Empty(host.Service.Queries);
    }

    [Fact]
    public async Task ApiKeyPrefixOfValidKey_Returns401()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments", apiKey: ApiHost.AliceKey[..^1]);

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task UnauthenticatedPost_Returns401BeforeValidatingTheBody()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync("{not json", apiKey: null);

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Theory]
    [InlineData(ApiHost.AliceKey, "alice")]
    [InlineData(ApiHost.BobKey, "bob")]
    public async Task NamedApiKey_CallerIdentityIsTheName(string key, string owner)
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments", apiKey: key);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(owner, Assert.Single(host.Service.Queries).Owner);
    }

    [Fact]
    public async Task BareApiKey_CallerIdentityIsStableHashPrefix()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments", apiKey: ApiHost.BareKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = "key-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiHost.BareKey)))[..8];
        Assert.Equal(expected, Assert.Single(host.Service.Queries).Owner);
    }

    [Fact]
    public async Task ValidJwt_OwnerIsSubjectQualifiedBySchemeAndIssuer()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: "user-42"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tag = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ApiHost.JwtIssuer)))[..12];
        Assert.Equal($"jwt~{tag}~user-42", Assert.Single(host.Service.Queries).Owner);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("bob")]
    public async Task JwtWithSubjectOfAnApiKeyName_IsAnotherOwner(string subject)
    {
        await using var host = await ApiHost.StartAsync();

        using var byKey = await host.SendAsync(HttpMethod.Get, "/api/deployments", subject == "alice" ? ApiHost.AliceKey : ApiHost.BobKey);
        using var byJwt = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: subject));

        Assert.Equal(HttpStatusCode.OK, byKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byJwt.StatusCode);
        var owners = host.Service.Queries.Select(q => q.Owner).ToList();
        Assert.Equal(subject, owners[0]);
        Assert.NotEqual(owners[0], owners[1]);
    }

    [Fact]
    public async Task JwtWithSubjectOfAnUnnamedKey_IsAnotherOwner()
    {
        await using var host = await ApiHost.StartAsync();
        using var byKey = await host.SendAsync(HttpMethod.Get, "/api/deployments", ApiHost.BareKey);
        var keyOwner = Assert.Single(host.Service.Queries).Owner;

        using var byJwt = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: keyOwner));

        Assert.Equal(HttpStatusCode.OK, byJwt.StatusCode);
        Assert.StartsWith("key-", keyOwner, StringComparison.Ordinal);
        Assert.NotEqual(keyOwner, host.Service.Queries[1].Owner);
    }

    [Fact]
    public async Task JwtsOfTwoIssuers_SameSubject_AreDifferentOwners()
    {
        await using var host = await ApiHost.StartAsync(s => s.Remove("JWT_ISSUER"));

        using var first = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: "carol", issuer: "https://a.example"));
        using var second = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: "carol", issuer: "https://b.example"));
        // The issuer is a fixed-length tag, so moving text between issuer and subject is yet another owner.
        using var shifted = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: "b.example~carol", issuer: "https://a.example~"));

        Assert.All([first, second, shifted], r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(3, host.Service.Queries.Select(q => q.Owner).Distinct().Count());
    }

    [Fact]
    public async Task JwtClaimingTheInternalOwnerOrAdminClaims_IsIgnored()
    {
        await using var host = await ApiHost.StartAsync();
        var token = Jwt.Create(subject: "mallory", extra: new Dictionary<string, object> { ["hokusai:owner"] = "alice", ["hokusai:admin"] = "true" });

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("~mallory", Assert.Single(host.Service.Queries).Owner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LegacyJwtOwners_BareSubjectUnlessAnApiKeyHasThatName()
    {
        await using var host = await ApiHost.StartAsync(s => s["JWT_LEGACY_OWNERS"] = "true");

        using var legacy = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: "dave"));
        using var keyName = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: "alice"));

        Assert.Equal("dave", host.Service.Queries[0].Owner);
        Assert.StartsWith("jwt~", host.Service.Queries[1].Owner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForgedJwtSignature_Returns401InvalidToken()
    {
        await using var host = await ApiHost.StartAsync();
        var forged = Jwt.Create(secret: "another-secret-that-is-also-32-bytes-or-more");

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", forged);

        await response.ErrorAsync(401, "INVALID_TOKEN");
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer" && h.Parameter!.Contains("invalid_token"));
    }

    [Fact]
    public async Task TamperedJwtPayload_Returns401InvalidToken()
    {
        await using var host = await ApiHost.StartAsync();
        var parts = Jwt.Create(subject: "user-42").Split('.');
        var payload = Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(parts[1])).Replace("user-42", "admin-1");
        var tampered = $"{parts[0]}.{Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload)}.{parts[2]}";

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", tampered);

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task ExpiredJwt_Returns401TokenExpired()
    {
        await using var host = await ApiHost.StartAsync();
        var expired = Jwt.Create(expires: DateTime.UtcNow.AddMinutes(-5));

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", expired);

        await response.ErrorAsync(401, "TOKEN_EXPIRED");
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer" && h.Parameter!.Contains("expired"));
    }

    [Fact]
    public async Task AlgNoneJwt_Returns401InvalidToken()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Unsigned());

        await response.ErrorAsync(401, "INVALID_TOKEN");
        Assert.Empty(host.Service.Queries);
    }

    [Fact]
    public async Task WrongAudienceJwt_Returns401InvalidToken()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(audience: "some-other-api"));

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task WrongIssuerJwt_Returns401InvalidToken()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(issuer: "https://evil.example"));

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task JwtWithoutSubject_Returns401InvalidToken()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(subject: null));

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task JwtNotYetValid_Returns401()
    {
        await using var host = await ApiHost.StartAsync();
        var future = Jwt.Create(notBefore: DateTime.UtcNow.AddHours(1), expires: DateTime.UtcNow.AddHours(2));

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", future);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task JwtWithoutIssuerOrAudienceConfigured_AcceptsAnyIssuerAndAudience()
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s.Remove("JWT_ISSUER");
            s.Remove("JWT_AUDIENCE");
        });

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(issuer: "anyone", audience: "anything"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task JwtAddressClaimDiffersFromUserAddress_Returns403Unauthorized()
    {
        await using var host = await ApiHost.StartAsync();
        var token = Jwt.Create(address: "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");

        using var response = await host.WithBearerAsync(HttpMethod.Post, "/api/deployments", token, ApiHost.Body());

        await response.ErrorAsync(403, "UNAUTHORIZED");
        Assert.Empty(host.Service.Submissions);
    }

    [Fact]
    public async Task JwtAddressClaimMatchesInAnotherCase_Returns202()
    {
        await using var host = await ApiHost.StartAsync();
        var token = Jwt.Create(subject: "user-7", address: ApiHost.Address.ToLowerInvariant());

        using var response = await host.WithBearerAsync(HttpMethod.Post, "/api/deployments", token, ApiHost.Body());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.EndsWith("~user-7", Assert.Single(host.Service.Submissions).Owner, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JwtWithMalformedAddressClaim_Returns401()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create(address: "not-an-address"));

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public async Task JwtOnlyConfiguration_RejectsApiKeysAndAcceptsJwt()
    {
        await using var host = await ApiHost.StartAsync(s => s.Remove("VALID_API_KEYS"));

        using var keyResponse = await host.SendAsync(HttpMethod.Get, "/api/deployments", apiKey: ApiHost.AliceKey);
        using var jwtResponse = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create());

        await keyResponse.ErrorAsync(401, "INVALID_TOKEN");
        Assert.Equal(HttpStatusCode.OK, jwtResponse.StatusCode);
    }

    [Fact]
    public async Task ApiKeyOnlyConfiguration_RejectsJwt()
    {
        await using var host = await ApiHost.StartAsync(s => s.Remove("JWT_SECRET"));

        using var response = await host.WithBearerAsync(HttpMethod.Get, "/api/deployments", Jwt.Create());

        await response.ErrorAsync(401, "INVALID_TOKEN");
    }

    [Fact]
    public void ApiKeyRegistry_Find_MatchesOnlyExactKeys()
    {
        Assert.True(ApiKeyRegistry.TryParse(["alice:" + ApiHost.AliceKey, ApiHost.BareKey], out var entries, out _));
        var registry = new ApiKeyRegistry(entries);

        Assert.Equal("alice", registry.Find(ApiHost.AliceKey));
        Assert.StartsWith("key-", registry.Find(ApiHost.BareKey));
        Assert.Null(registry.Find(ApiHost.AliceKey.ToUpperInvariant()));
        Assert.Null(registry.Find(ApiHost.AliceKey + " "));
        Assert.Null(registry.Find(""));
    }

    [Fact]
    public void ApiKeyRegistry_Entries_KeepOnlyHashes()
    {
        Assert.True(ApiKeyRegistry.TryParse(["alice:" + ApiHost.AliceKey], out var entries, out _));

        var entry = Assert.Single(entries);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(ApiHost.AliceKey)), entry.Hash);
        Assert.DoesNotContain(ApiHost.AliceKey, entry.ToString());
    }
}
