using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Hokusai.Contracts;

/// <summary>An environment variable of the original service and the configuration key it sets.</summary>
/// <param name="Name">The variable, e.g. <c>RPC_URL</c>.</param>
/// <param name="Key">The configuration key (a list or a map for comma-separated variables), e.g. <c>HokusaiContracts:Chain:RpcUrls</c>.</param>
public sealed record HokusaiEnvironmentVariable(string Name, string Key)
{
    /// <summary>How messages name the setting: <c>RPC_URL (HokusaiContracts:Chain:RpcUrls)</c>.</summary>
    public override string ToString() => $"{Name} ({Key})";
}

/// <summary>
/// The one table of environment variable names: each documented variable and the configuration key the
/// packages bind. The packages themselves read configuration keys only; a host opts into the names with
/// <c>builder.Configuration.AddHokusaiEnvironmentVariables()</c>.
/// </summary>
public static partial class HokusaiEnvironmentVariables
{
    private const string Root = HokusaiContractsOptions.SectionName + ":";
    private const string Chain = Root + "Chain:";
    private const string Webhooks = Root + "Webhooks:";
    private const string Mirror = Root + "RegistryMirror:";
    private const string Authentication = Root + "Authentication:";
    private const string Redis = Root + "Redis:";

    // One line per variable. The first variable of a key wins when both are set (RPC_URLS over RPC_URL).
    private static readonly Mapping[] Table =
    [
        Text("CHAIN_ID", Chain + "ChainId"),
        Text("NETWORK_NAME", Chain + "NetworkName"),
        List("RPC_URLS", Chain + "RpcUrls"),
        List("RPC_URL", Chain + "RpcUrls"),
        Text("RPC_WS_URL", Chain + "RpcWsUrl"),
        Text("MODEL_REGISTRY_ADDRESS", Chain + "ModelRegistryAddress"),
        Text("TOKEN_MANAGER_ADDRESS", Chain + "TokenManagerAddress"),
        Text("DEPLOYER_PRIVATE_KEY", Chain + "DeployerPrivateKey"),
        List("DEPLOYER_PRIVATE_KEYS", Chain + "DeployerPrivateKeys"),
        Text("CONFIRMATION_BLOCKS", Chain + "ConfirmationBlocks"),
        Text("MAX_GAS_PRICE_GWEI", Chain + "MaxGasPriceGwei"),
        Text("GAS_PRICE_MULTIPLIER", Chain + "GasPriceMultiplier"),
        Text("DEPLOYMENT_MODE", Chain + "DeploymentMode"),
        Text("MAX_IN_FLIGHT_PER_KEY", Chain + "MaxInFlightPerKey"),
        // Blocks or seconds (12b, 90s, 90, off): parsed and validated with the options, so passed through as written.
        Text("REPLACE_AFTER", Chain + "ReplaceAfter"),
        Milliseconds("BLOCK_POLL_INTERVAL_MS", Chain + "ReceiptPollInterval"),
        Text("QUOTA_PER_HOUR", Root + "Quotas:PerHour"),
        Text("QUOTA_PER_DAY", Root + "Quotas:PerDay"),
        Text("RATE_LIMIT_PER_MINUTE", Root + "Quotas:RequestsPerMinute"),
        Text("JOB_CONCURRENCY", Root + "Jobs:MaxConcurrency"),
        Text("HEALTH_DETAILED_ENABLED", Root + "Health:DetailedEnabled"),
        Text("DEPLOYER_BALANCE_WARNING_ETH", Root + "Health:DeployerBalanceWarningEth"),
        List("WEBHOOK_SECRETS", Webhooks + "Secrets"),
        Map("WEBHOOK_ENDPOINTS", Webhooks + "Endpoints"),
        Duration("WEBHOOK_MAX_AGE", Webhooks + "MaxAge"),
        Text("WEBHOOK_ALLOW_LOOPBACK", Webhooks + "AllowLoopback"),
        Text("WEBHOOK_ALLOW_PRIVATE_NETWORKS", Webhooks + "AllowPrivateNetworks"),
        Text("REGISTRY_MIRROR_ENABLED", Mirror + "Enabled"),
        Text("REGISTRY_MIRROR_START_BLOCK", Mirror + "StartBlock"),
        Text("REGISTRY_MIRROR_BLOCK_RANGE", Mirror + "MaxBlockRange"),
        Seconds("REGISTRY_MIRROR_POLL_INTERVAL", Mirror + "PollInterval", max: 600),
        Text("REDIS_URL", Redis + "Configuration"),
        Seconds("SIGNER_LEASE_TTL", Redis + "LeaseTtl", max: 3600),
        Seconds("SIGNER_LEASE_RENEW_INTERVAL", Redis + "LeaseRenewInterval", max: 3600),
        List("VALID_API_KEYS", Authentication + "ApiKeys"),
        List("ADMIN_API_KEYS", Authentication + "AdminApiKeys"),
        Text("JWT_SECRET", Authentication + "JwtSecret"),
        Text("JWT_ISSUER", Authentication + "JwtIssuer"),
        Text("JWT_AUDIENCE", Authentication + "JwtAudience"),
        Text("JWT_AUTHORITY", Authentication + "JwtAuthority"),
        Text("JWT_ADMIN_ROLE", Authentication + "AdminRole"),
        Text("JWT_LEGACY_OWNERS", Authentication + "LegacyJwtOwners"),
    ];

