using System.Collections;
using System.Globalization;
using Hokusai.Contracts;

namespace ContractsApi;

/// <summary>
/// Maps the original service's environment variables onto the configuration keys the packages bind,
/// so existing deployments (ECS task definitions, .env files) keep working unchanged. It is added
/// after the default sources, so these variables win over appsettings.
/// </summary>
internal static class LegacyEnvironment
{
    private const string Chain = HokusaiContractsOptions.SectionName + ":Chain:";

    private static readonly (string Variable, string Key)[] Scalars =
    [
        ("CHAIN_ID", Chain + "ChainId"),
        ("NETWORK_NAME", Chain + "NetworkName"),
        ("MODEL_REGISTRY_ADDRESS", Chain + "ModelRegistryAddress"),
        ("TOKEN_MANAGER_ADDRESS", Chain + "TokenManagerAddress"),
        ("DEPLOYER_PRIVATE_KEY", Chain + "DeployerPrivateKey"),
        ("CONFIRMATION_BLOCKS", Chain + "ConfirmationBlocks"),
        ("MAX_GAS_PRICE_GWEI", Chain + "MaxGasPriceGwei"),
        ("GAS_PRICE_MULTIPLIER", Chain + "GasPriceMultiplier"),
        ("QUOTA_PER_HOUR", HokusaiContractsOptions.SectionName + ":Quotas:PerHour"),
        ("QUOTA_PER_DAY", HokusaiContractsOptions.SectionName + ":Quotas:PerDay"),
        ("RATE_LIMIT_PER_MINUTE", HokusaiContractsOptions.SectionName + ":Quotas:RequestsPerMinute"),
        ("JOB_CONCURRENCY", HokusaiContractsOptions.SectionName + ":Jobs:MaxConcurrency"),
        ("HEALTH_DETAILED_ENABLED", HokusaiContractsOptions.SectionName + ":Health:DetailedEnabled"),
        ("DEPLOYER_BALANCE_WARNING_ETH", HokusaiContractsOptions.SectionName + ":Health:DeployerBalanceWarningEth"),
    ];

    public static IConfigurationBuilder AddLegacyEnvironment(this IConfigurationBuilder builder, IDictionary? environment = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddInMemoryCollection(Map(environment ?? Environment.GetEnvironmentVariables()));
    }

    internal static Dictionary<string, string?> Map(IDictionary environment)
    {
        string? Get(string name) => environment[name] is string value && value.Trim().Length > 0 ? value.Trim() : null;

        var mapped = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, key) in Scalars)
        {
            if (Get(variable) is { } value)
            {
                mapped[key] = value;
            }
        }

        // RPC_URLS (comma separated, failover order) wins over the single RPC_URL.
        var urls = (Get("RPC_URLS") ?? Get("RPC_URL"))?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        for (var i = 0; i < urls.Length; i++)
        {
            mapped[Chain + "RpcUrls:" + i.ToString(CultureInfo.InvariantCulture)] = urls[i];
        }

        return mapped;
    }
}
