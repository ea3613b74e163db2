using Microsoft.Extensions.Configuration;
using System.Diagnostics;
using System.Net;
using System.Numerics;
using System.Text.Json;
using Hokusai.Contracts.Chain;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

using Hokusai.Contracts.Tests.Health;

namespace Hokusai.Contracts.AspNetCore.Tests.Health;

public sealed class HealthEndpointTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body, string Raw)> GetAsync(HttpClient client, string path, bool authenticated = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (authenticated)
        {
            request.Headers.Add(HealthTestHost.UserHeader, "operator");
        }

        using var response = await client.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        var body = raw.Length > 0 ? JsonDocument.Parse(raw).RootElement.Clone() : default;
        return (response.StatusCode, body, raw);
    }

    [Fact]
    public async Task Live_Always_Returns200OkWithTimestamp()
    {
        await using var host = await HealthTestHost.StartAsync();
        host.Chain.Status = _ => throw new ChainException(ChainErrorKind.Transient, "down");

        var (status, body, _) = await GetAsync(host.Client, "/health");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("timestamp").TryGetDateTimeOffset(out _));
        Assert.Equal(0, host.Chain.StatusCalls);
    }

    [Fact]
    public async Task Ready_AllHealthy_Returns200WithEachCheck()
    {
        await using var host = await HealthTestHost.StartAsync();

        var (status, body, _) = await GetAsync(host.Client, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        var checks = body.GetProperty("checks");
        foreach (var name in new[] { "lifecycle", "rpc", "model_registry" })
        {
            Assert.Equal("healthy", checks.GetProperty(name).GetProperty("status").GetString());
            Assert.True(checks.GetProperty(name).GetProperty("durationMs").GetDouble() >= 0);
        }
    }

    [Fact]
    public async Task Ready_RpcDown_Returns503NamingRpc()
    {
        await using var host = await HealthTestHost.StartAsync();
        host.Chain.Status = _ => throw new ChainException(ChainErrorKind.Transient, "connection refused");

        var (status, body, _) = await GetAsync(host.Client, "/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not_ready", body.GetProperty("status").GetString());
        var rpc = body.GetProperty("checks").GetProperty("rpc");
        Assert.Equal("unhealthy", rpc.GetProperty("status").GetString());
        Assert.Contains("connection refused", rpc.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("healthy", body.GetProperty("checks").GetProperty("model_registry").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ready_RegistryDown_Returns503NamingModelRegistry()
    {
        await using var host = await HealthTestHost.StartAsync();
        host.Chain.Registry = _ => throw new ChainException(ChainErrorKind.Reverted, "execution reverted");

        var (status, body, _) = await GetAsync(host.Client, "/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("unhealthy", body.GetProperty("checks").GetProperty("model_registry").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ready_RpcHangs_Returns503AfterProbeTimeout()
    {
        await using var host = await HealthTestHost.StartAsync();
        host.Chain.Status = _ => new TaskCompletionSource<ChainStatus>().Task;
        host.Chain.Registry = _ => new TaskCompletionSource<string?>().Task;

        var sw = Stopwatch.StartNew();
        var (status, body, _) = await GetAsync(host.Client, "/health/ready");
        sw.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("timed out", body.GetProperty("checks").GetProperty("rpc").GetProperty("description").GetString(), StringComparison.Ordinal);
        // The 2 s probe timeout itself is checked on fake time in CachedProbeTests; here the bound only
        // proves the request does not hang with the RPC, with room for a loaded shared machine.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Ready_ProbedRepeatedly_HitsChainOnceWithinCacheWindow()
    {
        await using var host = await HealthTestHost.StartAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => GetAsync(host.Client, "/health/ready")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(1, host.Chain.StatusCalls);
        Assert.Equal(1, host.Chain.RegistryCalls);
    }

    [Fact]
    public async Task Ready_AfterCacheWindow_ProbesAgain()
    {
        // The cache ages by the host's TimeProvider: fake time puts both reads exactly where the test means them.
        var time = new FakeTimeProvider();
        await using var host = await HealthTestHost.StartAsync(configure: builder => builder.Services.AddSingleton<TimeProvider>(time));

        await GetAsync(host.Client, "/health/ready");
        time.Advance(TimeSpan.FromMilliseconds(1999));
        await GetAsync(host.Client, "/health/ready");
        var withinWindow = host.Chain.StatusCalls;
        time.Advance(TimeSpan.FromMilliseconds(1));
        await GetAsync(host.Client, "/health/ready");

        Assert.Equal(1, withinWindow);
        Assert.Equal(2, host.Chain.StatusCalls);
    }

    [Fact]
    public async Task Ready_WhenShutdownBegins_Returns503ShuttingDown()
    {
        await using var host = await HealthTestHost.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(host.Client, "/health/ready")).Status);
        var lifetime = host.App.Services.GetRequiredService<IHostApplicationLifetime>();
        (HttpStatusCode Status, JsonElement Body, string Raw)? during = null;
        // The server still runs while stopping callbacks execute: this is what the load balancer sees.
        lifetime.ApplicationStopping.Register(() => during = GetAsync(host.Client, "/health/ready").GetAwaiter().GetResult());

        await host.App.StopAsync();

        Assert.NotNull(during);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.Value.Status);
        var lifecycle = during.Value.Body.GetProperty("checks").GetProperty("lifecycle");
        Assert.Equal("shutting down", lifecycle.GetProperty("description").GetString());
    }

    [Fact]
    public async Task Ready_WhileStarting_Returns503Starting()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await HealthTestHost.StartAsync(
            configure: b =>
            {
                // Concurrent start lets the server listen while another service is still starting.
                b.Services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);
                b.Services.AddHostedService(_ => new BlockingStartService(gate.Task));
            },
            start: false);

        var starting = host.App.StartAsync();
        (HttpStatusCode Status, JsonElement Body, string Raw) during;
        try
        {
            during = await GetAsync(await host.WaitForServerAsync(), "/health/ready");
        }
        finally
        {
            gate.SetResult();
            await starting;
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.Status);
        Assert.Equal("starting", during.Body.GetProperty("checks").GetProperty("lifecycle").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(host.Client, "/health/ready")).Status);
    }

    [Fact]
    public async Task LiveAndReady_UnderFallbackPolicyRequiringAuth_StayAnonymous()
    {
        await using var host = await HealthTestHost.StartAsync(configure: b => b.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build()));

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(host.Client, "/health")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(host.Client, "/health/ready")).Status);
    }

    private sealed class BlockingStartService(Task gate) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => gate;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

