using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Tests.Configuration;

public sealed class HokusaiEnvironmentVariablesTests
{
    private static IConfigurationRoot Build(Dictionary<string, string?>? appsettings = null, params (string Name, string? Value)[] variables) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(appsettings ?? [])
            .AddHokusaiEnvironmentVariables(variables.Select(v => KeyValuePair.Create(v.Name, v.Value)))
            .Build();

    private static IConfigurationRoot Map(params (string Name, string? Value)[] variables) => Build(null, variables);

    private static ChainOptions Chain(IConfiguration configuration)
    {
        var options = new HokusaiContractsOptions();
        configuration.GetSection(HokusaiContractsOptions.SectionName).Bind(options);
        return options.Chain;
    }

    [Theory]
    [InlineData("CHAIN_ID", "137", "HokusaiContracts:Chain:ChainId")]
    [InlineData("NETWORK_NAME", "polygon", "HokusaiContracts:Chain:NetworkName")]
    [InlineData("MODEL_REGISTRY_ADDRESS", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "HokusaiContracts:Chain:ModelRegistryAddress")]
    [InlineData("TOKEN_MANAGER_ADDRESS", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "HokusaiContracts:Chain:TokenManagerAddress")]
    [InlineData("DEPLOYER_PRIVATE_KEY", "0xabc", "HokusaiContracts:Chain:DeployerPrivateKey")]
    [InlineData("RPC_WS_URL", "wss://rpc.example/ws", "HokusaiContracts:Chain:RpcWsUrl")]
    [InlineData("CONFIRMATION_BLOCKS", "3", "HokusaiContracts:Chain:ConfirmationBlocks")]
    [InlineData("MAX_GAS_PRICE_GWEI", "150", "HokusaiContracts:Chain:MaxGasPriceGwei")]
    [InlineData("GAS_PRICE_MULTIPLIER", "1.5", "HokusaiContracts:Chain:GasPriceMultiplier")]
    [InlineData("DEPLOYMENT_MODE", "factory", "HokusaiContracts:Chain:DeploymentMode")]
    [InlineData("MAX_IN_FLIGHT_PER_KEY", "8", "HokusaiContracts:Chain:MaxInFlightPerKey")]
    [InlineData("REPLACE_AFTER", "90", "HokusaiContracts:Chain:ReplaceAfter")]
    [InlineData("REPLACE_AFTER", "12b", "HokusaiContracts:Chain:ReplaceAfter")]
    [InlineData("REPLACE_AFTER", "0", "HokusaiContracts:Chain:ReplaceAfter")]
    [InlineData("BLOCK_POLL_INTERVAL_MS", "250", "HokusaiContracts:Chain:ReceiptPollInterval", "00:00:00.2500000")]
    [InlineData("QUOTA_PER_HOUR", "10", "HokusaiContracts:Quotas:PerHour")]
    [InlineData("QUOTA_PER_DAY", "100", "HokusaiContracts:Quotas:PerDay")]
    [InlineData("RATE_LIMIT_PER_MINUTE", "60", "HokusaiContracts:Quotas:RequestsPerMinute")]
    [InlineData("JOB_CONCURRENCY", "4", "HokusaiContracts:Jobs:MaxConcurrency")]
    [InlineData("HEALTH_DETAILED_ENABLED", "false", "HokusaiContracts:Health:DetailedEnabled")]
    [InlineData("DEPLOYER_BALANCE_WARNING_ETH", "0.5", "HokusaiContracts:Health:DeployerBalanceWarningEth")]
    [InlineData("REGISTRY_MIRROR_START_BLOCK", "5000000", "HokusaiContracts:RegistryMirror:StartBlock")]
    [InlineData("REGISTRY_MIRROR_BLOCK_RANGE", "500", "HokusaiContracts:RegistryMirror:MaxBlockRange")]
    [InlineData("REGISTRY_MIRROR_ENABLED", "false", "HokusaiContracts:RegistryMirror:Enabled")]
    [InlineData("REGISTRY_MIRROR_POLL_INTERVAL", "0.5", "HokusaiContracts:RegistryMirror:PollInterval", "00:00:00.5000000")]
    [InlineData("REDIS_URL", "redis://cache:6379", "HokusaiContracts:Redis:Configuration")]
    [InlineData("SIGNER_LEASE_TTL", "2.5", "HokusaiContracts:Redis:LeaseTtl", "00:00:02.5000000")]
    [InlineData("SIGNER_LEASE_RENEW_INTERVAL", "1", "HokusaiContracts:Redis:LeaseRenewInterval", "00:00:01")]
    [InlineData("WEBHOOK_MAX_AGE", "12h", "HokusaiContracts:Webhooks:MaxAge", "12:00:00")]
    [InlineData("WEBHOOK_ALLOW_LOOPBACK", "true", "HokusaiContracts:Webhooks:AllowLoopback")]
    [InlineData("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true", "HokusaiContracts:Webhooks:AllowPrivateNetworks")]
    [InlineData("JWT_SECRET", "secret-secret-secret-secret-secret", "HokusaiContracts:Authentication:JwtSecret")]
    [InlineData("JWT_ISSUER", "issuer", "HokusaiContracts:Authentication:JwtIssuer")]
    [InlineData("JWT_AUDIENCE", "audience", "HokusaiContracts:Authentication:JwtAudience")]
    [InlineData("JWT_AUTHORITY", "https://login.example", "HokusaiContracts:Authentication:JwtAuthority")]
    [InlineData("JWT_ADMIN_ROLE", "ops", "HokusaiContracts:Authentication:AdminRole")]
    [InlineData("JWT_LEGACY_OWNERS", "true", "HokusaiContracts:Authentication:LegacyJwtOwners")]
    public void AddHokusaiEnvironmentVariables_Variable_LandsOnItsConfigurationKey(string variable, string value, string key, string? expected = null)
    {
        Assert.Equal(expected ?? value, Map((variable, value))[key]);
    }

