namespace Hokusai.Contracts;

/// <summary>
/// Settings of the deployment service. The reference host binds them from the original service's
/// environment variables (named in each property's documentation).
/// </summary>
public sealed class HokusaiContractsOptions
{
    /// <summary>The configuration section conventionally bound to these options.</summary>
    public const string SectionName = "HokusaiContracts";

    /// <summary>Chain connection, contracts, signer, fees and confirmations.</summary>
    public ChainOptions Chain { get; set; } = new();

    /// <summary>The background job engine.</summary>
    public JobEngineOptions Jobs { get; set; } = new();

    /// <summary>Per-caller quotas on accepted deployments.</summary>
    public QuotaOptions Quotas { get; set; } = new();
}

/// <summary>Chain settings.</summary>
public sealed class ChainOptions
{
    /// <summary>JSON-RPC URLs in failover order (<c>RPC_URLS</c>, comma separated, or <c>RPC_URL</c>).</summary>
    public IList<string> RpcUrls { get; } = [];

    /// <summary>Expected chain id (<c>CHAIN_ID</c>); start-up readiness fails if the node reports another. 0 = accept any.</summary>
    public long ChainId { get; set; }

    /// <summary>Network name reported in token details (<c>NETWORK_NAME</c>).</summary>
    public string NetworkName { get; set; } = "localhost";

    /// <summary>The <c>ModelRegistry</c> address (<c>MODEL_REGISTRY_ADDRESS</c>).</summary>
    public string? ModelRegistryAddress { get; set; }

    /// <summary>The <c>TokenManager</c> address (<c>TOKEN_MANAGER_ADDRESS</c>).</summary>
    public string? TokenManagerAddress { get; set; }

    /// <summary>The deployer's private key (<c>DEPLOYER_PRIVATE_KEY</c>). Never logged or printed.</summary>
    public string? DeployerPrivateKey { get; set; }

    /// <summary>Blocks to wait on top of the inclusion block (<c>CONFIRMATION_BLOCKS</c>); 0 = inclusion only.</summary>
    public int ConfirmationBlocks { get; set; }

    /// <summary>Fee cap in gwei (<c>MAX_GAS_PRICE_GWEI</c>): above it the engine waits instead of sending. 0 = no cap.</summary>
    public decimal MaxGasPriceGwei { get; set; }

    /// <summary>Multiplier applied to gas estimates (<c>GAS_PRICE_MULTIPLIER</c>), 1.0–5.0.</summary>
    public decimal GasPriceMultiplier { get; set; } = 1.2m;

    /// <summary>Timeout of one RPC call.</summary>
    public TimeSpan RpcTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often receipts are polled.</summary>
    public TimeSpan ReceiptPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Returns a description without the private key.</summary>
    public override string ToString() =>
        $"ChainOptions {{ RpcUrls = {RpcUrls.Count}, ChainId = {ChainId}, NetworkName = {NetworkName}, ModelRegistry = {ModelRegistryAddress}, TokenManager = {TokenManagerAddress}, DeployerPrivateKey = {(string.IsNullOrEmpty(DeployerPrivateKey) ? "<unset>" : "<redacted>")} }}";
}

/// <summary>Job engine settings.</summary>
public sealed class JobEngineOptions
{
    /// <summary>Jobs processed at once per process.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Attempts on transient errors before a job fails as retryable.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>First retry delay; doubles each attempt with jitter up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Cap of the retry delay.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long finished jobs are kept.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Estimated seconds to completion reported on acceptance.</summary>
    public int EstimatedCompletionSeconds { get; set; } = 60;

    /// <summary>Default performance metric recorded in the registry when the request gives none.</summary>
    public string DefaultPerformanceMetric { get; set; } = "accuracy";
}

/// <summary>Per-caller quotas on accepted deployments.</summary>
public sealed class QuotaOptions
{
    /// <summary>Accepted deployments per caller per rolling hour.</summary>
    public int PerHour { get; set; } = 5;

    /// <summary>Accepted deployments per caller per rolling day.</summary>
    public int PerDay { get; set; } = 20;

    /// <summary>General limit on requests of any route per caller (or client IP when anonymous) per minute; 0 = off.</summary>
    public int RequestsPerMinute { get; set; } = 100;
}
