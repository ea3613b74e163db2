using System.Globalization;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ContractsApi.Tests.EndToEnd;

/// <summary>
/// The reference host's own Program, served by Kestrel on loopback (real HTTP), pointed at a dev chain.
/// Each instance has its own in-memory store, like a fresh process.
/// </summary>
internal sealed class ComposedHost : WebApplicationFactory<Program>
{
    public const string ApiKey = "e2e-key-0123456789abcdef";

    private readonly DevChain _chain;
    private readonly IReadOnlyDictionary<string, string> _settings;

    public ComposedHost(DevChain chain, IReadOnlyDictionary<string, string>? settings = null)
    {
        _chain = chain;
        _settings = settings ?? new Dictionary<string, string>();
        UseKestrel(0);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        const string Chain = HokusaiContractsOptions.SectionName + ":Chain:";
        // The factory defaults to Development; the container runs Production.
        builder.UseEnvironment("Production");
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("METRICS_PORT", Repo.FreePort().ToString(CultureInfo.InvariantCulture));
        builder.UseSetting(Chain + "RpcUrls:0", _chain.RpcUrl);
        builder.UseSetting(Chain + "ChainId", _chain.ChainId.ToString(CultureInfo.InvariantCulture));
        builder.UseSetting(Chain + "ModelRegistryAddress", _chain.ModelRegistryAddress);
        builder.UseSetting(Chain + "TokenManagerAddress", _chain.TokenManagerAddress);
        builder.UseSetting(Chain + "DeployerPrivateKey", _chain.DeployerPrivateKey);
        builder.UseSetting(Chain + "ReceiptPollInterval", "00:00:00.050");
        builder.UseSetting(HokusaiContractsOptions.SectionName + ":Authentication:ApiKeys:0", "alice:" + ApiKey);
        builder.UseSetting("LOG_LEVEL", "warn");
        builder.UseSetting("HokusaiContracts:Health:ShutdownDelay", "00:00:00");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>A client on the real Kestrel address with the test's API key.</summary>
    public HttpClient CreateApiClient()
    {
        StartServer();
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", ApiKey);
        return client;
    }
}
