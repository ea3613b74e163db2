using System.Numerics;
using Hokusai.Contracts.Tests.Chain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.Core.Tests.Pool;

/// <summary>The <c>signer_pool</c> readiness check against a real anvil chain with a two-key pool.</summary>
public sealed class SignerPoolReadinessTests
{
    [Fact]
    public async Task Readiness_PoolKeyWithoutRoleThenWithoutFunds_UnhealthyNamingItsAddress()
    {
        await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
        using var rpc = new JsonRpc(chain.RpcUrl);
        var second = chain.TestAccounts[1];
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddHokusaiContracts(o =>
        {
            chain.ApplyTo(o);
            o.Chain.DeployerPrivateKeys.Add(second.PrivateKey);
        });
        services.AddHealthChecks().AddHokusaiContracts(o => o.CacheDuration = TimeSpan.Zero);
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();

        // Bootstrapped for one key: the second lacks DEPLOYER_ROLE.
        var noRole = await SignerPoolAsync(health);
        Assert.Equal(HealthStatus.Unhealthy, noRole.Status);
        Assert.Equal($"key 1 ({second.Address}) lacks DEPLOYER_ROLE on the TokenManager", noRole.Description);

        await PoolKeys.GrantDeployerRoleAsync(rpc, chain.TokenManagerAddress, chain.DeployerAddress, second.Address);
        var granted = await SignerPoolAsync(health);
        Assert.True(granted.Status == HealthStatus.Healthy, granted.Description);

        // 0.01 ETH: below the 0.05 ETH threshold (DEPLOYER_BALANCE_WARNING_ETH).
        await PoolKeys.SetBalanceAsync(rpc, second.Address, BigInteger.Pow(10, 16));
        var poor = await SignerPoolAsync(health);
        Assert.Equal(HealthStatus.Unhealthy, poor.Status);
        Assert.Equal($"key 1 ({second.Address}) lacks funds: 0.01 ETH, below 0.05 ETH (DEPLOYER_BALANCE_WARNING_ETH)", poor.Description);
        Assert.DoesNotContain(second.PrivateKey[2..], poor.Description!, StringComparison.OrdinalIgnoreCase);

        var signers = await provider.GetRequiredService<ISignerPoolStatus>().GetSignersAsync(default);
        Assert.Equal([chain.DeployerAddress, second.Address], signers.Select(s => s.Address));
        Assert.Equal(BigInteger.Pow(10, 16), signers[1].BalanceWei);
        Assert.True(signers[1].HasDeployerRole);
    }

    private static async Task<HealthReportEntry> SignerPoolAsync(HealthCheckService health) =>
        (await health.CheckHealthAsync(r => r.Name == HokusaiHealthCheckOptions.SignerPoolCheckName)).Entries[HokusaiHealthCheckOptions.SignerPoolCheckName];
}
