using System.Collections;

namespace ContractsApi.Tests.Host;

public sealed class LegacyEnvironmentTests
{
    private static Dictionary<string, string?> Map(params (string Key, string Value)[] variables)
    {
        var env = new Hashtable();
        foreach (var (key, value) in variables)
        {
            env[key] = value;
        }

        return LegacyEnvironment.Map(env);
    }

    [Fact]
    public void Map_RpcUrlsList_KeepsFailoverOrderAndWinsOverRpcUrl()
    {
        var mapped = Map(("RPC_URLS", " http://a:8545 , http://b:8545"), ("RPC_URL", "http://ignored:8545"));

        Assert.Equal("http://a:8545", mapped["HokusaiContracts:Chain:RpcUrls:0"]);
        Assert.Equal("http://b:8545", mapped["HokusaiContracts:Chain:RpcUrls:1"]);
        Assert.False(mapped.ContainsKey("HokusaiContracts:Chain:RpcUrls:2"));
    }

    [Fact]
    public void Map_SingleRpcUrl_BecomesTheOnlyUrl()
    {
        var mapped = Map(("RPC_URL", "https://rpc.example:443/key"));

        Assert.Equal("https://rpc.example:443/key", mapped["HokusaiContracts:Chain:RpcUrls:0"]);
    }

    [Theory]
    [InlineData("CHAIN_ID", "137", "HokusaiContracts:Chain:ChainId")]
    [InlineData("NETWORK_NAME", "polygon", "HokusaiContracts:Chain:NetworkName")]
    [InlineData("MODEL_REGISTRY_ADDRESS", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "HokusaiContracts:Chain:ModelRegistryAddress")]
    [InlineData("TOKEN_MANAGER_ADDRESS", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "HokusaiContracts:Chain:TokenManagerAddress")]
    [InlineData("DEPLOYER_PRIVATE_KEY", "0xabc", "HokusaiContracts:Chain:DeployerPrivateKey")]
    [InlineData("CONFIRMATION_BLOCKS", "3", "HokusaiContracts:Chain:ConfirmationBlocks")]
    [InlineData("MAX_GAS_PRICE_GWEI", "150", "HokusaiContracts:Chain:MaxGasPriceGwei")]
    [InlineData("GAS_PRICE_MULTIPLIER", "1.5", "HokusaiContracts:Chain:GasPriceMultiplier")]
    [InlineData("QUOTA_PER_HOUR", "10", "HokusaiContracts:Quotas:PerHour")]
    [InlineData("JOB_CONCURRENCY", "4", "HokusaiContracts:Jobs:MaxConcurrency")]
    [InlineData("REGISTRY_MIRROR_START_BLOCK", "5000000", "HokusaiContracts:RegistryMirror:StartBlock")]
    [InlineData("REGISTRY_MIRROR_BLOCK_RANGE", "500", "HokusaiContracts:RegistryMirror:MaxBlockRange")]
    [InlineData("REGISTRY_MIRROR_ENABLED", "false", "HokusaiContracts:RegistryMirror:Enabled")]
    [InlineData("REGISTRY_MIRROR_POLL_INTERVAL", "0.5", "HokusaiContracts:RegistryMirror:PollInterval", "00:00:00.5000000")]
    public void Map_OriginalVariable_LandsOnItsConfigurationKey(string variable, string value, string key, string? expected = null)
    {
        Assert.Equal(expected ?? value, Map((variable, value))[key]);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("two")]
    [InlineData("601")]
    public void Map_BadMirrorPollInterval_Throws(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Map(("REGISTRY_MIRROR_POLL_INTERVAL", value)));
        Assert.Contains("REGISTRY_MIRROR_POLL_INTERVAL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_BlankValues_AreIgnored()
    {
        Assert.Empty(Map(("CHAIN_ID", "  "), ("RPC_URL", "")));
    }

    [Fact]
    public void Map_WebhookSecretsEndpointsAndMaxAge_BecomeWebhookSettings()
    {
        var mapped = Map(
            ("WEBHOOK_SECRETS", "alice:new-secret-0123456789, alice:old-secret-0123456789,bob:bob-secret-0123456789"),
            ("WEBHOOK_ENDPOINTS", "alice:https://hooks.alice.example/h?x=1, bob:https://bob.example:8443/in"),
            ("WEBHOOK_MAX_AGE", "12h"),
            ("WEBHOOK_ALLOW_LOOPBACK", "true"));

        Assert.Equal("alice:new-secret-0123456789", mapped["HokusaiContracts:Webhooks:Secrets:0"]);
        Assert.Equal("alice:old-secret-0123456789", mapped["HokusaiContracts:Webhooks:Secrets:1"]);
        Assert.Equal("bob:bob-secret-0123456789", mapped["HokusaiContracts:Webhooks:Secrets:2"]);
        Assert.Equal("https://hooks.alice.example/h?x=1", mapped["HokusaiContracts:Webhooks:Endpoints:alice"]);
        Assert.Equal("https://bob.example:8443/in", mapped["HokusaiContracts:Webhooks:Endpoints:bob"]);
        Assert.Equal("12:00:00", mapped["HokusaiContracts:Webhooks:MaxAge"]);
        Assert.Equal("true", mapped["HokusaiContracts:Webhooks:AllowLoopback"]);
    }

    [Theory]
    [InlineData("86400", 86400)]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("2d", 172800)]
    [InlineData("1.00:00:00", 86400)]
    public void ParseDuration_Forms_AreSeconds(string value, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), LegacyEnvironment.ParseDuration("WEBHOOK_MAX_AGE", value));

    [Theory]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("10x")]
    public void ParseDuration_Garbage_FailsNamingTheVariable(string value) =>
        Assert.Contains("WEBHOOK_MAX_AGE", Assert.Throws<InvalidOperationException>(() => LegacyEnvironment.ParseDuration("WEBHOOK_MAX_AGE", value)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("SIGNER_LEASE_TTL", "3", "HokusaiContracts:Redis:LeaseTtl", "00:00:03")]
    [InlineData("SIGNER_LEASE_TTL", "2.5", "HokusaiContracts:Redis:LeaseTtl", "00:00:02.5000000")]
    [InlineData("SIGNER_LEASE_RENEW_INTERVAL", "1", "HokusaiContracts:Redis:LeaseRenewInterval", "00:00:01")]
    public void Map_SignerLeaseSeconds_BecomeTimeSpans(string variable, string value, string key, string expected)
    {
        Assert.Equal(expected, Map((variable, value))[key]);
    }

    [Theory]
    [InlineData("SIGNER_LEASE_TTL", "ten")]
    [InlineData("SIGNER_LEASE_TTL", "0")]
    [InlineData("SIGNER_LEASE_RENEW_INTERVAL", "-1")]
    [InlineData("SIGNER_LEASE_RENEW_INTERVAL", "00:00:01")]
    public void Map_InvalidSignerLeaseSeconds_FailsNamingTheVariable(string variable, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Map((variable, value)));

        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }
}
