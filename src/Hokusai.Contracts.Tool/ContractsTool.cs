using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Configuration;
using Nethereum.Util;

namespace Hokusai.Contracts.Tool;

/// <summary>
/// <c>hokusai-contracts bootstrap|grant|status|verify</c>. Settings come from <c>appsettings.json</c> in the
/// current directory, <c>HokusaiContracts__…</c> variables, the documented variables
/// (<see cref="HokusaiEnvironmentVariables"/>) and <c>--HokusaiContracts:…=value</c> arguments, later ones
/// winning. Results go to stdout (env lines or <c>--json</c>), progress and errors to stderr. Messages name a
/// setting as it was given: the variable, the key (a file, <c>HokusaiContracts__…</c> or an argument), or both
/// when nothing set it (<see cref="HokusaiEnvironmentVariables.Rewrite"/>).
/// </summary>
internal static partial class ContractsTool
{
    /// <summary>Success (for <c>verify</c>: the deployment passed).</summary>
    public const int Ok = 0;

    /// <summary><c>verify</c> found problems (listed on stdout).</summary>
    public const int VerificationFailed = 1;

    /// <summary>Unknown command or option, or a missing or malformed setting.</summary>
    public const int UsageError = 2;

    /// <summary>The node could not be reached, a transaction reverted, or the command timed out.</summary>
    public const int ChainFailure = 3;

