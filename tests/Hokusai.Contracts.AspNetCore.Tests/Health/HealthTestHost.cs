using System.Security.Claims;
using System.Text.Encodings.Web;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using Hokusai.Contracts.Tests.Health;

namespace Hokusai.Contracts.AspNetCore.Tests.Health;

/// <summary>A real ASP.NET Core pipeline on the test server with fake chain, store and queue.</summary>
internal sealed class HealthTestHost : IAsyncDisposable
{
    public const string UserHeader = "X-Test-User";

    public static readonly IReadOnlyDictionary<string, string?> Secrets = new Dictionary<string, string?>
    {
        ["DEPLOYER_PRIVATE_KEY"] = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        ["VALID_API_KEYS"] = "key-one-aaaaaaaaaaaaaaaa,key-two-bbbbbbbbbbbbbbbb",
        ["JWT_SECRET"] = "jwt-secret-cccccccccccccccccccccccccccccc",
        ["REDIS_URL"] = "redis://default:redis-password-dddddddd@127.0.0.1:6379",
        ["RPC_URL"] = "https://rpc.example/v3/rpc-project-key-eeeeeeee",
    };

    private HealthTestHost(WebApplication app, FakeChainClient chain, FakeStore store, FakeQueue queue)
    {
        App = app;
        Chain = chain;
        Store = store;
        Queue = queue;
    }

    public WebApplication App { get; }
    public FakeChainClient Chain { get; }
    public FakeStore Store { get; }
    public FakeQueue Queue { get; }
    private HttpClient? _client;

    /// <summary>A client of the test server (available once the server has started).</summary>
    public HttpClient Client => _client ??= App.GetTestClient();

    /// <summary>Waits until the server part of a starting host accepts requests.</summary>
    public async Task<HttpClient> WaitForServerAsync()
    {
        for (var i = 0; ; i++)
        {
            try
            {
                return Client;
            }
            catch (InvalidOperationException) when (i < 500)
            {
                await Task.Delay(10);
            }
        }
    }

    public static async Task<HealthTestHost> StartAsync(
        Action<HokusaiHealthEndpointOptions>? endpoint = null,
        Action<WebApplicationBuilder>? configure = null,
        bool start = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(Secrets).AddHokusaiEnvironmentVariables(Secrets);

        var chain = new FakeChainClient();
        var store = new FakeStore();
        var queue = new FakeQueue();
        builder.Services.AddSingleton<IChainClient>(chain);
        builder.Services.AddSingleton<IDeploymentStore>(store);
        builder.Services.AddSingleton<IDeploymentQueue>(queue);
        builder.Services.AddRouting();
        builder.Services.AddAuthentication(TestAuthHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddHealthChecks().AddHokusaiContracts();
        if (endpoint is not null)
        {
            builder.Services.Configure(endpoint);
        }

        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHokusaiContractsHealth();
        if (start)
        {
            await app.StartAsync();
        }

        return new HealthTestHost(app, chain, store, queue);
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        await App.DisposeAsync();
    }

    /// <summary>Authenticates any request carrying <see cref="UserHeader"/>.</summary>
    private sealed class TestAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "Test";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(UserHeader, out var user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString())], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
