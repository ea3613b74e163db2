using System.Security.Cryptography;
using Hokusai.Contracts;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ContractsApi;

/// <summary>
/// The zero-configuration mode: with no RPC URL configured, the host starts a local anvil chain,
/// deploys the registry and manager on it, creates a development API key when no credentials are
/// configured, and prints a ready-to-paste curl once it listens. The chain is stopped with the host.
/// </summary>
internal static class EmbeddedDefaults
{
    private const string Chain = HokusaiContractsOptions.SectionName + ":Chain:";

    public static async Task UseEmbeddedDefaultsAsync(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        if (config.GetSection(Chain + "RpcUrls").GetChildren().Any())
        {
            return;
        }

        var chain = await DevChain.StartAsync(null, CancellationToken.None);
        var values = new Dictionary<string, string?>
        {
            [Chain + "RpcUrls:0"] = chain.RpcUrl,
            [Chain + "ChainId"] = chain.ChainId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [Chain + "ModelRegistryAddress"] = chain.ModelRegistryAddress,
            [Chain + "TokenManagerAddress"] = chain.TokenManagerAddress,
            [Chain + "DeployerPrivateKey"] = chain.DeployerPrivateKey,
        };

        string? devKey = null;
        // VALID_API_KEYS, JWT_SECRET and JWT_AUTHORITY land in this section too.
        const string Authentication = HokusaiContractsOptions.SectionName + ":Authentication:";
        if (!config.GetSection(Authentication.TrimEnd(':')).GetChildren().Any())
        {
            devKey = "dev-" + RandomNumberGenerator.GetHexString(32, lowercase: true);
            values[Authentication + "ApiKeys:0"] = "dev:" + devKey;
            // The development key may also read /health/detailed.
            values[Authentication + "AdminApiKeys:0"] = "dev:" + devKey;
        }

        // A local receiver is the normal webhook target on a development machine.
        if (config[HokusaiContractsOptions.SectionName + ":Webhooks:AllowLoopback"] is null)
        {
            values[HokusaiContractsOptions.SectionName + ":Webhooks:AllowLoopback"] = "true";
        }

        config.AddInMemoryCollection(values);

        // Registered through a factory so the container disposes it, which stops anvil with the host.
        builder.Services.AddSingleton(_ => chain);
        builder.Services.AddHostedService(sp => new Banner(sp, chain, devKey));
    }

    private sealed class Banner(IServiceProvider services, DevChain chain, string? devKey) : IHostedService
    {
        /// <summary>Whole tokens the banner's curl mints; the API takes base units (18 decimals).</summary>
        internal const int BannerTokens = 1_000;

        internal static readonly string BannerSupply =
            (BannerTokens * System.Numerics.BigInteger.Pow(10, 18)).ToString(System.Globalization.CultureInfo.InvariantCulture);

        public Task StartAsync(CancellationToken cancellationToken)
        {
            // Resolving the chain here ties its lifetime to the container.
            _ = services.GetRequiredService<DevChain>();
            var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
            lifetime.ApplicationStarted.Register(Print);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private void Print()
        {
            var address = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost:3001";
            address = address.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
            var key = devKey ?? "<one of VALID_API_KEYS>";
            var user = chain.TestAccounts[0].Address;
            Console.Out.WriteLine($$"""

                Hokusai.Contracts is running on its embedded default: in-memory store, anvil dev chain at {{chain.RpcUrl}} (chain id {{chain.ChainId}}).
                  ModelRegistry {{chain.ModelRegistryAddress}}   TokenManager {{chain.TokenManagerAddress}}
                  Development API key: {{key}}

                Deploy a token, minting {{BannerTokens:N0}} whole tokens to {{user}} (initialSupply is in base units: 1 token = 10^18):
                  curl -s -X POST {{address}}/api/deployments -H 'Content-Type: application/json' -H 'X-API-Key: {{key}}' \
                    -d '{"modelId":"sentiment-v1","userAddress":"{{user}}","initialSupply":"{{BannerSupply}}"}'
                Then poll the status URL it returns (data.links.status):
                  curl -s {{address}}/api/deployments/<requestId>/status -H 'X-API-Key: {{key}}'

                """);
            Console.Out.Flush();
        }
    }
}