    private const string Usage = """
        usage: hokusai-contracts <command> [options] [--HokusaiContracts:Section:Key=value ...]

        commands:
          bootstrap [--legacy] [--grant <address>]...  deploy ModelRegistry + TokenManager and grant the roles;
                                                     prints MODEL_REGISTRY_ADDRESS=... and TOKEN_MANAGER_ADDRESS=...
          grant [--grant <address>]...                 grant DEPLOYER_ROLE on the configured TokenManager to every
                                                     pool key (and address) that lacks it
          status [--deployer <address>]...             chain, contracts, registrar, roles and balances
          verify [--legacy] [--deployer <address>]...  exit 0 when the deployment can serve, 1 naming each problem

        options:
          --json     machine-readable output on stdout
          --help     this text

        settings: RPC_URL (or RPC_URLS), DEPLOYER_PRIVATE_KEY and/or DEPLOYER_PRIVATE_KEYS, CHAIN_ID,
        MODEL_REGISTRY_ADDRESS and TOKEN_MANAGER_ADDRESS (grant, status, verify), or their configuration keys.
        exit codes: 0 ok, 1 verification failed, 2 usage or settings error, 3 chain error.
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The process environment as name/value pairs.</summary>
    public static IReadOnlyDictionary<string, string?> ProcessEnvironment() =>
        Environment.GetEnvironmentVariables().Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => e.Value as string, StringComparer.Ordinal);

    /// <summary>Runs one command; returns its exit code.</summary>
    public static async Task<int> RunAsync(string[] args, IReadOnlyDictionary<string, string?> environment, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        Invocation invocation;
        try
        {
            invocation = Invocation.Parse(args);
        }
        catch (UsageException ex)
        {
            await stderr.WriteLineAsync($"hokusai-contracts: {ex.Message}");
            await stderr.WriteLineAsync(Usage);
            return UsageError;
        }

        if (invocation.Command == "help")
        {
            await stdout.WriteLineAsync(Usage);
            return Ok;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(10));
        IConfigurationRoot? configuration = null;
        try
        {
            configuration = Settings.Configuration(invocation.ConfigurationArguments, environment);
            var settings = Settings.Load(configuration);
            return invocation.Command switch
            {
                "bootstrap" => await BootstrapAsync(invocation, settings, stdout, stderr, timeout.Token),
                "grant" => await GrantAsync(invocation, settings, stdout, stderr, timeout.Token),
                "status" => await StatusAsync(invocation, settings, stdout, timeout.Token),
                _ => await VerifyAsync(invocation, settings, configuration, stdout, timeout.Token),
            };
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // A variable that cannot be read fails while the configuration is built: its message names the variable.
            await stderr.WriteLineAsync($"hokusai-contracts {invocation.Command}: {HokusaiEnvironmentVariables.Rewrite(Redact(ex.Message), configuration)}");
            return UsageError;
        }
        catch (Exception ex) when (ex is ChainException or OperationCanceledException or HttpRequestException or Nethereum.JsonRpc.Client.RpcClientUnknownException or Nethereum.JsonRpc.Client.RpcResponseException)
        {
            // Chain messages never contain the key; URLs in them are reduced to scheme, host and port.
            var message = ex is OperationCanceledException ? "cancelled or timed out." : HokusaiEnvironmentVariables.Rewrite(Redact(ex.Message), configuration);
            await stderr.WriteLineAsync($"hokusai-contracts {invocation.Command} failed: {message}");
            return ChainFailure;
        }
    }

    private static async Task<int> BootstrapAsync(Invocation invocation, Settings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var bootstrap = settings.Bootstrap(invocation.Factory, invocation.Addresses);
        await stderr.WriteLineAsync($"hokusai-contracts bootstrap: deploying ModelRegistry and TokenManager ({(invocation.Factory ? "factory mode" : "legacy mode")}) to {Display(settings.Chain.RpcUrls.FirstOrDefault())}");
        var result = await ContractsBootstrapper.DeployAsync(settings.Chain, bootstrap, new Lines(stderr, "bootstrap"), cancellationToken);
        if (invocation.Json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new
            {
                modelRegistryAddress = result.ModelRegistryAddress,
                tokenManagerAddress = result.TokenManagerAddress,
                mode = result.Factory ? "factory" : "legacy",
                deployerRole = result.DeployerRoleGrantedTo,
            }, Json));
        }
        else
        {
            await stdout.WriteLineAsync($"MODEL_REGISTRY_ADDRESS={result.ModelRegistryAddress}");
            await stdout.WriteLineAsync($"TOKEN_MANAGER_ADDRESS={result.TokenManagerAddress}");
        }

        await stdout.FlushAsync(cancellationToken);
        return Ok;
    }

    private static async Task<int> GrantAsync(Invocation invocation, Settings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var bootstrap = settings.Bootstrap(factory: true, invocation.Addresses);
        var granted = await ContractsBootstrapper.GrantDeployerRoleAsync(settings.Chain, bootstrap, new Lines(stderr, "grant"), cancellationToken);
        if (invocation.Json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new { granted }, Json));
        }
        else
        {
            foreach (var address in granted)
            {
                await stdout.WriteLineAsync($"GRANTED_DEPLOYER_ROLE={address}");
            }
        }

        return Ok;
    }

    private static async Task<int> StatusAsync(Invocation invocation, Settings settings, TextWriter stdout, CancellationToken cancellationToken)
    {
        var bootstrap = settings.Bootstrap(factory: true, invocation.Addresses);
        var status = await ContractsBootstrapper.GetStatusAsync(settings.Chain, bootstrap, cancellationToken);
        await (invocation.Json ? stdout.WriteLineAsync(JsonSerializer.Serialize(StatusJson(status), Json)) : WriteStatusAsync(stdout, status));
        return Ok;
    }

    private static async Task<int> VerifyAsync(Invocation invocation, Settings settings, IConfiguration configuration, TextWriter stdout, CancellationToken cancellationToken)
    {
        var bootstrap = settings.Bootstrap(invocation.Factory, invocation.Addresses);
        var checkedDeployment = await ContractsBootstrapper.VerifyAsync(settings.Chain, bootstrap, cancellationToken);
        var verification = checkedDeployment with { Problems = [.. checkedDeployment.Problems.Select(p => HokusaiEnvironmentVariables.Rewrite(p, configuration))] };
        if (invocation.Json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new
            {
                ok = verification.Succeeded,
                mode = invocation.Factory ? "factory" : "legacy",
                problems = verification.Problems,
                status = StatusJson(verification.Status),
            }, Json));
        }
        else if (verification.Succeeded)
        {
            await stdout.WriteLineAsync($"OK: ModelRegistry {verification.Status.ModelRegistry.Address} and TokenManager {verification.Status.TokenManager.Address} on chain {verification.Status.ChainId} serve {verification.Status.Deployers.Count} deployer(s) in {(invocation.Factory ? "factory" : "legacy")} mode.");
        }
        else
        {
            foreach (var problem in verification.Problems)
            {
                await stdout.WriteLineAsync($"PROBLEM: {problem}");
            }
        }

        return verification.Succeeded ? Ok : VerificationFailed;
    }

    private static object StatusJson(ContractsStatus status) => new
    {
        chainId = status.ChainId,
        latestBlock = status.LatestBlock,
        modelRegistry = new { address = status.ModelRegistry.Address, hasCode = status.ModelRegistry.HasCode, owner = status.RegistryOwner },
        tokenManager = new { address = status.TokenManager.Address, hasCode = status.TokenManager.HasCode, isRegistrar = status.ManagerIsRegistrar },
        deployers = status.Deployers.Select(d => new
        {
            address = d.Address,
            balanceWei = d.BalanceWei.ToString(CultureInfo.InvariantCulture),
            balanceEth = Ether(d.BalanceWei),
            deployerRole = d.HasDeployerRole,
            minterRole = d.HasMinterRole,
            ownsRegistry = d.OwnsRegistry,
        }),
    };

    private static async Task WriteStatusAsync(TextWriter stdout, ContractsStatus status)
    {
        static string YesNo(bool value) => value ? "yes" : "no";
        await stdout.WriteLineAsync($"chain id:       {status.ChainId} (block {status.LatestBlock})");
        await stdout.WriteLineAsync($"ModelRegistry:  {status.ModelRegistry.Address} (code: {YesNo(status.ModelRegistry.HasCode)}, owner: {status.RegistryOwner ?? "-"})");
        await stdout.WriteLineAsync($"TokenManager:   {status.TokenManager.Address} (code: {YesNo(status.TokenManager.HasCode)}, registrar of the registry: {YesNo(status.ManagerIsRegistrar)})");
        foreach (var deployer in status.Deployers)
        {
            await stdout.WriteLineAsync($"deployer:       {deployer.Address} balance {Ether(deployer.BalanceWei)} ETH, DEPLOYER_ROLE: {YesNo(deployer.HasDeployerRole)}, MINTER_ROLE: {YesNo(deployer.HasMinterRole)}, owns registry: {YesNo(deployer.OwnsRegistry)}");
        }
    }

    private static string Ether(BigInteger wei) => UnitConversion.Convert.FromWei(wei).ToString(CultureInfo.InvariantCulture);

    private static string Display(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}" : "<no RPC URL>";

    // Binder messages quote the offending value, which may be a secret; URLs may carry an API key in their path.
    private static string Redact(string message) =>
        UrlPattern().Replace(ConfigurationValuePattern().Replace(message, "configuration value at "), m => Display(m.Value));

    [GeneratedRegex(@"configuration value '.*?' at ")]
    private static partial Regex ConfigurationValuePattern();

    [GeneratedRegex(@"\b(?:https?|wss?)://[^\s'"",)]+")]
    private static partial Regex UrlPattern();

    private sealed class Lines(TextWriter writer, string command) : IProgress<string>
    {
        public void Report(string value) => writer.WriteLine($"hokusai-contracts {command}: {value}");
    }

    private sealed class UsageException(string message) : Exception(message);

    /// <summary>The command, its flags and the <c>--Key=value</c> configuration arguments.</summary>
    private sealed record Invocation(string Command, bool Factory, bool Json, IReadOnlyList<string> Addresses, IReadOnlyList<string> ConfigurationArguments)
    {
        public static Invocation Parse(string[] args)
        {
            if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
            {
                return args.Length == 0 ? throw new UsageException("no command given.") : new Invocation("help", true, false, [], []);
            }

            var command = args[0];
            if (command is not ("bootstrap" or "grant" or "status" or "verify"))
            {
                throw new UsageException($"unknown command '{command}'.");
            }

            var factory = true;
            var json = false;
            var addresses = new List<string>();
            var configuration = new List<string>();
            var addressOption = command is "bootstrap" or "grant" ? "--grant" : "--deployer";
            for (var i = 1; i < args.Length; i++)
            {
                var arg = args[i];
                if (arg == "--legacy" && command is "bootstrap" or "verify")
                {
                    factory = false;
                }
                else if (arg == "--json")
                {
                    json = true;
                }
                else if (arg == addressOption)
                {
                    var address = i + 1 < args.Length ? args[++i] : throw new UsageException($"{addressOption} needs an address.");
                    addresses.Add(AddressUtil.Current.IsValidEthereumAddressHexFormat(address)
                        ? address
                        : throw new UsageException($"{addressOption} {address}: not a 0x-prefixed 20-byte hex address."));
                }
                else if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains(':', StringComparison.Ordinal))
                {
                    // A configuration key (--HokusaiContracts:Chain:ChainId=5 or --HokusaiContracts:Chain:ChainId 5).
                    configuration.Add(arg);
                    if (!arg.Contains('=', StringComparison.Ordinal) && i + 1 < args.Length)
                    {
                        configuration.Add(args[++i]);
                    }
                }
                else
                {
                    throw new UsageException($"{command}: unknown option '{arg}'.");
                }
            }

            if (!factory && addresses.Count > 0)
            {
                throw new UsageException("--legacy takes no further deployers: the three-transaction flow registers through the registry's one owner.");
            }

            return new Invocation(command, factory, json, addresses, configuration);
        }
    }

    /// <summary>The chain settings and the signer pool's keys.</summary>
    private sealed class Settings
    {
        private readonly List<string> _poolKeys = [];

        private Settings(ChainOptions chain) => Chain = chain;

        public ChainOptions Chain { get; }

        /// <summary>The sources, later ones winning; building it reads the documented variables.</summary>
        public static IConfigurationRoot Configuration(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string?> environment) =>
            new ConfigurationBuilder()
                .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
                // What AddEnvironmentVariables() does for the process, from the given variables: HokusaiContracts__Chain__ChainId.
                .AddInMemoryCollection(environment
                    .Where(e => e.Key.StartsWith(HokusaiContractsOptions.SectionName + "__", StringComparison.OrdinalIgnoreCase))
                    .Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value)))
                .AddHokusaiEnvironmentVariables(environment)
                .AddCommandLine([.. arguments])
                .Build();

        public static Settings Load(IConfiguration configuration)
        {
            var chain = new ChainOptions();
            configuration.GetSection(HokusaiContractsOptions.SectionName + ":Chain").Bind(chain);
            var settings = new Settings(chain);
            settings._poolKeys.AddRange(configuration.GetSection(HokusaiContractsOptions.SectionName + ":Chain:DeployerPrivateKeys").GetChildren().Select(c => c.Value ?? string.Empty));
            return settings;
        }

        public ContractsBootstrapOptions Bootstrap(bool factory, IEnumerable<string> addresses)
        {
            var options = new ContractsBootstrapOptions { Factory = factory };
            foreach (var key in _poolKeys)
            {
                options.DeployerPrivateKeys.Add(key);
            }

            foreach (var address in addresses)
            {
                options.DeployerAddresses.Add(address);
            }

            return options;
        }
    }
}
