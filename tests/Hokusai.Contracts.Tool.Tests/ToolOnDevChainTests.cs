using System.Globalization;
using System.Text.Json;

namespace Hokusai.Contracts.Tool.Tests;

/// <summary>One anvil chain for the class; every bootstrap deploys its own contracts on it.</summary>
public sealed class DevChainFixture : IAsyncLifetime
{
    public DevChain Chain { get; private set; } = null!;

    public async Task InitializeAsync() => Chain = await DevChain.StartAsync(null, CancellationToken.None);

    public async Task DisposeAsync() => await Chain.DisposeAsync();
}

public sealed class ToolOnDevChainTests(DevChainFixture fixture) : IClassFixture<DevChainFixture>
{
    private DevChain Chain => fixture.Chain;

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private static async Task<Run> RunAsync(Dictionary<string, string?> environment, params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var code = await ContractsTool.RunAsync(args, environment, stdout, stderr, timeout.Token);
        return new Run(code, stdout.ToString(), stderr.ToString());
    }

    private Dictionary<string, string?> Environment(string? registry = null, string? manager = null, string? poolKeys = null) => new()
    {
        ["RPC_URL"] = Chain.RpcUrl,
        ["CHAIN_ID"] = Chain.ChainId.ToString(CultureInfo.InvariantCulture),
        ["DEPLOYER_PRIVATE_KEY"] = Chain.DeployerPrivateKey,
        ["DEPLOYER_PRIVATE_KEYS"] = poolKeys,
        ["MODEL_REGISTRY_ADDRESS"] = registry,
        ["TOKEN_MANAGER_ADDRESS"] = manager,
    };

