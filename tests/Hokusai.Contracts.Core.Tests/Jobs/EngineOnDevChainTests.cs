using System.Numerics;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.InMemory;
using Hokusai.Contracts.Tests.Chain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Core.Tests.Jobs;

/// <summary>The real service, engine and Nethereum chain client against anvil.</summary>
[Collection(DevChainGroup.Name)]
public sealed class EngineOnDevChainTests(DevChainFixture fixture)
{
    private ServiceProvider Build(IDeploymentStore? store = null, Action<HokusaiContractsOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHokusaiContracts(o =>
        {
            fixture.Chain.ApplyTo(o);
            o.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(50);
            o.Quotas.PerHour = 1000;
            o.Quotas.PerDay = 1000;
            o.Jobs.ShutdownGracePeriod = TimeSpan.Zero;
            configure?.Invoke(o);
        });
        if (store is not null)
        {
            services.Replace(ServiceDescriptor.Singleton(store));
        }

        return services.BuildServiceProvider();
    }

    private static DeploymentSubmission Submission(string modelId, long supply, string user) => new()
    {
        Owner = "alice",
        Request = EngineHarness.Request(modelId, supply) with { UserAddress = user, TokenName = "Token " + modelId, TokenSymbol = "TK" },
        RequestHash = "h" + modelId,
    };

    private static async Task<DeploymentJob> WaitFinalAsync(IDeploymentStore store, Guid id)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await store.GetAsync(id, default) is { } job && job.Status.IsFinal())
            {
                return job;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"job {id} did not finish");
    }

    [Fact]
    public async Task Engine_TenJobsOnAnvil_EachTokenDeployedRegisteredAndMinted()
    {
        await using var provider = Build();
        var engine = provider.GetRequiredService<Hokusai.Contracts.Jobs.DeploymentEngine>();
        await engine.StartAsync(default);
        var service = provider.GetRequiredService<IDeploymentService>();
        var store = provider.GetRequiredService<IDeploymentStore>();
        var user = fixture.Chain.TestAccounts[0].Address;
        var prefix = "e2e-" + Guid.NewGuid().ToString("N")[..8];

        var ids = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            var result = await service.SubmitAsync(Submission($"{prefix}-{i}", 1000 + i, user), default);
            Assert.Equal(SubmitOutcome.Accepted, result.Outcome);
            ids.Add(result.Job!.Id);
        }

        for (var i = 0; i < ids.Count; i++)
        {
            var job = await WaitFinalAsync(store, ids[i]);
            Assert.Equal(DeploymentStatus.Completed, job.Status);
            var token = job.TokenDetails!.TokenAddress;
            Assert.Equal($"Token {prefix}-{i}", await fixture.Rpc.CallStringAsync(token, "name()"));
            Assert.Equal("TK", await fixture.Rpc.CallStringAsync(token, "symbol()"));
            Assert.Equal(fixture.Chain.TokenManagerAddress.ToLowerInvariant(), (await fixture.Rpc.CallAddressAsync(token, "controller()")).ToLowerInvariant());
            Assert.Equal(token.ToLowerInvariant(), (await fixture.Rpc.CallAddressAsync(fixture.Chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg($"{prefix}-{i}"))).ToLowerInvariant());
            Assert.Equal(new BigInteger(1000 + i), await fixture.Rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(user)));
            Assert.Equal(31337, job.TokenDetails.ChainId);
        }

        await engine.StopAsync(default);
    }

    [Fact]
    public async Task Engine_RestartMidJobOnAnvil_CompletesWithoutSecondDeployment()
    {
        var store = new InMemoryDeploymentStore(Options.Create(new HokusaiContractsOptions()), TimeProvider.System);
        var user = fixture.Chain.TestAccounts[1].Address;
        var model = "restart-" + Guid.NewGuid().ToString("N")[..8];
        Guid id;
        string firstHash;
        await using (var first = Build(store))
        {
            var engine = first.GetRequiredService<Hokusai.Contracts.Jobs.DeploymentEngine>();
            await engine.StartAsync(default);
            id = (await first.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model, 5, user), default)).Job!.Id;
            // Stop as soon as the deployment transaction is persisted: the process "dies" mid-job.
            DeploymentJob? seen = null;
            for (var i = 0; i < 400 && seen?.Transactions.TokenDeployment is null; i++)
            {
                seen = await store.GetAsync(id, default);
                await Task.Delay(5);
            }

            firstHash = seen!.Transactions.TokenDeployment!.Hash;
            await engine.StopAsync(default);
        }

        await using var second = Build(store);
        var resumed = second.GetRequiredService<Hokusai.Contracts.Jobs.DeploymentEngine>();
        await resumed.StartAsync(default);
        var done = await WaitFinalAsync(store, id);
        await resumed.StopAsync(default);

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(firstHash, done.TokenDetails!.TransactionHash);
        Assert.Equal(done.TokenDetails.TokenAddress.ToLowerInvariant(), (await fixture.Rpc.CallAddressAsync(fixture.Chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(model))).ToLowerInvariant());
        Assert.Equal(new BigInteger(5), await fixture.Rpc.CallUintAsync(done.TokenDetails.TokenAddress, "balanceOf(address)", JsonRpc.AddressArg(user)));
    }

    [Fact]
    public async Task SubmitAsync_ModelRegisteredOnChainButStoreEmpty_ReportsTokenAlreadyExists()
    {
        var model = "wiped-" + Guid.NewGuid().ToString("N")[..8];
        var user = fixture.Chain.TestAccounts[2].Address;
        await using (var first = Build())
        {
            var engine = first.GetRequiredService<Hokusai.Contracts.Jobs.DeploymentEngine>();
            await engine.StartAsync(default);
            var id = (await first.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model, 0, user), default)).Job!.Id;
            Assert.Equal(DeploymentStatus.Completed, (await WaitFinalAsync(first.GetRequiredService<IDeploymentStore>(), id)).Status);
            await engine.StopAsync(default);
        }

        // A new process with an empty store: only the chain remembers the model.
        await using var second = Build();
        var again = await second.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model, 0, user), default);

        Assert.Equal(SubmitOutcome.TokenAlreadyExists, again.Outcome);
        Assert.NotNull(again.ExistingTokenAddress);
    }
}
