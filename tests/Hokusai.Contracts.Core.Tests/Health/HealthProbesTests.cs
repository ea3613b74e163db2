using System.Diagnostics.Metrics;
using System.Numerics;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Hokusai.Contracts.Tests.Health;

public sealed class HealthProbesTests
{
    [Fact]
    public async Task ChainStatus_Answered_ReportsTheDeployerBalanceGaugeOfTheContainer()
    {
        var chain = new FakeChainClient { Status = _ => Task.FromResult(FakeChainClient.DefaultStatus(balance: BigInteger.Pow(10, 17) * 3)) };
        var services = new ServiceCollection();
        services.AddSingleton<IChainClient>(chain);
        services.AddHealthChecks().AddHokusaiContracts();
        await using var provider = services.BuildServiceProvider();
        using var balance = new MetricCollector<double>(
            provider.GetRequiredService<IMeterFactory>(), HokusaiContractsDiagnostics.MeterName, HokusaiContractsDiagnostics.InstrumentPrefix + "deployer.balance");

        var result = await provider.GetRequiredService<HealthProbes>().ChainStatus.GetAsync(CancellationToken.None);
        balance.RecordObservableInstruments();

        Assert.True(result.Succeeded);
        Assert.Equal(0.3, balance.LastMeasurement!.Value, 10);
    }

    [Fact]
    public void Describe_ChainFailureWithAnRpcUrl_KeepsTheMessageWithoutTheUrl()
    {
        var text = HealthProbes.Describe(new ChainException(ChainErrorKind.Transient, "timeout calling https://node.example/v3/secret-key"));

        Assert.Equal("Transient: timeout calling <url>", text);
    }

    [Fact]
    public void Describe_ForeignException_OnlyItsTypeName()
    {
        Assert.Equal(nameof(InvalidOperationException), HealthProbes.Describe(new InvalidOperationException("password=hunter2")));
    }
}
