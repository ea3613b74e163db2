using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts;

/// <summary>
/// Settings of the deployment service, bound from the <see cref="SectionName"/> configuration section. The
/// original service's environment variables (named in each property's documentation) map onto its keys with
/// <c>builder.Configuration.AddHokusaiEnvironmentVariables()</c>.
/// </summary>
public sealed class HokusaiContractsOptions
{
    /// <summary>The configuration section conventionally bound to these options.</summary>
    public const string SectionName = "HokusaiContracts";

    /// <summary>Chain connection, contracts, signer, fees and confirmations.</summary>
    [ValidateObjectMembers]
    public ChainOptions Chain { get; set; } = new();

    /// <summary>The background job engine.</summary>
    [ValidateObjectMembers]
    public JobEngineOptions Jobs { get; set; } = new();

    /// <summary>Per-caller quotas on accepted deployments.</summary>
    [ValidateObjectMembers]
    public QuotaOptions Quotas { get; set; } = new();

    /// <summary>Signed webhooks: secrets, endpoints, retry window and target policy.</summary>
    public Webhooks.WebhookOptions Webhooks { get; set; } = new();

    /// <summary>The local mirror of the registry that answers the accept path's "already on chain?" question.</summary>
    public Mirror.RegistryMirrorOptions RegistryMirror { get; set; } = new();
}

/// <summary>Chain settings.</summary>
public sealed class ChainOptions
{
    /// <summary>JSON-RPC URLs in failover order (<c>RPC_URLS</c>, comma separated, or <c>RPC_URL</c>).</summary>
    public IList<string> RpcUrls { get; } = [];

    /// <summary>Expected chain id (<c>CHAIN_ID</c>); start-up readiness fails if the node reports another. 0 = accept any.</summary>
    [Range(0, long.MaxValue, ErrorMessage = "CHAIN_ID (HokusaiContracts:Chain:ChainId) must be a positive chain id, or 0 to accept the node's.")]
    public long ChainId { get; set; }

    /// <summary>Network name reported in token details (<c>NETWORK_NAME</c>).</summary>
    [Required(ErrorMessage = "NETWORK_NAME (HokusaiContracts:Chain:NetworkName) is required.")]
    [RegularExpression("^[A-Za-z0-9 _.-]{1,64}$", ErrorMessage = "NETWORK_NAME (HokusaiContracts:Chain:NetworkName) must be 1-64 letters, digits, spaces, dots, dashes or underscores.")]
    public string NetworkName { get; set; } = "localhost";

    /// <summary>The <c>ModelRegistry</c> address (<c>MODEL_REGISTRY_ADDRESS</c>).</summary>
    [Required(ErrorMessage = "MODEL_REGISTRY_ADDRESS (HokusaiContracts:Chain:ModelRegistryAddress) is required.")]
    [RegularExpression("^0x[0-9a-fA-F]{40}$", ErrorMessage = "MODEL_REGISTRY_ADDRESS (HokusaiContracts:Chain:ModelRegistryAddress) must be a 0x-prefixed 20-byte hex address.")]
    public string? ModelRegistryAddress { get; set; }

    /// <summary>The <c>TokenManager</c> address (<c>TOKEN_MANAGER_ADDRESS</c>).</summary>
    [Required(ErrorMessage = "TOKEN_MANAGER_ADDRESS (HokusaiContracts:Chain:TokenManagerAddress) is required.")]
    [RegularExpression("^0x[0-9a-fA-F]{40}$", ErrorMessage = "TOKEN_MANAGER_ADDRESS (HokusaiContracts:Chain:TokenManagerAddress) must be a 0x-prefixed 20-byte hex address.")]
    public string? TokenManagerAddress { get; set; }

    /// <summary>
    /// The deployer's private key (<c>DEPLOYER_PRIVATE_KEY</c>): a signer pool of one, or the first key of the pool
    /// when <see cref="DeployerPrivateKeys"/> lists more. Never logged or printed. One of the two is required.
    /// </summary>
    public string? DeployerPrivateKey { get; set; }

    /// <summary>
    /// The signer pool (<c>DEPLOYER_PRIVATE_KEYS</c>, comma separated): more keys sign in parallel, each leased by
    /// one replica at a time. Listed after <see cref="DeployerPrivateKey"/> when both are set (a key in both counts
    /// once). A pool of more than one key needs factory mode. Never logged or printed.
    /// </summary>
    public IList<string> DeployerPrivateKeys { get; } = [];