    /// <summary>Every variable <c>AddHokusaiEnvironmentVariables</c> reads, with its configuration key.</summary>
    public static IReadOnlyList<HokusaiEnvironmentVariable> All { get; } = [.. Table.Select(m => new HokusaiEnvironmentVariable(m.Variable, m.Key))];

    /// <summary>
    /// Names a configuration key in the canonical form <c>RPC_URL or RPC_URLS (HokusaiContracts:Chain:RpcUrls)</c>
    /// when variables map to it, otherwise the key itself. A list or map element (<c>…:RpcUrls:0</c>) is named as an
    /// entry of its variable: <c>RPC_URL or RPC_URLS entry 0 (HokusaiContracts:Chain:RpcUrls:0)</c>. The packages
    /// write their messages in this form and <see cref="Rewrite"/> turns it into what the caller set.
    /// </summary>
    /// <param name="key">A configuration key.</param>
    public static string Describe(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var (names, entry) = Setting(key);
        return names.Length == 0 ? key : $"{Variables(names, entry)} ({key})";
    }

    /// <summary>
    /// Names a configuration key by what the caller actually set, read from the sources of
    /// <paramref name="configuration"/> (the last source that sets the key wins, as in binding): the variable when
    /// <c>AddHokusaiEnvironmentVariables</c> supplied the value (<c>RPC_URLS</c> or <c>RPC_URL</c>, whichever was
    /// set; an element as <c>RPC_URLS entry 1</c>); the key when any other source did (appsettings,
    /// <c>HokusaiContracts__…</c> variables, the command line, memory); when nothing set it, the variable and the
    /// key (<c>MODEL_REGISTRY_ADDRESS (or HokusaiContracts:Chain:ModelRegistryAddress)</c>) if the host added the
    /// variable mapping, else the key. Without a configuration root (null, a section, options set in code) it is the
    /// key, which is also the options property's path.
    /// </summary>
    /// <param name="key">A configuration key.</param>
    /// <param name="configuration">The host's configuration (an <see cref="IConfigurationRoot"/>), or null.</param>
    public static string Describe(string key, IConfiguration? configuration)
    {
        ArgumentNullException.ThrowIfNull(key);
        var (names, entry) = Setting(key);
        if (names.Length == 0 || configuration is not IConfigurationRoot root)
        {
            return key;
        }

        var (source, mapping) = Find(root, key);
        return source switch
        {
            HokusaiEnvironmentVariablesProvider variables => Variables([variables.VariableOf(key) ?? names[0]], entry),
            not null => key,
            _ when mapping => $"{Variables(names, entry)} (or {key})",
            _ => key,
        };
    }

