namespace Hokusai.Contracts.AspNetCore;

/// <summary>Settings of the endpoints mapped by <c>MapHokusaiContractsHealth</c> (configure with <c>services.Configure&lt;HokusaiHealthEndpointOptions&gt;</c>).</summary>
public sealed class HokusaiHealthEndpointOptions
{
    /// <summary>Whether <c>/health/detailed</c> is mapped at all (<c>HEALTH_DETAILED_ENABLED</c> in the reference host).</summary>
    public bool DetailedEnabled { get; set; } = true;

    /// <summary>
    /// Authorization policy of <c>/health/detailed</c>; null uses the API's operator policy
    /// (<see cref="HokusaiAuthenticationDefaults.AdminPolicy"/>: an <c>ADMIN_API_KEYS</c> key or a JWT with the
    /// admin role or scope) when <c>AddHokusaiApi</c> is registered, else the default policy.
    /// </summary>
    public string? DetailedAuthorizationPolicy { get; set; }

    /// <summary>
    /// Deployer balance, in ether, below which the detailed report carries a warning
    /// (<c>DEPLOYER_BALANCE_WARNING_ETH</c> in the reference host).
    /// </summary>
    public decimal DeployerBalanceWarningEth { get; set; } = 0.05m;

    /// <summary>
    /// Configuration keys whose presence the detailed report lists as <c>set</c> or <c>unset</c>.
    /// Values are never reported.
    /// </summary>
    public IList<string> ReportedSettings { get; } =
    [
        "RPC_URL", "RPC_URLS", "CHAIN_ID", "NETWORK_NAME", "MODEL_REGISTRY_ADDRESS", "TOKEN_MANAGER_ADDRESS",
        "DEPLOYER_PRIVATE_KEY", "DEPLOYER_PRIVATE_KEYS", "REDIS_URL", "VALID_API_KEYS", "ADMIN_API_KEYS", "JWT_SECRET", "CONFIRMATION_BLOCKS",
        "LOG_LEVEL", "PORT", "METRICS_PORT", "TRUSTED_PROXIES", "OTEL_EXPORTER_OTLP_ENDPOINT",
    ];

    /// <summary>
    /// Configuration keys (or sections) that also count as a reported setting being <c>set</c>: the
    /// variables are one way in, and a host (such as the embedded dev-chain default) can fill the bound
    /// keys directly. Filled from <see cref="HokusaiEnvironmentVariables.All"/>.
    /// </summary>
    public IDictionary<string, string[]> SettingAliases { get; } =
        HokusaiEnvironmentVariables.All.ToDictionary(v => v.Name, v => new[] { v.Key }, StringComparer.OrdinalIgnoreCase);
}
