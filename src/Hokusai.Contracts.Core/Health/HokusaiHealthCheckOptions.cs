namespace Hokusai.Contracts;

/// <summary>Settings of the readiness checks added by <c>AddHokusaiContracts</c> on an <c>IHealthChecksBuilder</c>.</summary>
public sealed class HokusaiHealthCheckOptions
{
    /// <summary>The tag carried by every readiness check (the Redis package's check uses it too).</summary>
    public const string ReadyTag = "ready";

    /// <summary>Name of the check that is unhealthy while the host starts and from the moment it begins to stop.</summary>
    public const string LifecycleCheckName = "lifecycle";

    /// <summary>Name of the check that reads the latest block from the RPC node.</summary>
    public const string RpcCheckName = "rpc";

    /// <summary>Name of the check that calls a view function on the <c>ModelRegistry</c>.</summary>
    public const string ModelRegistryCheckName = "model_registry";

    /// <summary>Name of the check that reports the deployment mode new jobs start in, and why.</summary>
    public const string DeploymentModeCheckName = "deployment_mode";

    /// <summary>Name of the check that, with a signer pool, names each key lacking <c>DEPLOYER_ROLE</c> or funds.</summary>
    public const string SignerPoolCheckName = "signer_pool";

    /// <summary>
    /// Balance, in ether, below which a key of a signer pool (more than one key) fails readiness
    /// (<c>DEPLOYER_BALANCE_WARNING_ETH</c> in the reference host, the same threshold <c>/health/detailed</c> warns at).
    /// </summary>
    public decimal DeployerBalanceWarningEth { get; set; } = 0.05m;

    /// <summary>How long one probe may take before the check reports unhealthy (default and maximum 2 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a probe's result is reused (default and maximum 2 s), so frequent load balancer and
    /// container probes do not each hit the RPC node. Zero disables caching.
    /// </summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the host keeps serving once shutdown begins, before any hosted service (the web server
    /// included) is stopped: readiness answers 503 meanwhile, so probes and load balancers see the task
    /// leave before its listener closes. Zero (the default) stops at once; at most 20 s.
    /// </summary>
    public TimeSpan ShutdownDelay { get; set; } = TimeSpan.Zero;
}