public sealed class DetailedHealthEndpointTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body, string Raw)> GetAsync(HttpClient client, bool authenticated)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/detailed");
        if (authenticated)
        {
            request.Headers.Add(HealthTestHost.UserHeader, "operator");
        }

        using var response = await client.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, raw.Length > 0 ? JsonDocument.Parse(raw).RootElement.Clone() : default, raw);
    }

    [Fact]
    public async Task Detailed_Anonymous_Returns401()
    {
        await using var host = await HealthTestHost.StartAsync();

        var (status, _, _) = await GetAsync(host.Client, authenticated: false);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(0, host.Chain.StatusCalls);
    }

    [Fact]
    public async Task Detailed_WithHokusaiApi_AdminKeyOrRoleOnlyTenants403Anonymous401()
    {
        // As the reference host composes it: the API's policy scheme, and no default scheme to fall back on.
        await using var host = await HealthTestHost.StartAsync(configure: b =>
        {
            b.Configuration.AddHokusaiEnvironmentVariables(new Dictionary<string, string?> { ["ADMIN_API_KEYS"] = "ops:admin-key-ffffffffffffffff" });
            b.Services.AddHokusaiApi(b.Configuration);
        });
        async Task<HttpResponseMessage> GetAsync(string header, string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/health/detailed");
            request.Headers.TryAddWithoutValidation(header, value);
            return await host.Client.SendAsync(request);
        }

        static string Token(IReadOnlyDictionary<string, object> claims) => new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(
            new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
            {
                Claims = new Dictionary<string, object>(claims) { ["sub"] = "op" },
                Expires = DateTime.UtcNow.AddMinutes(5),
                SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                    new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(HealthTestHost.Secrets["JWT_SECRET"]!)),
                    Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
            });

        using var admin = await GetAsync("X-API-Key", "admin-key-ffffffffffffffff");
        using var tenant = await GetAsync("X-API-Key", "key-one-aaaaaaaaaaaaaaaa");
        using var role = await GetAsync("Authorization", "Bearer " + Token(new Dictionary<string, object> { ["roles"] = new[] { "reader", "hokusai:admin" } }));
        using var scope = await GetAsync("Authorization", "Bearer " + Token(new Dictionary<string, object> { ["scope"] = "read hokusai:admin" }));
        using var plainJwt = await GetAsync("Authorization", "Bearer " + Token(new Dictionary<string, object> { ["scope"] = "read" }));
        using var anonymous = await host.Client.GetAsync("/health/detailed");

        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, role.StatusCode);
        Assert.Equal(HttpStatusCode.OK, scope.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, tenant.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, plainJwt.StatusCode);
        Assert.DoesNotContain("jobs", await tenant.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Detailed_Authenticated_ReportsChainQueueJobsMemoryAndConfiguration()
    {
        await using var host = await HealthTestHost.StartAsync();

        var (status, body, _) = await GetAsync(host.Client, authenticated: true);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("memory").GetProperty("workingSetBytes").GetInt64() > 0);
        Assert.True(body.GetProperty("memory").GetProperty("gcHeapBytes").GetInt64() > 0);
        Assert.True(body.GetProperty("uptimeSeconds").GetDouble() >= 0);
        Assert.False(string.IsNullOrEmpty(body.GetProperty("version").GetString()));
        var chain = body.GetProperty("chain");
        Assert.Equal(31337, chain.GetProperty("chainId").GetInt64());
        Assert.Equal(42UL, chain.GetProperty("latestBlock").GetUInt64());
        Assert.Equal(host.Chain.DeployerAddress, chain.GetProperty("deployerAddress").GetString());
        Assert.Equal("1000000000000000000", chain.GetProperty("deployerBalanceWei").GetString());
        Assert.Equal(1m, chain.GetProperty("deployerBalanceEth").GetDecimal());
        Assert.False(chain.GetProperty("deployerBalanceLow").GetBoolean());
        Assert.Equal(5, body.GetProperty("queue").GetProperty("depth").GetInt64());
        var jobs = body.GetProperty("jobs").GetProperty("byStatus");
        Assert.Equal(3, jobs.GetProperty("pending").GetInt64());
        Assert.Equal(9, jobs.GetProperty("completed").GetInt64());
        Assert.Equal(0, jobs.GetProperty("failed").GetInt64());
        var config = body.GetProperty("configuration");
        Assert.Equal("set", config.GetProperty("DEPLOYER_PRIVATE_KEY").GetString());
        Assert.Equal("set", config.GetProperty("JWT_SECRET").GetString());
        Assert.Equal("unset", config.GetProperty("TOKEN_MANAGER_ADDRESS").GetString());
        Assert.Equal("healthy", body.GetProperty("checks").GetProperty("rpc").GetProperty("status").GetString());
        Assert.Empty(body.GetProperty("warnings").EnumerateArray());
    }

    [Fact]
    public async Task Detailed_BalanceBelowThreshold_Warns()
    {
        await using var host = await HealthTestHost.StartAsync(o => o.DeployerBalanceWarningEth = 0.5m);
        host.Chain.Status = _ => Task.FromResult(FakeChainClient.DefaultStatus(balance: BigInteger.Pow(10, 17)));

        var (_, body, _) = await GetAsync(host.Client, authenticated: true);

        Assert.True(body.GetProperty("chain").GetProperty("deployerBalanceLow").GetBoolean());
        Assert.Contains(body.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("0.1 ETH", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Detailed_StoreAndQueueDown_ReportsErrorsAndStillAnswers()
    {
        await using var host = await HealthTestHost.StartAsync();
        host.Store.Counts = _ => throw new StoreUnavailableException("Redis is unreachable.");
        host.Queue.Depth = _ => new ValueTask<long>(new TaskCompletionSource<long>().Task);

        var (status, body, _) = await GetAsync(host.Client, authenticated: true);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Redis is unreachable.", body.GetProperty("jobs").GetProperty("error").GetString());
        Assert.Equal("timed out", body.GetProperty("queue").GetProperty("error").GetString());
    }

    [Fact]
    public async Task Detailed_NotReady_Returns503WithReport()
    {
        await using var host = await HealthTestHost.StartAsync();
        host.Chain.Status = _ => throw new ChainException(ChainErrorKind.Transient, "down");

        var (status, body, _) = await GetAsync(host.Client, authenticated: true);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not_ready", body.GetProperty("status").GetString());
        Assert.Contains("down", body.GetProperty("chain").GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detailed_TurnedOff_Returns404()
    {
        await using var host = await HealthTestHost.StartAsync(o => o.DetailedEnabled = false);

        var (status, _, _) = await GetAsync(host.Client, authenticated: true);

        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task Detailed_Output_ContainsNoSecretValues()
    {
        await using var host = await HealthTestHost.StartAsync();
        host.Chain.Registry = _ => throw new ChainException(ChainErrorKind.Transient, "POST " + HealthTestHost.Secrets["RPC_URL"] + " failed");

        var (_, _, raw) = await GetAsync(host.Client, authenticated: true);

        Assert.Contains("model_registry", raw, StringComparison.Ordinal);
        foreach (var secret in new[] { "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "key-one-aaaaaaaaaaaaaaaa", "jwt-secret-cccc", "redis-password-dddddddd", "rpc-project-key-eeeeeeee" })
        {
            Assert.DoesNotContain(secret, raw, StringComparison.Ordinal);
        }
    }
}
