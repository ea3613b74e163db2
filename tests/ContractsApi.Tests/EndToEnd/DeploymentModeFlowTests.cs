using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Tests.Chain;

namespace ContractsApi.Tests.EndToEnd;

/// <summary>
/// Both deployment modes end to end through HTTP on anvil, checked over plain JSON-RPC; and the host's
/// <c>bootstrap</c> command as a real process.
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class DeploymentModeFlowTests(DevChainFixture fixture)
{
    private const string Chain = HokusaiContractsOptions.SectionName + ":Chain:";

    private static string NewModel(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    private static async Task<JsonElement> PollUntilFinalAsync(HttpClient client, string statusUrl)
    {
        for (var i = 0; i < 1200; i++)
        {
            using var response = await client.GetAsync(new Uri(statusUrl, UriKind.Absolute));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var data = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data");
            if (data.GetProperty("status").GetString() is "completed" or "failed" or "cancelled")
            {
                return data;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("deployment did not finish");
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, string model, string user, string supply)
    {
        using var post = await client.PostAsJsonAsync(new Uri("/api/deployments", UriKind.Relative), new
        {
            modelId = model,
            userAddress = user,
            tokenName = "Mode " + model,
            tokenSymbol = "MODE",
            initialSupply = supply,
        });
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        return (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").Clone();
    }

    private static async Task<JsonElement> ReadinessCheckAsync(HttpClient client, string name)
    {
        using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty(name).Clone();
    }

    private static async Task AssertDeployedAsync(JsonRpc rpc, string registry, string manager, string model, string token, string user, BigInteger supply)
    {
        Assert.NotEqual("0x", await rpc.CodeAsync(token));
        Assert.Equal(token.ToLowerInvariant(), await rpc.CallAddressAsync(registry, "getToken(string)", JsonRpc.StringArg(model)));
        Assert.Equal(manager.ToLowerInvariant(), await rpc.CallAddressAsync(token, "controller()"));
        Assert.Equal(supply, await rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(user)));
        Assert.Equal("Mode " + model, await rpc.CallStringAsync(token, "name()"));
    }

    [Fact]
    public async Task Post_FactoryContracts_OneTransactionAtPredictedAddress()
    {
        await using var host = new ComposedHost(fixture.Chain);
        using var client = host.CreateApiClient();
        using var rpc = new JsonRpc(fixture.Chain.RpcUrl);
        var model = NewModel("factory");
        var user = fixture.Chain.TestAccounts[1].Address;
        var nonceBefore = JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionCount", fixture.Chain.DeployerAddress, "latest")).GetString()!);

        var accepted = await PostAsync(client, model, user, "777");
        var predicted = accepted.GetProperty("predictedTokenAddress").GetString()!;
        var done = await PollUntilFinalAsync(client, accepted.GetProperty("links").GetProperty("status").GetString()!);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(predicted, done.GetProperty("predictedTokenAddress").GetString());
        var details = done.GetProperty("tokenDetails");
        Assert.Equal(predicted, details.GetProperty("tokenAddress").GetString());
        var hash = details.GetProperty("transactionHash").GetString();
        Assert.Equal(hash, details.GetProperty("registryTransactionHash").GetString());
        Assert.Equal(hash, details.GetProperty("mintTransactionHash").GetString());
        await AssertDeployedAsync(rpc, fixture.Chain.ModelRegistryAddress, fixture.Chain.TokenManagerAddress, model, predicted, user, 777);
        var receipt = await rpc.CallRawAsync("eth_getTransactionReceipt", hash);
        Assert.Equal(fixture.Chain.TokenManagerAddress.ToLowerInvariant(), receipt.GetProperty("to").GetString());
        var nonceAfter = JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getTransactionCount", fixture.Chain.DeployerAddress, "latest")).GetString()!);
        Assert.Equal(BigInteger.One, nonceAfter - nonceBefore);
        var mode = await ReadinessCheckAsync(client, "deployment_mode");
        Assert.Equal("healthy", mode.GetProperty("status").GetString());
        Assert.StartsWith("factory (auto:", mode.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_LegacyContracts_AutoDetectsLegacyAndSendsThreeTransactions()
    {
        var options = new HokusaiContractsOptions();
        fixture.Chain.ApplyTo(options);
        var legacy = await ContractsBootstrapper.DeployAsync(options.Chain, factory: false, null, CancellationToken.None);
        await using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string>
        {
            [Chain + "ModelRegistryAddress"] = legacy.ModelRegistryAddress,
            [Chain + "TokenManagerAddress"] = legacy.TokenManagerAddress,
        });
        using var client = host.CreateApiClient();
        using var rpc = new JsonRpc(fixture.Chain.RpcUrl);
        var model = NewModel("legacy");
        var user = fixture.Chain.TestAccounts[1].Address;

        var accepted = await PostAsync(client, model, user, "1000");
        Assert.False(accepted.TryGetProperty("predictedTokenAddress", out _));
        var done = await PollUntilFinalAsync(client, accepted.GetProperty("links").GetProperty("status").GetString()!);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        var details = done.GetProperty("tokenDetails");
        var token = details.GetProperty("tokenAddress").GetString()!;
        var hashes = new[] { "transactionHash", "registryTransactionHash", "mintTransactionHash" }.Select(p => details.GetProperty(p).GetString()).ToHashSet();
        Assert.Equal(3, hashes.Count);
        await AssertDeployedAsync(rpc, legacy.ModelRegistryAddress, legacy.TokenManagerAddress, model, token, user, 1000);
        var mode = await ReadinessCheckAsync(client, "deployment_mode");
        Assert.StartsWith("legacy (auto:", mode.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("not a registrar", mode.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_FactoryForcedOnLegacyContracts_UnhealthyWithReason()
    {
        var options = new HokusaiContractsOptions();
        fixture.Chain.ApplyTo(options);
        var legacy = await ContractsBootstrapper.DeployAsync(options.Chain, factory: false, null, CancellationToken.None);
        await using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string>
        {
            [Chain + "ModelRegistryAddress"] = legacy.ModelRegistryAddress,
            [Chain + "TokenManagerAddress"] = legacy.TokenManagerAddress,
            [Chain + "DeploymentMode"] = "Factory",
        });
        using var client = host.CreateApiClient();

        using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var mode = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("deployment_mode");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("unhealthy", mode.GetProperty("status").GetString());
        Assert.Contains("DEPLOYER_ROLE", mode.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BootstrapCommand_RealProcess_PrintsExactlyTwoAddressLines(bool legacy)
    {
        var dll = Repo.PathOf("samples", "ContractsApi", "bin", Repo.Configuration, "net10.0", "ContractsApi.dll");
        var environment = new Dictionary<string, string?>
        {
            ["RPC_URL"] = fixture.Chain.RpcUrl,
            ["CHAIN_ID"] = fixture.Chain.ChainId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DEPLOYER_PRIVATE_KEY"] = fixture.Chain.DeployerPrivateKey,
        };

        var result = await Shell.RunAsync("dotnet", legacy ? [dll, "bootstrap", "--legacy"] : [dll, "bootstrap"], environment: environment, timeout: TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches("^MODEL_REGISTRY_ADDRESS=0x[0-9a-fA-F]{40}$", lines[0]);
        Assert.Matches("^TOKEN_MANAGER_ADDRESS=0x[0-9a-fA-F]{40}$", lines[1]);
        Assert.Contains("bootstrap:", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Chain.DeployerPrivateKey[2..], result.All, StringComparison.OrdinalIgnoreCase);
        var registry = lines[0]["MODEL_REGISTRY_ADDRESS=".Length..];
        var manager = lines[1]["TOKEN_MANAGER_ADDRESS=".Length..];
        using var rpc = new JsonRpc(fixture.Chain.RpcUrl);
        Assert.Equal(fixture.Chain.DeployerAddress.ToLowerInvariant(), await rpc.CallAddressAsync(registry, "owner()"));
        Assert.Equal(registry.ToLowerInvariant(), await rpc.CallAddressAsync(manager, "registry()"));
        Assert.Equal(!legacy, await rpc.CallBoolAsync(registry, "isRegistrar(address)", JsonRpc.AddressArg(manager)));
        var deployerRole = "S" + Convert.ToHexStringLower(Nethereum.Util.Sha3Keccack.Current.CalculateHash("DEPLOYER_ROLE"u8.ToArray()));
        var minterRole = "S" + Convert.ToHexStringLower(Nethereum.Util.Sha3Keccack.Current.CalculateHash("MINTER_ROLE"u8.ToArray()));
        Assert.Equal(!legacy, await rpc.CallBoolAsync(manager, "hasRole(bytes32,address)", deployerRole, JsonRpc.AddressArg(fixture.Chain.DeployerAddress)));
        Assert.True(await rpc.CallBoolAsync(manager, "hasRole(bytes32,address)", minterRole, JsonRpc.AddressArg(fixture.Chain.DeployerAddress)));
    }

    [Fact]
    public async Task BootstrapCommand_NoRpcConfigured_ExitsTwoWithMessage()
    {
        var dll = Repo.PathOf("samples", "ContractsApi", "bin", Repo.Configuration, "net10.0", "ContractsApi.dll");

        var result = await Shell.RunAsync("dotnet", [dll, "bootstrap"], environment: new Dictionary<string, string?> { ["RPC_URL"] = null, ["RPC_URLS"] = null, ["DEPLOYER_PRIVATE_KEY"] = null }, timeout: TimeSpan.FromMinutes(1));

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(result.StdOut.Trim());
        Assert.Contains("RPC_URL", result.StdErr, StringComparison.Ordinal);
    }
}
