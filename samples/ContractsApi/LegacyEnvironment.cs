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
    private const string Webhooks = HokusaiContractsOptions.SectionName + ":Webhooks:";
    private const string Mirror = HokusaiContractsOptions.SectionName + ":RegistryMirror:";

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
        ("DEPLOYMENT_MODE", Chain + "DeploymentMode"),
        ("MAX_IN_FLIGHT_PER_KEY", Chain + "MaxInFlightPerKey"),
        ("QUOTA_PER_HOUR", HokusaiContractsOptions.SectionName + ":Quotas:PerHour"),
        ("QUOTA_PER_DAY", HokusaiContractsOptions.SectionName + ":Quotas:PerDay"),
        ("RATE_LIMIT_PER_MINUTE", HokusaiContractsOptions.SectionName + ":Quotas:RequestsPerMinute"),
        ("JOB_CONCURRENCY", HokusaiContractsOptions.SectionName + ":Jobs:MaxConcurrency"),
        ("HEALTH_DETAILED_ENABLED", HokusaiContractsOptions.SectionName + ":Health:DetailedEnabled"),
        ("DEPLOYER_BALANCE_WARNING_ETH", HokusaiContractsOptions.SectionName + ":Health:DeployerBalanceWarningEth"),
        ("WEBHOOK_ALLOW_LOOPBACK", Webhooks + "AllowLoopback"),
        ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", Webhooks + "AllowPrivateNetworks"),
        ("REGISTRY_MIRROR_ENABLED", Mirror + "Enabled"),
        ("REGISTRY_MIRROR_START_BLOCK", Mirror + "StartBlock"),
        ("REGISTRY_MIRROR_BLOCK_RANGE", Mirror + "MaxBlockRange"),
    ];

    /// <summary>Each variable and the configuration key it sets (for messages that name a key).</summary>
    internal static IEnumerable<(string Variable, string Key)> Variables => Scalars.Concat(Milliseconds);

    private static readonly (string Variable, string Key)[] Milliseconds =
    [
        ("BLOCK_POLL_INTERVAL_MS", Chain + "ReceiptPollInterval"),
    ];

    private static readonly (string Variable, string Key)[] LeaseSettings =
    [
        ("SIGNER_LEASE_TTL", "HokusaiContracts:Redis:LeaseTtl"),
        ("SIGNER_LEASE_RENEW_INTERVAL", "HokusaiContracts:Redis:LeaseRenewInterval"),
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

        // Signer lease timing, in seconds (fractions allowed): how long signing pauses when the owner dies.
        foreach (var (variable, key) in LeaseSettings)
        {
            if (Get(variable) is { } seconds)
            {
                mapped[key] = double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 && value <= 3600
                    ? TimeSpan.FromSeconds(value).ToString("c", CultureInfo.InvariantCulture)
                    : throw new InvalidOperationException($"{variable} must be a number of seconds greater than 0 (e.g. 10 or 2.5).");
            }
        }

        // Durations given in milliseconds become TimeSpan values; anything unparsable is passed through so
        // options validation names the variable.
        foreach (var (variable, key) in Milliseconds)
        {
            if (Get(variable) is { } ms)
            {
                mapped[key] = double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0
                    ? TimeSpan.FromMilliseconds(value).ToString("c", CultureInfo.InvariantCulture)
                    : "-00:00:01";
            }
        }

        if (Get("REPLACE_AFTER") is { } replaceAfter)
        {
            mapped[Chain + "ReplaceAfter"] = double.TryParse(replaceAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var replaceSeconds) && replaceSeconds >= 0
                ? TimeSpan.FromSeconds(replaceSeconds).ToString("c", CultureInfo.InvariantCulture)
                : "-00:00:01";
        }

        // The registry mirror's poll interval, in seconds like the lease timing (a bare number would bind as days).
        if (Get("REGISTRY_MIRROR_POLL_INTERVAL") is { } poll)
        {
            mapped[Mirror + "PollInterval"] = double.TryParse(poll, NumberStyles.Float, CultureInfo.InvariantCulture, out var pollSeconds) && pollSeconds > 0 && pollSeconds <= 600
                ? TimeSpan.FromSeconds(pollSeconds).ToString("c", CultureInfo.InvariantCulture)
                : throw new InvalidOperationException("REGISTRY_MIRROR_POLL_INTERVAL must be a number of seconds greater than 0 and at most 600 (e.g. 2 or 0.5).");
        }

        // RPC_URLS (comma separated, failover order) wins over the single RPC_URL.
        var urls = (Get("RPC_URLS") ?? Get("RPC_URL"))?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        for (var i = 0; i < urls.Length; i++)
        {
            mapped[Chain + "RpcUrls:" + i.ToString(CultureInfo.InvariantCulture)] = urls[i];
        }

        // WEBHOOK_SECRETS: comma separated caller:secret (two per caller while rotating), kept as listed.
        var secrets = Get("WEBHOOK_SECRETS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        for (var i = 0; i < secrets.Length; i++)
        {
            mapped[Webhooks + "Secrets:" + i.ToString(CultureInfo.InvariantCulture)] = secrets[i];
        }

        // WEBHOOK_ENDPOINTS: comma separated caller:url (the first ':' ends the caller name).
        foreach (var entry in Get("WEBHOOK_ENDPOINTS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [])
        {
            var separator = entry.IndexOf(':', StringComparison.Ordinal);
            if (separator > 0)
            {
                mapped[Webhooks + "Endpoints:" + entry[..separator].Trim()] = entry[(separator + 1)..].Trim();
            }
            else
            {
                throw new InvalidOperationException("WEBHOOK_ENDPOINTS entries must be caller:url.");
            }
        }

        if (Get("WEBHOOK_MAX_AGE") is { } maxAge)
        {
            mapped[Webhooks + "MaxAge"] = ParseDuration("WEBHOOK_MAX_AGE", maxAge).ToString("c", CultureInfo.InvariantCulture);
        }

        return mapped;
    }

    /// <summary>A duration as seconds (<c>86400</c>), with a unit (<c>90s</c>, <c>30m</c>, <c>24h</c>, <c>2d</c>) or as a TimeSpan (<c>1.00:00:00</c>).</summary>
    internal static TimeSpan ParseDuration(string variable, string value)
    {
        var unit = value[^1];
        var number = char.IsAsciiLetter(unit) ? value[..^1] : value;
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            TimeSpan? parsed = char.ToLowerInvariant(unit) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ when !char.IsAsciiLetter(unit) => TimeSpan.FromSeconds(amount),
                _ => null,
            };
            if (parsed is { } result)
            {
                return result;
            }
        }

        if (!value.Contains(':', StringComparison.Ordinal) || !TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) || span <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{variable} must be a positive duration: seconds (86400), 30m, 24h, 2d or d.hh:mm:ss (was '{value}').");
        }

        return span;
    }
}
