using Hokusai.Contracts.Chain;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Tests.Chain;

public sealed class ChainServiceCollectionExtensionsTests
{
    private const string Key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    [Fact]
    public void AddChainClient_CalledTwice_RegistersOneSingleton()
    {
        var services = new ServiceCollection();

        services.AddChainClient();
        services.AddChainClient();

        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IChainClient));
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
    }

    [Fact]
    public void AddChainClient_Configured_ResolvesEngineWithDeployerAddress()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.Configure<HokusaiContractsOptions>(o =>
        {
            o.Chain.RpcUrls.Add("http://127.0.0.1:8545");
            o.Chain.DeployerPrivateKey = Key;
        });
        services.AddChainClient();
        using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<IChainClient>();

        Assert.IsType<NethereumChainClient>(client);
        Assert.Equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", client.DeployerAddress);
        Assert.Same(client, provider.GetRequiredService<IChainClient>());
    }

    [Fact]
    public void AddChainClient_ExistingRegistration_KeepsIt()
    {
        var services = new ServiceCollection();
        var existing = new ServiceDescriptor(typeof(IChainClient), _ => null!, ServiceLifetime.Singleton);
        ((ICollection<ServiceDescriptor>)services).Add(existing);

        services.AddChainClient();

        Assert.Same(existing, Assert.Single(services, d => d.ServiceType == typeof(IChainClient)));
    }

    [Fact]
    public void Resolve_NoKeyConfigured_FailsNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.Configure<HokusaiContractsOptions>(o => o.Chain.RpcUrls.Add("http://127.0.0.1:8545"));
        services.AddChainClient();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IChainClient>());

        Assert.Contains("DEPLOYER_PRIVATE_KEY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_InvalidKey_FailsWithoutEchoingIt()
    {
        var services = new ServiceCollection();
        services.Configure<HokusaiContractsOptions>(o =>
        {
            o.Chain.RpcUrls.Add("http://127.0.0.1:8545");
            o.Chain.DeployerPrivateKey = "0xnot-a-key-secret";
        });
        services.AddChainClient();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IChainClient>());

        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
        Assert.Contains("DEPLOYER_PRIVATE_KEY", error.Message, StringComparison.Ordinal);
    }
}