    /// <summary>
    /// Rewrites every setting <paramref name="message"/> names in the canonical form of <see cref="Describe(string)"/>,
    /// and every quoted configuration key (<c>'HokusaiContracts:Quotas:PerHour'</c>, as the configuration binder
    /// quotes them) that a variable maps onto, with <see cref="Describe(string, IConfiguration?)"/>: the message
    /// then names what the caller set. Other text is left as it is.
    /// </summary>
    /// <param name="message">A message of the packages.</param>
    /// <param name="configuration">The host's configuration (an <see cref="IConfigurationRoot"/>), or null.</param>
    public static string Rewrite(string message, IConfiguration? configuration)
    {
        ArgumentNullException.ThrowIfNull(message);
        message = CanonicalPattern().Replace(message, m =>
        {
            var key = m.Groups["key"].Value;
            var (names, entry) = Setting(key);
            var written = m.Groups["names"].Value.Split(" or ");
            var element = m.Groups["entry"].Success ? m.Groups["entry"].Value : null;
            if (names.Length == 0 || !string.Equals(element, entry, StringComparison.OrdinalIgnoreCase))
            {
                return m.Value;
            }

            // The pattern may have taken a word of the sentence before the names ("set ETH or RPC_URL (…)"): keep it.
            for (var first = 0; first < written.Length; first++)
            {
                if (written[first..].All(w => names.Contains(w, StringComparer.Ordinal)))
                {
                    var before = first == 0 ? string.Empty : string.Join(" or ", written[..first]) + " or ";
                    return before + Describe(key, configuration);
                }
            }

            return m.Value;
        });
        return QuotedKeyPattern().Replace(message, m =>
            Describe(m.Groups["key"].Value, configuration) is var named && named != m.Groups["key"].Value ? named : m.Value);
    }

    /// <summary>The variables (ordinal order) that map onto <paramref name="key"/>, and its element name when it is one of a list or map.</summary>
    private static (string[] Names, string? Entry) Setting(string key)
    {
        var covering = Table.Where(m => Covers(m, key)).ToArray();
        if (covering.Length == 0)
        {
            return ([], null);
        }

        var section = covering[0].Key;
        var entry = key.Length > section.Length ? key[(section.Length + 1)..] : null;
        return ([.. covering.Select(m => m.Variable).Order(StringComparer.Ordinal)], entry);
    }

    private static string Variables(IEnumerable<string> names, string? entry) =>
        string.Join(" or ", names) + (entry is null ? string.Empty : " entry " + entry);

    /// <summary>
    /// The source that sets <paramref name="key"/> (the last one holding the key, or for a list or map any of its
    /// elements) and whether the variable mapping is one of the sources.
    /// </summary>
    private static (IConfigurationProvider? Source, bool Mapping) Find(IConfigurationRoot root, string key)
    {
        IConfigurationProvider? source = null;
        var mapping = false;
        var hidden = false;
        foreach (var provider in Providers(root).Reverse())
        {
            var variables = provider as HokusaiEnvironmentVariablesProvider;
            mapping |= variables is not null;
            if (source is not null || hidden)
            {
                continue;
            }

            if (provider.TryGet(key, out _) || provider.GetChildKeys([], key).Any())
            {
                source = provider;
            }
            else if (variables?.Owns(key) == true)
            {
                // A list the variables own hides what earlier sources hold under it.
                hidden = true;
            }
        }

        return (source, mapping);
    }

    /// <summary>The providers in order, those of a chained configuration (a host's) in its place.</summary>
    private static IEnumerable<IConfigurationProvider> Providers(IConfigurationRoot root) =>
        root.Providers.SelectMany(p => p is ChainedConfigurationProvider { Configuration: IConfigurationRoot inner } ? Providers(inner) : [p]);

