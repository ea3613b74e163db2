using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Core.Tests.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Core.Tests.Registration;

public sealed class AddHokusaiContractsTests
{
    [Fact]
    public void AddHokusaiContracts_CalledTwice_RegistersEachServiceOnce()
    {
        var services = new ServiceCollection();
        services.AddHokusaiContracts(EngineHarness.ValidOptions);
        services.AddHokusaiContracts(EngineHarness.ValidOptions);

        Assert.Single(services, d => d.ServiceType == typeof(IDeploymentService));
        Assert.Single(services, d => d.ServiceType == typeof(IDeploymentStore));
        Assert.Single(services, d => d.ServiceType == typeof(Hokusai.Contracts.Webhooks.IWebhookOutbox));
        Assert.Single(services, d => d.ServiceType == typeof(IModelTokenLookup));
        Assert.Single(services, d => d.ServiceType == typeof(IRegistryMirrorStore));
        // The registry mirror, the job engine and the webhook dispatcher, each once.
        services.AddLogging();
        using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().Select(h => h.GetType()).ToList();
        Assert.Equal([typeof(Hokusai.Contracts.Mirror.RegistryMirror), typeof(Hokusai.Contracts.Jobs.DeploymentEngine), typeof(Hokusai.Contracts.Webhooks.WebhookDispatcher)], hosted);
        Assert.Same(provider.GetRequiredService<Hokusai.Contracts.Mirror.RegistryMirror>(), provider.GetRequiredService<IModelTokenLookup>());
    }

    [Fact]
    public void AddHokusaiContracts_ReturnsBuilderOverSameServices()
    {
        var services = new ServiceCollection();
        var builder = services.AddHokusaiContracts(EngineHarness.ValidOptions);

        Assert.Same(services, builder.Services);
    }

    [Fact]
    public void AddHokusaiContracts_FromConfiguration_BindsNestedOptions()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Chain:RpcUrls:0"] = "http://127.0.0.1:8545",
            ["Chain:ModelRegistryAddress"] = "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            ["Chain:TokenManagerAddress"] = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            ["Chain:DeployerPrivateKey"] = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            ["Chain:ConfirmationBlocks"] = "2",
            ["Quotas:PerHour"] = "7",
        }).Build();
        using var provider = new ServiceCollection().AddHokusaiContracts(configuration).Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value;

        Assert.Equal(2, options.Chain.ConfirmationBlocks);
        Assert.Equal(7, options.Quotas.PerHour);
        Assert.Equal(["http://127.0.0.1:8545"], options.Chain.RpcUrls);
    }

    [Theory]
    [InlineData("HokusaiContracts:Chain:ModelRegistryAddress")]
    [InlineData("HokusaiContracts:Chain:TokenManagerAddress")]
    [InlineData("HokusaiContracts:Chain:DeployerPrivateKey")]
    [InlineData("HokusaiContracts:Chain:RpcUrls")]
    public void Options_MissingSettingSetInCode_FailsNamingTheKey(string key)
    {
        using var provider = new ServiceCollection().AddHokusaiContracts(_ => { }).Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value);

        // No configuration, so no variable could have been read: the message names the key only.
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("_ADDRESS", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("RPC_URL", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_MalformedPrivateKey_FailsWithoutEchoingIt()
    {
        const string Secret = "not-a-key-but-secret-material";
        using var provider = new ServiceCollection().AddHokusaiContracts(o =>
        {
            EngineHarness.ValidOptions(o);
            o.Chain.DeployerPrivateKey = Secret;
        }).Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value);

        Assert.Contains("HokusaiContracts:Chain:DeployerPrivateKey", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChainOptions_ToString_RedactsPrivateKey()
    {
        var options = new HokusaiContractsOptions();
        EngineHarness.ValidOptions(options);

        Assert.DoesNotContain(options.Chain.DeployerPrivateKey!, options.Chain.ToString(), StringComparison.Ordinal);
        Assert.Contains("<redacted>", options.Chain.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.5")]
    [InlineData("9")]
    public void Options_MultiplierOutOfRange_FailsNamingTheKey(string multiplier)
    {
        using var provider = new ServiceCollection().AddHokusaiContracts(o =>
        {
            EngineHarness.ValidOptions(o);
            o.Chain.GasPriceMultiplier = decimal.Parse(multiplier, System.Globalization.CultureInfo.InvariantCulture);
        }).Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value);

        Assert.Contains("HokusaiContracts:Chain:GasPriceMultiplier must be between 1.0 and 5.0.", ex.Message, StringComparison.Ordinal);
    }
}
