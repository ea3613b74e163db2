using Hokusai.Contracts;
using Hokusai.Contracts.Chain;

namespace ContractsApi;

/// <summary>
/// <c>dotnet ContractsApi.dll bootstrap [--legacy]</c>: deploys a <c>ModelRegistry</c> and a
/// <c>TokenManager</c> with the service's own RPC and key settings and prints exactly
/// <c>MODEL_REGISTRY_ADDRESS=…</c> and <c>TOKEN_MANAGER_ADDRESS=…</c> on stdout (progress on stderr), so
/// the output can be appended to an env file. Factory-enabled by default; <c>--legacy</c> leaves the
/// manager without the registrar role (the registry stays owned by the key, three-transaction flow).
/// </summary>
internal static class BootstrapCommand
{
    public const string Name = "bootstrap";

    /// <summary>Runs the command (<paramref name="args"/> start with <see cref="Name"/>) with the service's own settings.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddLegacyEnvironment();
        return await RunAsync(args[1..], builder.Configuration, Console.Out, Console.Error);
    }

    internal static async Task<int> RunAsync(string[] options, IConfiguration configuration, TextWriter stdout, TextWriter stderr)
    {
        var unknown = options.Where(o => o != "--legacy").ToArray();
        if (unknown.Length > 0)
        {
            await stderr.WriteLineAsync($"bootstrap: unknown option {unknown[0]}; usage: bootstrap [--legacy]");
            return 2;
        }

        var settings = new HokusaiContractsOptions();
        configuration.GetSection(HokusaiContractsOptions.SectionName).Bind(settings);
        var chain = settings.Chain;
        if (chain.RpcUrls.Count == 0 || string.IsNullOrWhiteSpace(chain.DeployerPrivateKey))
        {
            await stderr.WriteLineAsync("bootstrap: RPC_URL (or RPC_URLS) and DEPLOYER_PRIVATE_KEY are required.");
            return 2;
        }

        var factory = !options.Contains("--legacy");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await stderr.WriteLineAsync($"bootstrap: deploying ModelRegistry and TokenManager ({(factory ? "factory mode" : "legacy mode")}) to {RpcEndpointDisplay(chain.RpcUrls[0])}");
            var result = await ContractsBootstrapper.DeployAsync(chain, factory, new Lines(stderr), timeout.Token);
            await stdout.WriteLineAsync($"MODEL_REGISTRY_ADDRESS={result.ModelRegistryAddress}");
            await stdout.WriteLineAsync($"TOKEN_MANAGER_ADDRESS={result.TokenManagerAddress}");
            await stdout.FlushAsync(timeout.Token);
            return 0;
        }
        catch (Exception ex) when (ex is ChainException or InvalidOperationException or OperationCanceledException)
        {
            // Messages of the chain engine never contain the key; URLs are reduced to scheme, host and port.
            await stderr.WriteLineAsync($"bootstrap failed: {ex.Message}");
            return 1;
        }
    }

    private static string RpcEndpointDisplay(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}" : "<invalid url>";

    private sealed class Lines(TextWriter writer) : IProgress<string>
    {
        public void Report(string value) => writer.WriteLine("bootstrap: " + value);
    }
}