    private static Dictionary<string, string> EnvLines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    [Fact]
    public async Task Bootstrap_WithPoolKeys_PrintsEnvLinesAndVerifyPasses()
    {
        var pool = $"{Chain.TestAccounts[0].PrivateKey},{Chain.TestAccounts[1].PrivateKey}";

        var bootstrap = await RunAsync(Environment(poolKeys: pool), "bootstrap");

        Assert.True(bootstrap.ExitCode == 0, bootstrap.Stderr);
        var lines = EnvLines(bootstrap.Stdout);
        Assert.Equal(["MODEL_REGISTRY_ADDRESS", "TOKEN_MANAGER_ADDRESS"], lines.Keys.Order(StringComparer.Ordinal));
        Assert.Matches("^0x[0-9a-fA-F]{40}$", lines["MODEL_REGISTRY_ADDRESS"]);
        Assert.Contains("DEPLOYER_ROLE", bootstrap.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Chain.DeployerPrivateKey[2..], bootstrap.Stdout + bootstrap.Stderr, StringComparison.OrdinalIgnoreCase);

        var verify = await RunAsync(Environment(lines["MODEL_REGISTRY_ADDRESS"], lines["TOKEN_MANAGER_ADDRESS"], pool), "verify");

        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        Assert.StartsWith("OK:", verify.Stdout, StringComparison.Ordinal);
        Assert.Contains("3 deployer(s)", verify.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_PoolKeyWithoutDeployerRole_FailsNamingItsAddress_GrantFixesIt()
    {
        // The dev chain granted DEPLOYER_ROLE to its deployer only.
        var outsider = Chain.TestAccounts[2];
        var environment = Environment(Chain.ModelRegistryAddress, Chain.TokenManagerAddress, outsider.PrivateKey);

        var verify = await RunAsync(environment, "verify");

        Assert.Equal(ContractsTool.VerificationFailed, verify.ExitCode);
        var problem = Assert.Single(verify.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("PROBLEM:", problem, StringComparison.Ordinal);
        Assert.Contains(outsider.Address, problem, StringComparison.Ordinal);
        Assert.Contains("DEPLOYER_ROLE", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(Chain.DeployerAddress, problem, StringComparison.Ordinal);

        var grant = await RunAsync(environment, "grant");

        Assert.True(grant.ExitCode == 0, grant.Stderr);
        Assert.Equal($"GRANTED_DEPLOYER_ROLE={outsider.Address}", grant.Stdout.Trim());
        Assert.Equal(0, (await RunAsync(environment, "verify")).ExitCode);
    }

    [Fact]
    public async Task Bootstrap_Json_ParsesWithAddressesModeAndGrants()
    {
        const string Extra = "0x000000000000000000000000000000000000dEaD";

        var run = await RunAsync(Environment(), "bootstrap", "--json", "--grant", Extra);

        Assert.True(run.ExitCode == 0, run.Stderr);
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Matches("^0x[0-9a-fA-F]{40}$", root.GetProperty("modelRegistryAddress").GetString());
        Assert.Matches("^0x[0-9a-fA-F]{40}$", root.GetProperty("tokenManagerAddress").GetString());
        Assert.Equal("factory", root.GetProperty("mode").GetString());
        Assert.Equal([Chain.DeployerAddress, Extra], root.GetProperty("deployerRole").EnumerateArray().Select(e => e.GetString()));

        var verify = await RunAsync(Environment(root.GetProperty("modelRegistryAddress").GetString(), root.GetProperty("tokenManagerAddress").GetString()), "verify", "--json");
        using var verification = JsonDocument.Parse(verify.Stdout);
        Assert.True(verification.RootElement.GetProperty("ok").GetBoolean(), verify.Stdout);
    }

    [Fact]
    public async Task Bootstrap_Legacy_VerifiesInLegacyModeOnly()
    {
        var bootstrap = await RunAsync(Environment(), "bootstrap", "--legacy");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.Stderr);
        var lines = EnvLines(bootstrap.Stdout);
        var environment = Environment(lines["MODEL_REGISTRY_ADDRESS"], lines["TOKEN_MANAGER_ADDRESS"]);

        var legacy = await RunAsync(environment, "verify", "--legacy");
        var factory = await RunAsync(environment, "verify");

        Assert.True(legacy.ExitCode == 0, legacy.Stdout);
        Assert.Equal(ContractsTool.VerificationFailed, factory.ExitCode);
        Assert.Contains("not a registrar", factory.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ShowsRegistryManagerRolesAndBalances()
    {
        var environment = Environment(Chain.ModelRegistryAddress, Chain.TokenManagerAddress, Chain.TestAccounts[3].PrivateKey);

        var text = await RunAsync(environment, "status");
        var json = await RunAsync(environment, "status", "--json");

        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Contains(Chain.ModelRegistryAddress, text.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(Chain.TokenManagerAddress, text.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("registrar of the registry: yes", text.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{Chain.DeployerAddress} balance ", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("DEPLOYER_ROLE: yes", text.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{Chain.TestAccounts[3].Address} balance ", text.Stdout, StringComparison.Ordinal);

        using var document = JsonDocument.Parse(json.Stdout);
        var root = document.RootElement;
        Assert.Equal(Chain.ChainId, root.GetProperty("chainId").GetInt64());
        Assert.True(root.GetProperty("modelRegistry").GetProperty("hasCode").GetBoolean());
        Assert.Equal(Chain.DeployerAddress, root.GetProperty("modelRegistry").GetProperty("owner").GetString());
        Assert.True(root.GetProperty("tokenManager").GetProperty("isRegistrar").GetBoolean());
        var deployers = root.GetProperty("deployers").EnumerateArray().ToList();
        Assert.Equal([Chain.DeployerAddress, Chain.TestAccounts[3].Address], deployers.Select(d => d.GetProperty("address").GetString()));
        Assert.True(deployers[0].GetProperty("deployerRole").GetBoolean());
        Assert.False(deployers[1].GetProperty("deployerRole").GetBoolean());
        Assert.True(System.Numerics.BigInteger.Parse(deployers[1].GetProperty("balanceWei").GetString()!, CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Verify_NoCodeAtTheAddresses_NamesBothSettings()
    {
        const string Empty = "0x1111111111111111111111111111111111111111";

        var run = await RunAsync(Environment(Empty, Empty), "verify");

        Assert.Equal(ContractsTool.VerificationFailed, run.ExitCode);
        // Both were given as variables, so the problems name the variables.
        Assert.Contains($"ModelRegistry address {Empty} (MODEL_REGISTRY_ADDRESS)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"TokenManager address {Empty} (TOKEN_MANAGER_ADDRESS)", run.Stdout, StringComparison.Ordinal);
    }
}