    [GeneratedRegex(@"\b(?<names>[A-Z][A-Z0-9_]*(?: or [A-Z][A-Z0-9_]*)*)(?: entry (?<entry>[^\s()]+))? \((?<key>HokusaiContracts(?::[^\s:()']+)+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex CanonicalPattern();

    [GeneratedRegex(@"'(?<key>HokusaiContracts(?::[^\s:()']+)+)'", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedKeyPattern();

    private static bool Covers(Mapping mapping, string key) =>
        string.Equals(mapping.Key, key, StringComparison.OrdinalIgnoreCase)
        || (mapping.Form is Form.List or Form.Map && key.StartsWith(mapping.Key + ":", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The configuration keys set by <paramref name="environment"/>; the keys of list and map variables as owned
    /// sections; the variable that set each key or section.
    /// </summary>
    internal static (Dictionary<string, string?> Values, HashSet<string> Sections, Dictionary<string, string> Variables) Map(IDictionary environment)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var variables = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var mapping in Table)
        {
            if (environment[mapping.Variable] is not string raw || raw.Trim() is not { Length: > 0 } value || !taken.Add(mapping.Key))
            {
                continue;
            }

            variables[mapping.Key] = mapping.Variable;
            switch (mapping.Form)
            {
                case Form.Text:
                    values[mapping.Key] = value;
                    break;
                case Form.List:
                    sections.Add(mapping.Key);
                    var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    for (var i = 0; i < items.Length; i++)
                    {
                        values[mapping.Key + ":" + i.ToString(CultureInfo.InvariantCulture)] = items[i];
                    }

                    break;
                case Form.Map:
                    sections.Add(mapping.Key);
                    foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        // The first ':' ends the name, so the value may be a URL.
                        var separator = entry.IndexOf(':', StringComparison.Ordinal);
                        if (separator <= 0)
                        {
                            throw new InvalidOperationException($"{mapping.Variable} entries must be name:value, comma separated (e.g. alice:https://hooks.example/in).");
                        }

                        values[mapping.Key + ":" + entry[..separator].Trim()] = entry[(separator + 1)..].Trim();
                    }

                    break;
                case Form.Seconds:
                    values[mapping.Key] = ParseSeconds(mapping, value, 1).ToString("c", CultureInfo.InvariantCulture);
                    break;
                case Form.Milliseconds:
                    values[mapping.Key] = ParseSeconds(mapping, value, 0.001).ToString("c", CultureInfo.InvariantCulture);
                    break;
                case Form.Duration:
                    values[mapping.Key] = ParseDuration(mapping.Variable, value).ToString("c", CultureInfo.InvariantCulture);
                    break;
            }
        }

        return (values, sections, variables);
    }

    private static TimeSpan ParseSeconds(Mapping mapping, string value, double unit)
    {
        var unitName = unit < 1 ? "milliseconds" : "seconds";
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
            && double.IsFinite(amount)
            && (amount > 0 || (mapping.AllowZero && amount == 0))
            && amount * unit <= mapping.MaxSeconds)
        {
            return TimeSpan.FromSeconds(amount * unit);
        }

        var lower = mapping.AllowZero ? "at least 0" : "greater than 0";
        var upper = double.IsPositiveInfinity(mapping.MaxSeconds) ? string.Empty : $" and at most {(mapping.MaxSeconds / unit).ToString(CultureInfo.InvariantCulture)}";
        // The variable was set: it is named alone.
        throw new InvalidOperationException($"{mapping.Variable} must be a number of {unitName} {lower}{upper} (e.g. {(unit < 1 ? "250" : "10 or 2.5")}).");
    }

    /// <summary>A duration as seconds (<c>86400</c>), with a unit (<c>90s</c>, <c>30m</c>, <c>24h</c>, <c>2d</c>) or as a TimeSpan (<c>1.00:00:00</c>).</summary>
    internal static TimeSpan ParseDuration(string variable, string value)
    {
        var unit = value[^1];
        var number = char.IsAsciiLetter(unit) ? value[..^1] : value;
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0 && double.IsFinite(amount))
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

    private static Mapping Text(string variable, string key) => new(variable, key, Form.Text);

    private static Mapping List(string variable, string key) => new(variable, key, Form.List);

    private static Mapping Map(string variable, string key) => new(variable, key, Form.Map);

    private static Mapping Duration(string variable, string key) => new(variable, key, Form.Duration);

    private static Mapping Seconds(string variable, string key, bool allowZero = false, double max = double.PositiveInfinity) =>
        new(variable, key, Form.Seconds, allowZero, max);

    private static Mapping Milliseconds(string variable, string key) => new(variable, key, Form.Milliseconds);

    /// <summary>How a variable's text becomes configuration values.</summary>
    private enum Form
    {
        /// <summary>As it is.</summary>
        Text,

        /// <summary>Comma separated; the list replaces one configured under the key.</summary>
        List,

        /// <summary>Comma separated <c>name:value</c> entries, each at <c>key:name</c>; replaces a configured map.</summary>
        Map,

        /// <summary>A number of seconds, fractions allowed.</summary>
        Seconds,

        /// <summary>A number of milliseconds.</summary>
        Milliseconds,

        /// <summary>Seconds, a number with a unit (s, m, h, d) or d.hh:mm:ss.</summary>
        Duration,
    }

    private sealed record Mapping(string Variable, string Key, Form Form, bool AllowZero = false, double MaxSeconds = double.PositiveInfinity);
}
