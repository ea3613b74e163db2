using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Hokusai.Contracts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Client.Tests;

/// <summary>The reference host on real Kestrel (loopback, free port) over an anvil dev chain, shared by the class.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    public const string ApiKey = "client-key-0123456789abcdef";

    private ReferenceHost? _host;

    public DevChain Chain { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Chain = await DevChain.StartAsync(new DevChainOptions { AnvilPath = Path.Combine(RepoRoot(), DevChain.AnvilRelativePath) }, CancellationToken.None);
        _host = new ReferenceHost(Chain);
        _host.StartServer();
        var address = _host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (Chain is not null)
        {
            await Chain.DisposeAsync();
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hokusai.Contracts.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Repository root not found above " + AppContext.BaseDirectory);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ReferenceHost : WebApplicationFactory<Program>
    {
        private readonly DevChain _chain;

        public ReferenceHost(DevChain chain)
        {
            _chain = chain;
            UseKestrel(0);
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            const string Chain = HokusaiContractsOptions.SectionName + ":Chain:";
            builder.UseEnvironment("Production");
            builder.UseSetting("urls", "http://127.0.0.1:0");
            builder.UseSetting("METRICS_PORT", FreePort().ToString(CultureInfo.InvariantCulture));
            builder.UseSetting(Chain + "RpcUrls:0", _chain.RpcUrl);
            builder.UseSetting(Chain + "ChainId", _chain.ChainId.ToString(CultureInfo.InvariantCulture));
            builder.UseSetting(Chain + "ModelRegistryAddress", _chain.ModelRegistryAddress);
            builder.UseSetting(Chain + "TokenManagerAddress", _chain.TokenManagerAddress);
            builder.UseSetting(Chain + "DeployerPrivateKey", _chain.DeployerPrivateKey);
            builder.UseSetting(Chain + "ReceiptPollInterval", "00:00:00.050");
            builder.UseSetting(HokusaiContractsOptions.SectionName + ":Authentication:ApiKeys:0", "client:" + ApiKey);
            builder.UseSetting("LOG_LEVEL", "warn");
            builder.UseSetting("HokusaiContracts:Health:ShutdownDelay", "00:00:00");
        }
    }
}