    /// <summary>Blocks to wait on top of the inclusion block (<c>CONFIRMATION_BLOCKS</c>); 0 = inclusion only.</summary>
    [Range(0, 128, ErrorMessage = "CONFIRMATION_BLOCKS (HokusaiContracts:Chain:ConfirmationBlocks) must be between 0 and 128.")]
    public int ConfirmationBlocks { get; set; }

    /// <summary>Fee cap in gwei (<c>MAX_GAS_PRICE_GWEI</c>): above it the engine waits instead of sending. 0 = no cap.</summary>
    public decimal MaxGasPriceGwei { get; set; }

    /// <summary>Multiplier applied to gas estimates (<c>GAS_PRICE_MULTIPLIER</c>), 1.0–5.0.</summary>
    public decimal GasPriceMultiplier { get; set; } = 1.2m;

    /// <summary>
    /// <c>DEPLOYMENT_MODE</c>: <c>Auto</c> (default) uses one <c>TokenManager.deployToken</c> transaction per
    /// model when the manager has it, is a registrar of the registry and the key holds <c>DEPLOYER_ROLE</c>,
    /// and the three-transaction flow otherwise; <c>Factory</c> and <c>Legacy</c> force one.
    /// </summary>
    public DeploymentModeSetting DeploymentMode { get; set; } = DeploymentModeSetting.Auto;

    /// <summary>
    /// <c>MAX_IN_FLIGHT_PER_KEY</c>: signed transactions of one key that may be sent but not yet mined.
    /// 16 is the per-account pending limit of common nodes; more would be parked or dropped by them.
    /// </summary>
    [Range(1, 1024, ErrorMessage = "MAX_IN_FLIGHT_PER_KEY (HokusaiContracts:Chain:MaxInFlightPerKey) must be between 1 and 1024.")]
    public int MaxInFlightPerKey { get; set; } = 16;

    /// <summary>
    /// <c>REPLACE_AFTER</c>: how long a sent transaction may stay unmined before it is replaced (same nonce, fees
    /// raised by at least 12.5 %, never above <c>MAX_GAS_PRICE_GWEI</c>). Blocks (<c>12b</c>) or seconds (<c>90s</c>,
    /// <c>2m</c>, a bare <c>90</c>, or a TimeSpan); <c>0</c> or <c>off</c> turns replacement off; unset (default)
    /// picks the chain's default by chain id (15 blocks on Ethereum mainnet, 60 on OP, Base and Polygon, 60 s
    /// on Arbitrum, 30 s on anvil/hardhat 31337, 120 s elsewhere).
    /// </summary>
    public string? ReplaceAfter { get; set; }

    /// <summary>
    /// <c>RPC_WS_URL</c>: a WebSocket endpoint (<c>ws://</c> or <c>wss://</c>) whose <c>eth_subscribe("newHeads")</c>
    /// tells the block follower about each new block the moment it exists, instead of it polling the head. When the
    /// socket drops the follower polls (<see cref="ReceiptPollInterval"/>) and reconnects in the background.
    /// Receipts and every other call still go to <see cref="RpcUrls"/>.
    /// </summary>
    public string? RpcWsUrl { get; set; }

    /// <summary>Timeout of one RPC call.</summary>
    public TimeSpan RpcTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the block follower reads the head (<c>BLOCK_POLL_INTERVAL_MS</c>): receipts of every
    /// waiting transaction are resolved from the blocks it sees. During an RPC outage it probes at least
    /// every 500 ms, so the pipeline resumes within one interval of recovery.
    /// </summary>
    public TimeSpan ReceiptPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Returns a description without the private key.</summary>
    public override string ToString() =>
        $"ChainOptions {{ RpcUrls = {RpcUrls.Count}, ChainId = {ChainId}, NetworkName = {NetworkName}, ModelRegistry = {ModelRegistryAddress}, TokenManager = {TokenManagerAddress}, DeployerPrivateKey = {(string.IsNullOrEmpty(DeployerPrivateKey) ? "<unset>" : "<redacted>")}, DeployerPrivateKeys = {DeployerPrivateKeys.Count} <redacted> }}";
}

/// <summary>Job engine settings.</summary>
public sealed class JobEngineOptions
{
    /// <summary>
    /// Jobs held at once per process (<c>JOB_CONCURRENCY</c>). Only a memory bound: a job waiting for a
    /// receipt holds no thread, and throughput is bounded by the signer's in-flight window
    /// (<see cref="ChainOptions.MaxInFlightPerKey"/>).
    /// </summary>
    [Range(1, 4096, ErrorMessage = "JOB_CONCURRENCY (HokusaiContracts:Jobs:MaxConcurrency) must be between 1 and 4096.")]
    public int MaxConcurrency { get; set; } = 256;

