using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Tests.Configuration;

/// <summary>Messages name what the caller set: the variable, the configuration key, or both when nothing set it.</summary>
public sealed class SettingNamesTests
{
    private const string Registry = "HokusaiContracts:Chain:ModelRegistryAddress";
    private const string RpcUrls = "HokusaiContracts:Chain:RpcUrls";
    private const string PoolKeys = "HokusaiContracts:Chain:DeployerPrivateKeys";

    private static readonly Dictionary<string, string?> Valid = new()
    {
        [RpcUrls + ":0"] = "http://127.0.0.1:8545",
        [Registry] = "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        ["HokusaiContracts:Chain:TokenManagerAddress"] = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        ["HokusaiContracts:Chain:DeployerPrivateKey"] = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    };

    /// <summary>appsettings-like values, then (when <paramref name="variables"/> is not null) the variable mapping.</summary>
    private static IConfigurationRoot Configuration(Dictionary<string, string?> settings, params (string Name, string? Value)[]? variables)
    {
        var builder = new ConfigurationBuilder().AddInMemoryCollection(settings);
        if (variables is not null)
        {
            builder.AddHokusaiEnvironmentVariables(variables.Select(v => KeyValuePair.Create(v.Name, v.Value)));
        }

        return builder.Build();
    }

    private static Dictionary<string, string?> ValidExcept(params string[] keys)
    {
        var settings = new Dictionary<string, string?>(Valid, StringComparer.OrdinalIgnoreCase);
        foreach (var key in keys)
        {
            settings.Remove(key);
        }

        return settings;
    }

    /// <summary>The start-up validation failures of a host whose configuration is <paramref name="configuration"/>.</summary>
    private static IReadOnlyList<string> Failures(IConfigurationRoot configuration)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddHokusaiContracts(configuration.GetSection(HokusaiContractsOptions.SectionName));
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value);
        return [.. error.Failures];
    }

    [Fact]
    public void Describe_KeySetInAppsettings_NamesTheKeyOnly()
    {
        var configuration = Configuration(Valid, []);

        Assert.Equal(Registry, HokusaiEnvironmentVariables.Describe(Registry, configuration));
    }

    [Theory]
    [InlineData("RPC_URL")]
    [InlineData("RPC_URLS")]
    public void Describe_VariableSet_NamesThatVariableOnly(string variable)
    {
        var configuration = Configuration(ValidExcept(RpcUrls + ":0"), (variable, "http://a.example,http://b.example"));

        Assert.Equal(variable, HokusaiEnvironmentVariables.Describe(RpcUrls, configuration));
        Assert.Equal(variable + " entry 1", HokusaiEnvironmentVariables.Describe(RpcUrls + ":1", configuration));
    }

    [Fact]
    public void Describe_BothRpcVariablesSet_NamesTheOneThatWon()
    {
        var configuration = Configuration([], ("RPC_URL", "http://a.example"), ("RPC_URLS", "http://b.example"));

        Assert.Equal("RPC_URLS", HokusaiEnvironmentVariables.Describe(RpcUrls, configuration));
    }

    [Fact]
    public void Describe_SourceAfterTheMapping_NamesTheKey()
    {
        var configuration = new ConfigurationBuilder()
            .AddHokusaiEnvironmentVariables([KeyValuePair.Create("MODEL_REGISTRY_ADDRESS", (string?)"0x1")])
            .AddCommandLine([$"--{Registry}=0x2"])
            .Build();

        Assert.Equal(Registry, HokusaiEnvironmentVariables.Describe(Registry, configuration));
    }

    [Fact]
    public void Describe_VariableOverAppsettings_NamesTheVariable()
    {
        var configuration = Configuration(Valid, ("MODEL_REGISTRY_ADDRESS", "0x1"));

        Assert.Equal("MODEL_REGISTRY_ADDRESS", HokusaiEnvironmentVariables.Describe(Registry, configuration));
    }

    [Fact]
    public void Describe_ListOwnedByTheVariable_IgnoresEarlierElements()
    {
        // The variable's list of one replaces the appsettings list of three: element 2 is set by nothing.
        var settings = new Dictionary<string, string?> { [PoolKeys + ":0"] = "a", [PoolKeys + ":1"] = "b", [PoolKeys + ":2"] = "c" };
        var configuration = Configuration(settings, ("DEPLOYER_PRIVATE_KEYS", "x"));

        Assert.Equal("DEPLOYER_PRIVATE_KEYS entry 0", HokusaiEnvironmentVariables.Describe(PoolKeys + ":0", configuration));
        Assert.Equal("DEPLOYER_PRIVATE_KEYS entry 2 (or HokusaiContracts:Chain:DeployerPrivateKeys:2)", HokusaiEnvironmentVariables.Describe(PoolKeys + ":2", configuration));
    }

    [Fact]
    public void Describe_NothingSetWithMapping_NamesVariablesAndKey()
    {
        var configuration = Configuration([], []);

        Assert.Equal("MODEL_REGISTRY_ADDRESS (or HokusaiContracts:Chain:ModelRegistryAddress)", HokusaiEnvironmentVariables.Describe(Registry, configuration));
        Assert.Equal("RPC_URL or RPC_URLS (or HokusaiContracts:Chain:RpcUrls)", HokusaiEnvironmentVariables.Describe(RpcUrls, configuration));
    }

    [Fact]
    public void Describe_NothingSetWithoutMapping_NamesTheKeyOnly()
    {
        var configuration = Configuration([], null);

        Assert.Equal(Registry, HokusaiEnvironmentVariables.Describe(Registry, configuration));
    }

    [Fact]
    public void Describe_NoConfigurationRoot_NamesTheKey()
    {
        var configuration = Configuration([], []);

        Assert.Equal(Registry, HokusaiEnvironmentVariables.Describe(Registry, null));
        Assert.Equal(Registry, HokusaiEnvironmentVariables.Describe(Registry, configuration.GetSection("HokusaiContracts")));
    }

    [Fact]
    public void Describe_MappingInAChainedConfiguration_IsFound()
    {
        var inner = Configuration([], ("MODEL_REGISTRY_ADDRESS", "0x1"));
        var configuration = new ConfigurationBuilder().AddConfiguration(inner).Build();

        Assert.Equal("MODEL_REGISTRY_ADDRESS", HokusaiEnvironmentVariables.Describe(Registry, configuration));
    }

    [Fact]
    public void Rewrite_CanonicalSpansAndQuotedKeys_NameWhatWasSet()
    {
        var configuration = Configuration(new() { ["HokusaiContracts:Quotas:PerHour"] = "5" }, ("QUOTA_PER_DAY", "1"));

        var message = HokusaiEnvironmentVariables.Rewrite(
            "QUOTA_PER_DAY (HokusaiContracts:Quotas:PerDay) must not be below QUOTA_PER_HOUR (HokusaiContracts:Quotas:PerHour); 'HokusaiContracts:Chain:ChainId' and 'HokusaiContracts:Jobs:MaxAttempts' are odd.",
            configuration);

        Assert.Equal("QUOTA_PER_DAY must not be below HokusaiContracts:Quotas:PerHour; CHAIN_ID (or HokusaiContracts:Chain:ChainId) and 'HokusaiContracts:Jobs:MaxAttempts' are odd.", message);
    }

    [Fact]
    public void Rewrite_NamesThatDoNotMapToTheKey_AreLeftAlone()
    {
        const string Text = "set JWT_SECRET (HokusaiContracts:Chain:ChainId) or ETH or CHAIN_ID (HokusaiContracts:Chain:ChainId).";

        var message = HokusaiEnvironmentVariables.Rewrite(Text, Configuration([], null));

        Assert.Equal("set JWT_SECRET (HokusaiContracts:Chain:ChainId) or ETH or HokusaiContracts:Chain:ChainId.", message);
    }

    [Fact]
    public void Validate_KeySetWronglyInAppsettings_NamesTheKeyOnly()
    {
        var settings = ValidExcept(Registry);
        settings[Registry] = "0x123";

        var failure = Assert.Single(Failures(Configuration(settings, [])));

        Assert.Contains("HokusaiContracts:Chain:ModelRegistryAddress must be a 0x-prefixed 20-byte hex address.", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("MODEL_REGISTRY_ADDRESS", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_StandardEnvironmentKeySetWrongly_NamesTheKeyOnly()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(ValidExcept(Registry))
            .AddHokusaiEnvironmentVariables([])
            // What HokusaiContracts__Chain__ModelRegistryAddress=0x123 becomes through AddEnvironmentVariables().
            .AddInMemoryCollection([KeyValuePair.Create(Registry, (string?)"0x123")])
            .Build();

        var failure = Assert.Single(Failures(configuration));

        Assert.Contains("HokusaiContracts:Chain:ModelRegistryAddress must be", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("MODEL_REGISTRY_ADDRESS", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_VariableSetWrongly_NamesTheVariableOnly()
    {
        var failure = Assert.Single(Failures(Configuration(ValidExcept(Registry), ("MODEL_REGISTRY_ADDRESS", "0x123"))));

        Assert.Contains("MODEL_REGISTRY_ADDRESS must be a 0x-prefixed 20-byte hex address.", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("HokusaiContracts:", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RPC_URL")]
    [InlineData("RPC_URLS")]
    public void Validate_RpcVariableSetWrongly_NamesThatVariable(string variable)
    {
        var failure = Assert.Single(Failures(Configuration(ValidExcept(RpcUrls + ":0"), (variable, "ftp://node.example"))));

        Assert.Equal(variable + " must be absolute http(s) URLs.", failure);
    }

    [Fact]
    public void Validate_PoolKeyVariableEntryWrong_NamesTheEntryOfTheVariable()
    {
        var failure = Assert.Single(Failures(Configuration(Valid, ("DEPLOYER_PRIVATE_KEYS", "0x" + new string('2', 64) + ",0xnot-a-key"))));

        Assert.Equal("DEPLOYER_PRIVATE_KEYS entry 1 must be 32 bytes of hex (the value is not shown).", failure);
    }

    [Fact]
    public void Validate_NoSigningKeyWithoutMapping_NamesBothKeysOnly()
    {
        var failure = Assert.Single(Failures(Configuration(ValidExcept("HokusaiContracts:Chain:DeployerPrivateKey"), null)));

        Assert.Equal("HokusaiContracts:Chain:DeployerPrivateKey is required (or HokusaiContracts:Chain:DeployerPrivateKeys, a list of keys).", failure);
    }

    [Fact]
    public void Validate_MissingWithMapping_NamesVariableAndKey()
    {
        var failure = Assert.Single(Failures(Configuration(ValidExcept(Registry), [])));

        Assert.Contains("MODEL_REGISTRY_ADDRESS (or HokusaiContracts:Chain:ModelRegistryAddress) is required.", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MissingWithoutMapping_NamesTheKeyOnly()
    {
        var failure = Assert.Single(Failures(Configuration(ValidExcept(Registry), null)));

        Assert.Contains("HokusaiContracts:Chain:ModelRegistryAddress is required.", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("MODEL_REGISTRY_ADDRESS", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RangeFailures_NameTheSettingNotThePropertyPath()
    {
        var settings = new Dictionary<string, string?>(Valid) { ["HokusaiContracts:Quotas:PerHour"] = "0" };

        var failures = Failures(Configuration(settings, ("CONFIRMATION_BLOCKS", "500")));

        Assert.Contains("ConfirmationBlocks: CONFIRMATION_BLOCKS must be between 0 and 128.", failures);
        Assert.Contains("PerHour: HokusaiContracts:Quotas:PerHour must be between 1 and 1000000.", failures);
    }

    [Fact]
    public void Validate_OptionsSetInCodeWithoutConfiguration_NamesTheKey()
    {
        using var provider = new ServiceCollection().AddHokusaiContracts(o => o.Chain.RpcUrls.Add("http://127.0.0.1:8545")).Services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value);

        Assert.Contains("HokusaiContracts:Chain:ModelRegistryAddress is required.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MODEL_REGISTRY_ADDRESS", error.Message, StringComparison.Ordinal);
    }
}