    [Fact]
    public void All_EveryVariable_IsListedOnceUnderTheSection()
    {
        var names = HokusaiEnvironmentVariables.All.Select(v => v.Name).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(HokusaiEnvironmentVariables.All, v => Assert.StartsWith(HokusaiContractsOptions.SectionName + ":", v.Key, StringComparison.Ordinal));
        Assert.All(HokusaiEnvironmentVariables.All, v => Assert.Matches("^[A-Z][A-Z0-9_]+$", v.Name));
        Assert.Contains(HokusaiEnvironmentVariables.All, v => v.Name == "DEPLOYER_PRIVATE_KEYS" && v.Key == "HokusaiContracts:Chain:DeployerPrivateKeys");
        Assert.Contains(HokusaiEnvironmentVariables.All, v => v.Name == "VALID_API_KEYS" && v.Key == "HokusaiContracts:Authentication:ApiKeys");
    }

    [Fact]
    public void AddHokusaiEnvironmentVariables_RpcUrls_KeepsFailoverOrderAndWinsOverRpcUrl()
    {
        var chain = Chain(Map(("RPC_URLS", " http://a:8545 , http://b:8545"), ("RPC_URL", "http://ignored:8545")));

        Assert.Equal(["http://a:8545", "http://b:8545"], chain.RpcUrls);
    }

    [Fact]
    public void AddHokusaiEnvironmentVariables_ListVariable_ReplacesTheWholeAppsettingsList()
    {
        var configuration = Build(
            new()
            {
                ["HokusaiContracts:Chain:RpcUrls:0"] = "http://from-appsettings-0",
                ["HokusaiContracts:Chain:RpcUrls:1"] = "http://from-appsettings-1",
                ["HokusaiContracts:Chain:RpcUrls:2"] = "http://from-appsettings-2",
            },
            ("RPC_URL", "http://from-env"));

        Assert.Equal(["http://from-env"], Chain(configuration).RpcUrls);
    }

    [Fact]
    public void AddHokusaiEnvironmentVariables_VariableSet_WinsOverAppsettings_UnsetLeavesAppsettings()
    {
        var configuration = Build(
            new()
            {
                ["HokusaiContracts:Chain:ChainId"] = "1",
                ["HokusaiContracts:Chain:NetworkName"] = "from-appsettings",
                ["HokusaiContracts:Chain:RpcUrls:0"] = "http://from-appsettings",
            },
            ("CHAIN_ID", "137"));

        var chain = Chain(configuration);

        Assert.Equal(137, chain.ChainId);
        Assert.Equal("from-appsettings", chain.NetworkName);
        Assert.Equal(["http://from-appsettings"], chain.RpcUrls);
    }

    [Fact]
    public void AddHokusaiEnvironmentVariables_LaterSource_WinsOverTheVariable()
    {
        var configuration = new ConfigurationBuilder()
            .AddHokusaiEnvironmentVariables([KeyValuePair.Create("CHAIN_ID", (string?)"137")])
            .AddInMemoryCollection(new Dictionary<string, string?> { ["HokusaiContracts:Chain:ChainId"] = "5" })
            .Build();

        Assert.Equal(5, Chain(configuration).ChainId);
    }

    [Fact]
    public void AddHokusaiEnvironmentVariables_BlankValues_AreIgnored()
    {
        var configuration = Build(new() { ["HokusaiContracts:Chain:ChainId"] = "1" }, ("CHAIN_ID", "  "), ("RPC_URL", ""), ("JWT_SECRET", null));

        Assert.Equal(1, Chain(configuration).ChainId);
        Assert.Empty(Chain(configuration).RpcUrls);
    }

    [Fact]
    public void AddHokusaiEnvironmentVariables_DeployerPrivateKeys_BecomeAList()
    {
        var configuration = Map(("DEPLOYER_PRIVATE_KEYS", "0xaa, 0xbb ,0xcc"));

        Assert.Equal(["0xaa", "0xbb", "0xcc"], configuration.GetSection("HokusaiContracts:Chain:DeployerPrivateKeys").GetChildren().Select(c => c.Value));
    }

