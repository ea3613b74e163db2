using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public async Task MapHokusaiContracts_WithoutAddHokusaiContracts_ThrowsNamingIt()
    {
        await using var app = Build(ApiHost.DefaultSettings(), registerService: false);

        var exception = Assert.Throws<InvalidOperationException>(() => app.MapHokusaiContracts());

        Assert.Contains("AddHokusaiContracts", exception.Message);
    }

    [Fact]
    public async Task MapHokusaiContracts_WithoutAddHokusaiApi_ThrowsNamingIt()
    {
        await using var app = Build(ApiHost.DefaultSettings(), addApi: false);

        var exception = Assert.Throws<InvalidOperationException>(() => app.MapHokusaiContracts());

        Assert.Contains("AddHokusaiApi", exception.Message);
    }

    [Fact]
    public async Task MapHokusaiContracts_WithRegistrations_ReturnsTheGroupForConventions()
    {
        await using var app = Build(ApiHost.DefaultSettings());

        var builder = app.MapHokusaiContracts();

        Assert.NotNull(builder);
        var routes = ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints)
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>().Select(e => e.RoutePattern.RawText!.TrimEnd('/')).ToList();
        Assert.Contains("/api/deployments", routes);
        Assert.Contains("/api/deployments/{id}/status", routes);
        Assert.Contains("/api/deployments/{id}", routes);
        Assert.Contains("/api/deployments/{id}/cancel", routes);
    }

    [Fact]
    public async Task Start_NoCredentials_FailsNamingTheEnvironmentVariables()
    {
        await using var app = Build([]);

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("VALID_API_KEYS", exception.Message);
        Assert.Contains("JWT_SECRET", exception.Message);
        Assert.Contains("JWT_AUTHORITY", exception.Message);
    }

    [Fact]
    public async Task Start_ShortJwtSecret_FailsNamingJwtSecretWithoutRevealingIt()
    {
        await using var app = Build(new() { ["JWT_SECRET"] = "short-secret-value" });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("JWT_SECRET", exception.Message);
        Assert.DoesNotContain("short-secret-value", exception.Message);
    }

    [Fact]
    public async Task Start_ShortJwtSecretInTheSection_FailsNamingTheKeyOnly()
    {
        await using var app = Build(new() { ["HokusaiContracts:Authentication:JwtSecret"] = "short-secret-value" });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("HokusaiContracts:Authentication:JwtSecret must be at least 32 bytes", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("JWT_SECRET", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret-value", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ShortApiKeyVariable_FailsNamingTheVariableOnly()
    {
        await using var app = Build(new() { ["VALID_API_KEYS"] = "alice:tiny-key" });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("VALID_API_KEYS entry 1: keys must be at least 16 characters.", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("HokusaiContracts:Authentication:ApiKeys", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ShortApiKey_FailsNamingValidApiKeysWithoutRevealingIt()
    {
        await using var app = Build(new() { ["VALID_API_KEYS"] = "alice:tiny-key" });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("VALID_API_KEYS", exception.Message);
        Assert.DoesNotContain("tiny-key", exception.Message);
    }

    [Fact]
    public async Task Start_DuplicateApiKey_Fails()
    {
        await using var app = Build(new() { ["VALID_API_KEYS"] = $"a:{ApiHost.AliceKey},b:{ApiHost.AliceKey}" });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("VALID_API_KEYS", exception.Message);
        Assert.DoesNotContain(ApiHost.AliceKey, exception.Message);
    }

    [Fact]
    public async Task Start_InvalidKeyName_Fails()
    {
        await using var app = Build(new() { ["VALID_API_KEYS"] = $"bad name:{ApiHost.AliceKey}" });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("VALID_API_KEYS", exception.Message);
    }

    [Theory]
    [InlineData("not a uri")]
    [InlineData("http://idp.example.com")]
    public async Task Start_InvalidJwtAuthority_FailsNamingIt(string authority)
    {
        await using var app = Build(new() { ["JWT_AUTHORITY"] = authority });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("JWT_AUTHORITY", exception.Message);
    }

    [Fact]
    public void Options_MappedEnvironmentNames_ReplaceTheSectionList()
    {
        var services = Services(new()
        {
            ["HokusaiContracts:Authentication:ApiKeys:0"] = "section:section-key-0123456789",
            ["HokusaiContracts:Authentication:JwtIssuer"] = "section-issuer",
            ["VALID_API_KEYS"] = "env:env-key-0123456789abcdef,other:other-key-0123456789ab",
            ["JWT_AUDIENCE"] = "env-audience",
        });
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<HokusaiAuthenticationOptions>>().Value;

        Assert.Equal(["env:env-key-0123456789abcdef", "other:other-key-0123456789ab"], options.ApiKeys);
        Assert.Equal("section-issuer", options.JwtIssuer);
        Assert.Equal("env-audience", options.JwtAudience);
    }

    [Fact]
    public void Options_RawVariableNameWithoutTheMapping_IsNotRead()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VALID_API_KEYS"] = "env:env-key-0123456789abcdef",
            ["JWT_SECRET"] = ApiHost.JwtSecret,
        }).Build();
        var services = new ServiceCollection();
        services.AddHokusaiApi(configuration);
        using var provider = services.BuildServiceProvider();

        // Neither name reaches the options, so validation finds no credentials at all.
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiAuthenticationOptions>>().Value);

        Assert.Contains("No credentials are configured", error.Message, StringComparison.Ordinal);
        // The service provider has no configuration, so no mapping was registered: the message names the key only.
        Assert.Contains("set HokusaiContracts:Authentication:ApiKeys (comma-separated", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("VALID_API_KEYS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_SectionOnly_IsBound()
    {
        var services = Services(new()
        {
            ["HokusaiContracts:Authentication:ApiKeys:0"] = "section:section-key-0123456789",
            ["HokusaiContracts:Authentication:JwtSecret"] = ApiHost.JwtSecret,
        });
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<HokusaiAuthenticationOptions>>().Value;

        Assert.Equal(["section:section-key-0123456789"], options.ApiKeys);
        Assert.Equal(ApiHost.JwtSecret, options.JwtSecret);
    }

    [Fact]
    public void Options_ToString_RedactsSecretsAndKeys()
    {
        var options = new HokusaiAuthenticationOptions { JwtSecret = ApiHost.JwtSecret, JwtIssuer = "issuer-x" };
        options.ApiKeys.Add("alice:" + ApiHost.AliceKey);

        var text = options.ToString();

        Assert.DoesNotContain(ApiHost.JwtSecret, text);
        Assert.DoesNotContain(ApiHost.AliceKey, text);
        Assert.Contains("<redacted>", text);
        Assert.Contains("issuer-x", text);
    }

    [Fact]
    public void AddHokusaiApi_CalledTwice_RegistersOnce()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(ApiHost.DefaultSettings()).Build();
        var services = new ServiceCollection();

        services.AddHokusaiApi(configuration);
        var count = services.Count;
        services.AddHokusaiApi(configuration);

        Assert.Equal(count, services.Count);
    }

    [Fact]
    public void AddHokusaiApi_OnContractsBuilder_ReturnsTheSameBuilder()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(ApiHost.DefaultSettings()).Build();
        var builder = new TestBuilder(new ServiceCollection());

        var returned = builder.AddHokusaiApi(configuration);

        Assert.Same(builder, returned);
        Assert.Contains(builder.Services, d => d.ServiceType == typeof(IConfigureOptions<HokusaiAuthenticationOptions>));
    }

    private sealed class TestBuilder(IServiceCollection services) : IHokusaiContractsBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    private static ServiceCollection Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).AddHokusaiEnvironmentVariables(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHokusaiApi(configuration);
        return services;
    }

    private static WebApplication Build(Dictionary<string, string?> settings, bool registerService = true, bool addApi = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings).AddHokusaiEnvironmentVariables(settings);
        if (registerService)
        {
            builder.Services.AddSingleton<IDeploymentService>(new FakeDeploymentService(TimeProvider.System));
        }

        if (addApi)
        {
            builder.Services.AddHokusaiApi(builder.Configuration);
        }

        return builder.Build();
    }
}
