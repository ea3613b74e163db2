using Hokusai.Contracts;

namespace ContractsApi.Tests.Infrastructure;

/// <summary>
/// One automining anvil dev chain shared by the published-host tests, so every host they start is
/// given a chain (without one the host would start its own embedded default).
/// </summary>
public sealed class DevChainFixture : IAsyncLifetime
{
    public DevChain Chain { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Chain = await DevChain.StartAsync(new DevChainOptions { AnvilPath = Repo.PathOf(DevChain.AnvilRelativePath.Split('/')) }, CancellationToken.None);

    public async Task DisposeAsync()
    {
        if (Chain is not null)
        {
            await Chain.DisposeAsync();
        }
    }

    /// <summary>The environment every host of the suite gets: this chain, its contracts and key, and an API key.</summary>
    public Dictionary<string, string> Environment(IReadOnlyDictionary<string, string>? extra = null) => HostEnvironment.For(Chain, extra);
}

/// <summary>The variables that point a published host at a chain (the names the original service reads).</summary>
internal static class HostEnvironment
{
    /// <summary>The API key every host accepts (identity <c>ops</c>, with the operator permission).</summary>
    public const string ApiKey = "hk_test_5b1e0c9a7d3f4e2a8c6b";

    public static Dictionary<string, string> For(DevChain chain, IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["RPC_URL"] = chain.RpcUrl,
            ["CHAIN_ID"] = chain.ChainId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MODEL_REGISTRY_ADDRESS"] = chain.ModelRegistryAddress,
            ["TOKEN_MANAGER_ADDRESS"] = chain.TokenManagerAddress,
            ["DEPLOYER_PRIVATE_KEY"] = chain.DeployerPrivateKey,
            ["VALID_API_KEYS"] = "ops:" + ApiKey,
            // The operator key also reads /health/detailed.
            ["ADMIN_API_KEYS"] = "ops:" + ApiKey,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return environment;
    }
}
