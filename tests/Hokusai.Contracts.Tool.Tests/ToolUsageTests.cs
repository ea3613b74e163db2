using System.Globalization;

namespace Hokusai.Contracts.Tool.Tests;

public sealed class ToolUsageTests
{
    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(Dictionary<string, string?> environment, params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = await ContractsTool.RunAsync(args, environment, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData]
    [InlineData("deploy")]
    [InlineData("bootstrap", "--force")]
    [InlineData("status", "--legacy")]
    [InlineData("bootstrap", "--grant")]
    [InlineData("bootstrap", "--grant", "0x123")]
    [InlineData("bootstrap", "--legacy", "--grant", "0x000000000000000000000000000000000000dEaD")]
    public async Task RunAsync_BadArguments_ExitsWithUsageError(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync([], args);

        Assert.Equal(ContractsTool.UsageError, code);
        Assert.Empty(stdout);
        Assert.Contains("usage: hokusai-contracts", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Help_PrintsUsageAndExitCodes()
    {
        var (code, stdout, _) = await RunAsync([], "--help");

        Assert.Equal(ContractsTool.Ok, code);
        Assert.Contains("exit codes: 0 ok, 1 verification failed, 2 usage or settings error, 3 chain error", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bootstrap_NoSettings_NamesRpcUrlAndTheKey()
    {
        var (code, _, stderr) = await RunAsync([], "bootstrap");

        Assert.Equal(ContractsTool.UsageError, code);
        // Nothing set either: both the variables and the keys are named.
        Assert.Contains("RPC_URL or RPC_URLS (or HokusaiContracts:Chain:RpcUrls) and DEPLOYER_PRIVATE_KEY (or HokusaiContracts:Chain:DeployerPrivateKey) are required.", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NoRegistry_NamesTheVariableAndKey()
    {
        var (code, _, stderr) = await RunAsync(new() { ["RPC_URL"] = "http://127.0.0.1:9" }, "status");

        Assert.Equal(ContractsTool.UsageError, code);
        Assert.Contains("MODEL_REGISTRY_ADDRESS (or HokusaiContracts:Chain:ModelRegistryAddress) must be set", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_RegistryVariableMalformed_NamesTheVariableOnly()
    {
        var (code, _, stderr) = await RunAsync(new() { ["RPC_URL"] = "http://127.0.0.1:9", ["MODEL_REGISTRY_ADDRESS"] = "0x123" }, "status");

        Assert.Equal(ContractsTool.UsageError, code);
        Assert.Contains("hokusai-contracts status: MODEL_REGISTRY_ADDRESS must be set", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_RegistryKeyMalformed_NamesTheKeyOnly()
    {
        var (code, _, stderr) = await RunAsync(new() { ["RPC_URL"] = "http://127.0.0.1:9" }, "status", "--HokusaiContracts:Chain:ModelRegistryAddress=0x123");

        Assert.Equal(ContractsTool.UsageError, code);
        Assert.Contains("hokusai-contracts status: HokusaiContracts:Chain:ModelRegistryAddress must be set", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("MODEL_REGISTRY_ADDRESS", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ManagerFromStandardEnvironmentVariable_NamesTheKeyOnly()
    {
        var environment = new Dictionary<string, string?>
        {
            ["RPC_URL"] = "http://127.0.0.1:9",
            ["MODEL_REGISTRY_ADDRESS"] = "0x1111111111111111111111111111111111111111",
            ["HokusaiContracts__Chain__TokenManagerAddress"] = "0x123",
        };

        var (code, _, stderr) = await RunAsync(environment, "status");

        Assert.Equal(ContractsTool.UsageError, code);
        Assert.Contains("hokusai-contracts status: HokusaiContracts:Chain:TokenManagerAddress must be set", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("TOKEN_MANAGER_ADDRESS", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bootstrap_MalformedPoolKey_NamesTheEntryNotTheValue()
    {
        const string Bad = "0xnot-a-key-0123456789";

        var (code, _, stderr) = await RunAsync(new() { ["RPC_URL"] = "http://127.0.0.1:9", ["DEPLOYER_PRIVATE_KEYS"] = "0x" + new string('1', 64) + "," + Bad }, "bootstrap");

        Assert.Equal(ContractsTool.UsageError, code);
        Assert.Contains("DEPLOYER_PRIVATE_KEYS entry 1 must be 32 bytes of hex", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Bad, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NodeUnreachable_ExitsWithChainFailureWithoutThePath()
    {
        var environment = new Dictionary<string, string?>
        {
            ["RPC_URL"] = "http://127.0.0.1:9/secret-path-key",
            ["MODEL_REGISTRY_ADDRESS"] = "0x1111111111111111111111111111111111111111",
            ["TOKEN_MANAGER_ADDRESS"] = "0x2222222222222222222222222222222222222222",
        };

        var (code, _, stderr) = await RunAsync(environment, "status");

        Assert.Equal(ContractsTool.ChainFailure, code);
        Assert.DoesNotContain("secret-path-key", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_CommandLineKey_WinsOverTheVariable()
    {
        var environment = new Dictionary<string, string?>
        {
            ["RPC_URL"] = "http://127.0.0.1:9",
            ["MODEL_REGISTRY_ADDRESS"] = "not-an-address",
            ["TOKEN_MANAGER_ADDRESS"] = "0x2222222222222222222222222222222222222222",
        };

        var (code, _, stderr) = await RunAsync(environment, "status", "--HokusaiContracts:Chain:ModelRegistryAddress=0x1111111111111111111111111111111111111111");

        // The address from the command line is valid, so the run gets as far as the (unreachable) node.
        Assert.Equal(ContractsTool.ChainFailure, code);
        Assert.DoesNotContain("MODEL_REGISTRY_ADDRESS", stderr, StringComparison.Ordinal);
    }
}
