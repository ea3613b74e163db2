using Hokusai.Contracts;
using Hokusai.Contracts.Chain;

namespace ContractsApi;

/// <summary>
/// <c>dotnet ContractsApi.dll bootstrap [--legacy] [--grant &lt;address&gt;]...</c>: deploys a <c>ModelRegistry</c>
/// and a <c>TokenManager</c> with the service's own settings (<see cref="ContractsBootstrapper"/>, as the
/// <c>hokusai-contracts</c> tool does) and prints exactly <c>MODEL_REGISTRY_ADDRESS=…</c> and
/// <c>TOKEN_MANAGER_ADDRESS=…</c> on stdout (progress on stderr), so the output can be appended to an env
/// file. Factory-enabled by default, with <c>DEPLOYER_ROLE</c> granted to every key of the signer pool
/// (<c>DEPLOYER_PRIVATE_KEY</c>, <c>DEPLOYER_PRIVATE_KEYS</c>) and each <c>--grant</c> address; <c>--legacy</c>
/// leaves the manager without the registrar role (the registry stays owned by the key, three-transaction flow).
/// </summary>
internal static class BootstrapCommand
{
    public const string Name = "bootstrap";

    private const string Usage = "usage: bootstrap [--legacy] [--grant <address>]...";

    /// <summary>Runs the command (<paramref name="args"/> start with <see cref="Name"/>) with the service's own settings.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddHokusaiEnvironmentVariables();
        return await RunAsync(args[1..], builder.Configuration, Console.Out, Console.Error);
    }

    internal static async Task<int> RunAsync(string[] options, IConfiguration configuration, TextWriter stdout, TextWriter stderr)
    {
        var bootstrap = new ContractsBootstrapOptions();
        for (var i = 0; i < options.Length; i++)
        {
            switch (options[i])
            {
                case "--legacy":
                    bootstrap.Factory = false;
                    break;
                case "--grant" when i + 1 < options.Length:
                    bootstrap.DeployerAddresses.Add(options[++i]);
                    break;
                default:
                    await stderr.WriteLineAsync($"bootstrap: unknown option {options[i]}; {Usage}");
                    return 2;
            }
        }

        var settings = new HokusaiContractsOptions();
        configuration.GetSection(HokusaiContractsOptions.SectionName).Bind(settings);
        var chain = settings.Chain;
        foreach (var key in configuration.GetSection(HokusaiContractsOptions.SectionName + ":Chain:DeployerPrivateKeys").GetChildren())
        {
            bootstrap.DeployerPrivateKeys.Add(key.Value ?? string.Empty);
        }

        if (chain.RpcUrls.Count == 0 || (string.IsNullOrWhiteSpace(chain.DeployerPrivateKey) && bootstrap.DeployerPrivateKeys.Count == 0))
        {
            var rpc = HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.RpcUrls)), configuration);
            var key = HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.DeployerPrivateKey)), configuration);
            var pool = HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.DeployerPrivateKeys)), configuration);
            await stderr.WriteLineAsync($"bootstrap: {rpc} and {key} are required; {pool} may list the keys instead.");
            return 2;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await stderr.WriteLineAsync($"bootstrap: deploying ModelRegistry and TokenManager ({(bootstrap.Factory ? "factory mode" : "legacy mode")}) to {RpcEndpointDisplay(chain.RpcUrls[0])}");
            var result = await ContractsBootstrapper.DeployAsync(chain, bootstrap, new Lines(stderr), timeout.Token);
            await stdout.WriteLineAsync($"MODEL_REGISTRY_ADDRESS={result.ModelRegistryAddress}");
            await stdout.WriteLineAsync($"TOKEN_MANAGER_ADDRESS={result.TokenManagerAddress}");
            await stdout.FlushAsync(timeout.Token);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException)
        {
            await stderr.WriteLineAsync($"bootstrap: {HokusaiEnvironmentVariables.Rewrite(ex.Message, configuration)} {Usage}");
            return 2;
        }
        catch (Exception ex) when (ex is ChainException or InvalidOperationException or OperationCanceledException)
        {
            // Messages of the chain engine never contain the key; URLs are reduced to scheme, host and port.
            await stderr.WriteLineAsync($"bootstrap failed: {HokusaiEnvironmentVariables.Rewrite(ex.Message, configuration)}");
            return 1;
        }
    }

    private static string Key(string property) => HokusaiContractsOptions.SectionName + ":Chain:" + property;

    private static string RpcEndpointDisplay(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}" : "<invalid url>";

    private sealed class Lines(TextWriter writer) : IProgress<string>
    {
        public void Report(string value) => writer.WriteLine("bootstrap: " + value);
    }
}