    /// <summary>Attempts on transient errors before a job fails as retryable.</summary>
    [Range(1, 100, ErrorMessage = "HokusaiContracts:Jobs:MaxAttempts must be between 1 and 100.")]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>First retry delay; doubles each attempt with jitter up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Cap of the retry delay.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long finished jobs are kept.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Estimated seconds from acceptance to completion, reported until this process has measured a completed
    /// deployment (then <see cref="DeploymentDurationEstimator"/> reports the measured median).
    /// </summary>
    public int EstimatedCompletionSeconds { get; set; } = 60;

    /// <summary>
    /// How long one run waits for a receipt before looking the transaction up again (and re-broadcasting
    /// it if the node dropped it). The job is not failed: it is retried.
    /// </summary>
    public TimeSpan ReceiptTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>On shutdown, how long in-flight jobs may keep going before they are parked (left resumable).</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the engine re-queues unfinished jobs that have not moved for <see cref="StaleAfter"/>.</summary>
    public TimeSpan RecoverySweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An unfinished job untouched for this long is considered orphaned and re-queued.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Default performance metric recorded in the registry when the request gives none.</summary>
    public string DefaultPerformanceMetric { get; set; } = "accuracy";
}

/// <summary>Per-caller quotas on accepted deployments.</summary>
public sealed class QuotaOptions
{
    /// <summary>Accepted deployments per caller per rolling hour.</summary>
    [Range(1, 1_000_000, ErrorMessage = "QUOTA_PER_HOUR (HokusaiContracts:Quotas:PerHour) must be between 1 and 1000000.")]
    public int PerHour { get; set; } = 5;

    /// <summary>Accepted deployments per caller per rolling day.</summary>
    [Range(1, 1_000_000, ErrorMessage = "QUOTA_PER_DAY (HokusaiContracts:Quotas:PerDay) must be between 1 and 1000000.")]
    public int PerDay { get; set; } = 20;

    /// <summary>General limit on requests of any route per caller (or client IP when anonymous) per minute; 0 = off.</summary>
    [Range(0, 1_000_000, ErrorMessage = "RATE_LIMIT_PER_MINUTE (HokusaiContracts:Quotas:RequestsPerMinute) must be between 0 (off) and 1000000.")]
    public int RequestsPerMinute { get; set; } = 100;
}

/// <summary>Source-generated validation of the data annotations above.</summary>
[OptionsValidator]
internal sealed partial class HokusaiContractsOptionsValidator : IValidateOptions<HokusaiContractsOptions>;

/// <summary>
/// The validation registered by <c>AddHokusaiContracts</c>: runs the annotation and rule validators, whose messages
/// name settings in the canonical form (<c>MODEL_REGISTRY_ADDRESS (HokusaiContracts:Chain:ModelRegistryAddress)</c>),
/// and rewrites each failure to name what the caller set, read from the host's configuration when the service
/// provider has one (<see cref="HokusaiEnvironmentVariables.Rewrite"/>). One place, so no message decides it alone.
/// </summary>
internal sealed partial class HokusaiContractsOptionsNamingValidator(IConfiguration? configuration = null) : IValidateOptions<HokusaiContractsOptions>
{
    private readonly IValidateOptions<HokusaiContractsOptions>[] _validators = [new HokusaiContractsOptionsValidator(), new HokusaiContractsOptionsRulesValidator()];