    [Fact]
    public void AddHokusaiEnvironmentVariables_ApiKeysAndWebhooks_BecomeListsAndMaps()
    {
        var configuration = Map(
            ("VALID_API_KEYS", "alice:key-aaaaaaaaaaaaaaaa, bob:key-bbbbbbbbbbbbbbbb"),
            ("ADMIN_API_KEYS", "ops:key-cccccccccccccccc"),
            ("WEBHOOK_SECRETS", "alice:new-secret-0123456789, alice:old-secret-0123456789"),
            ("WEBHOOK_ENDPOINTS", "alice:https://hooks.alice.example/h?x=1, bob:https://bob.example:8443/in"));

        Assert.Equal("alice:key-aaaaaaaaaaaaaaaa", configuration["HokusaiContracts:Authentication:ApiKeys:0"]);
        Assert.Equal("bob:key-bbbbbbbbbbbbbbbb", configuration["HokusaiContracts:Authentication:ApiKeys:1"]);
        Assert.Equal("ops:key-cccccccccccccccc", configuration["HokusaiContracts:Authentication:AdminApiKeys:0"]);
        Assert.Equal("alice:old-secret-0123456789", configuration["HokusaiContracts:Webhooks:Secrets:1"]);
        Assert.Equal("https://hooks.alice.example/h?x=1", configuration["HokusaiContracts:Webhooks:Endpoints:alice"]);
        Assert.Equal("https://bob.example:8443/in", configuration["HokusaiContracts:Webhooks:Endpoints:bob"]);
    }

    [Theory]
    [InlineData("REGISTRY_MIRROR_POLL_INTERVAL", "0")]
    [InlineData("REGISTRY_MIRROR_POLL_INTERVAL", "601")]
    [InlineData("SIGNER_LEASE_TTL", "ten")]
    [InlineData("SIGNER_LEASE_RENEW_INTERVAL", "-1")]
    [InlineData("SIGNER_LEASE_RENEW_INTERVAL", "00:00:01")]
    [InlineData("BLOCK_POLL_INTERVAL_MS", "fast")]
    [InlineData("WEBHOOK_MAX_AGE", "soon")]
    [InlineData("WEBHOOK_MAX_AGE", "10x")]
    [InlineData("WEBHOOK_ENDPOINTS", "https-without-a-caller")]
    public void AddHokusaiEnvironmentVariables_MalformedValue_ThrowsNamingTheVariable(string variable, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Map((variable, value)));

        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("86400", 86400)]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("2d", 172800)]
    [InlineData("1.00:00:00", 86400)]
    public void ParseDuration_Forms_AreSeconds(string value, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), HokusaiEnvironmentVariables.ParseDuration("WEBHOOK_MAX_AGE", value));

    [Theory]
    [InlineData("HokusaiContracts:Chain:RpcUrls", "RPC_URL or RPC_URLS (HokusaiContracts:Chain:RpcUrls)")]
    [InlineData("HokusaiContracts:Chain:RpcUrls:0", "RPC_URL or RPC_URLS entry 0 (HokusaiContracts:Chain:RpcUrls:0)")]
    [InlineData("HokusaiContracts:Webhooks:Endpoints:alice", "WEBHOOK_ENDPOINTS entry alice (HokusaiContracts:Webhooks:Endpoints:alice)")]
    [InlineData("HokusaiContracts:Chain:ModelRegistryAddress", "MODEL_REGISTRY_ADDRESS (HokusaiContracts:Chain:ModelRegistryAddress)")]
    [InlineData("HokusaiContracts:Jobs:MaxAttempts", "HokusaiContracts:Jobs:MaxAttempts")]
    public void Describe_Key_NamesTheVariableAndTheKey(string key, string expected) =>
        Assert.Equal(expected, HokusaiEnvironmentVariables.Describe(key));

    [Fact]
    public void Validation_RegistryVariableMalformedManagerMissing_NamesTheVariableAndBothForTheMissing()
    {
        var configuration = Map(("RPC_URL", "http://127.0.0.1:8545"), ("DEPLOYER_PRIVATE_KEY", "0x" + new string('1', 64)), ("MODEL_REGISTRY_ADDRESS", "0x123"));
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddHokusaiContracts(configuration.GetSection(HokusaiContractsOptions.SectionName));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value);

        Assert.Contains("MODEL_REGISTRY_ADDRESS must be a 0x-prefixed 20-byte hex address.", error.Message, StringComparison.Ordinal);
        Assert.Contains("TOKEN_MANAGER_ADDRESS (or HokusaiContracts:Chain:TokenManagerAddress) is required.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('1', 64), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DataAnnotations_ChainOptions_NameVariableAndKey()
    {
        var messages = typeof(ChainOptions).GetProperties()
            .SelectMany(p => p.GetCustomAttributes(typeof(ValidationAttribute), true).Cast<ValidationAttribute>())
            .Select(a => a.ErrorMessage)
            .OfType<string>()
            .ToList();

        Assert.NotEmpty(messages);
        Assert.All(messages, m => Assert.Matches(@"^[A-Z_]+ \(HokusaiContracts:Chain:[A-Za-z]+\)", m));
    }
}