    public ValidateOptionsResult Validate(string? name, HokusaiContractsOptions options)
    {
        var failures = _validators
            .Select(v => v.Validate(name, options))
            .Where(r => r.Failed)
            .SelectMany(r => r.Failures ?? [])
            .Select(f => HokusaiEnvironmentVariables.Rewrite(Canonical(f), configuration))
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// The generated validator words range failures itself ("The field HokusaiContractsOptions.Quotas.PerHour must be
    /// between 1 and 1000000."), dropping the attribute's message: the property path becomes the setting.
    /// </summary>
    private static string Canonical(string failure) =>
        PropertyPathPattern().Replace(failure, m => HokusaiEnvironmentVariables.Describe(HokusaiContractsOptions.SectionName + ":" + m.Groups[1].Value.Replace('.', ':')));

    [System.Text.RegularExpressions.GeneratedRegex(@"The field HokusaiContractsOptions\.([A-Za-z0-9_.]+)", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex PropertyPathPattern();
}

/// <summary>Checks what annotations cannot express: the RPC URL list and cross-field rules.</summary>
internal sealed class HokusaiContractsOptionsRulesValidator : IValidateOptions<HokusaiContractsOptions>
{
    public ValidateOptionsResult Validate(string? name, HokusaiContractsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Chain.RpcUrls.Count == 0)
        {
            failures.Add("RPC_URL or RPC_URLS (HokusaiContracts:Chain:RpcUrls) is required: at least one JSON-RPC URL.");
        }

        foreach (var url in options.Chain.RpcUrls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                // The URL itself may embed an API key, so it is not echoed.
                failures.Add("RPC_URL or RPC_URLS (HokusaiContracts:Chain:RpcUrls) must be absolute http(s) URLs.");
                break;
            }
        }

        // The signer pool: each key named by its place (and address once it parses), never by its value.
        var signerKeys = Hokusai.Contracts.Chain.SignerKeys.Parse(options.Chain);
        failures.AddRange(signerKeys.Failures);
        if (options.Chain.DeploymentMode == DeploymentModeSetting.Legacy && signerKeys.Keys.Count > 1)
        {
            failures.Add("DEPLOYER_PRIVATE_KEYS (HokusaiContracts:Chain:DeployerPrivateKeys) lists more than one key, which needs factory mode, but DEPLOYMENT_MODE (HokusaiContracts:Chain:DeploymentMode) is legacy: the three-transaction flow registers through the ModelRegistry's one owner, so only one key could sign it. Set the mode to factory (or auto) with DEPLOYER_ROLE granted to every key, or configure one key.");
        }

        // Decimal ranges are checked here: the generated validator does not keep custom messages for them.
        if (options.Chain.GasPriceMultiplier is < 1.0m or > 5.0m)
        {
            failures.Add("GAS_PRICE_MULTIPLIER (HokusaiContracts:Chain:GasPriceMultiplier) must be between 1.0 and 5.0.");
        }

        if (options.Chain.MaxGasPriceGwei is < 0m or > 1_000_000m)
        {
            failures.Add("MAX_GAS_PRICE_GWEI (HokusaiContracts:Chain:MaxGasPriceGwei) must be between 0 (no cap) and 1000000.");
        }

        if (options.Quotas.PerDay < options.Quotas.PerHour)
        {
            failures.Add("QUOTA_PER_DAY (HokusaiContracts:Quotas:PerDay) must not be below QUOTA_PER_HOUR (HokusaiContracts:Quotas:PerHour).");
        }

        if (options.Chain.RpcTimeout <= TimeSpan.Zero || options.Chain.ReceiptPollInterval <= TimeSpan.Zero)
        {
            failures.Add("HokusaiContracts:Chain:RpcTimeout and ReceiptPollInterval must be positive.");
        }

        if (!Chain.ReplacementPolicy.TryParse(options.Chain.ReplaceAfter, out _, out var replaceError))
        {
            failures.Add("REPLACE_AFTER (HokusaiContracts:Chain:ReplaceAfter) " + replaceError);
        }

        if (options.Chain.RpcWsUrl is { Length: > 0 } ws
            && (!Uri.TryCreate(ws, UriKind.Absolute, out var wsUri) || wsUri.Scheme is not ("ws" or "wss")))
        {
            // Like the RPC URLs, the value may embed an API key, so it is not echoed.
            failures.Add("RPC_WS_URL (HokusaiContracts:Chain:RpcWsUrl) must be an absolute ws:// or wss:// URL.");
        }

        if (options.Chain.ReceiptPollInterval > TimeSpan.FromMinutes(1))
        {
            failures.Add("BLOCK_POLL_INTERVAL_MS (HokusaiContracts:Chain:ReceiptPollInterval) must be at most one minute.");
        }

        if (!Enum.IsDefined(options.Chain.DeploymentMode))
        {
            failures.Add("DEPLOYMENT_MODE (HokusaiContracts:Chain:DeploymentMode) must be auto, factory or legacy.");
        }

        if (options.Jobs.InitialRetryDelay <= TimeSpan.Zero || options.Jobs.MaxRetryDelay < options.Jobs.InitialRetryDelay)
        {
            failures.Add("HokusaiContracts:Jobs:InitialRetryDelay must be positive and not above MaxRetryDelay.");
        }

        failures.AddRange(options.Webhooks.Validate());
        failures.AddRange(options.RegistryMirror.Validate());

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
