using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Core.Tests.Jobs;
using Hokusai.Contracts.InMemory;
using Hokusai.Contracts.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.Core.Tests.Pool;

/// <summary>Jobs bound to a key run only on that key's owner: the engine with two fake keys and a shared in-memory lease.</summary>
public sealed class SignerBindingTests
{
    private const string AddressA = "0x00000000000000000000000000000000000000A0";
    private const string AddressB = "0x00000000000000000000000000000000000000B1";

    [Fact]
    public async Task Engine_JobBoundToKeyOwnedElsewhere_RoutedAndResumedOnlyOnceThisReplicaOwnsTheKey()
    {
        var leases = new InMemorySignerLeaseManager(TimeProvider.System) { AnnounceTtl = TimeSpan.FromMinutes(10), AnnounceEvery = TimeSpan.FromMilliseconds(50) };
        var other = leases.AsReplica("replica-a");
        var keyA = new FakeChainClient { FactoryEnabled = true, DeployerAddress = AddressA };
        var keyB = new FakeChainClient { FactoryEnabled = true, DeployerAddress = AddressB };
        var queues = new InMemorySignerQueues();
        await using var provider = Build(leases.AsReplica("replica-b"), queues, keyA, keyB);
        var store = provider.GetRequiredService<IDeploymentStore>();
        var service = provider.GetRequiredService<IDeploymentService>();

        // Another replica owns key A and is alive, so this replica's share is one key: B.
        var heldElsewhere = await other.AcquireAsync(AddressA, default);
        await other.AnnounceAsync(default);

        // A job that replica A bound to its key and started (accepted, then moved on by A before it stopped touching it).
        var bound = (await service.SubmitAsync(EngineHarness.Submission("bound-model"), default)).Job!;
        var current = (await store.GetAsync(bound.Id, default))!;
        Assert.True(await store.TryUpdateAsync(DeploymentWorkflow.Start(current, DeploymentMode.Factory) with { SignerAddress = AddressA, Version = current.Version + 1 }, default));

        var engine = provider.GetRequiredService<DeploymentEngine>();
        await engine.StartAsync(default);
        try
        {
            var free = (await service.SubmitAsync(EngineHarness.Submission("free-model"), default)).Job!;
            var done = await WaitForAsync(store, free.Id, j => j.Status.IsFinal());
            Assert.Equal(DeploymentStatus.Completed, done.Status);
            Assert.Equal(AddressB, done.SignerAddress);

            // The bound job's delivery reached this replica and was routed to key A's queue, untouched.
            var routed = queues.GetQueue(AddressA);
            await WaitUntilAsync(async () => await routed.GetDepthAsync(default) > 0);
            var untouched = (await store.GetAsync(bound.Id, default))!;
            Assert.Equal(DeploymentStatus.Processing, untouched.Status);
            Assert.Equal(0, untouched.Attempts);
            Assert.Equal(0, keyA.Broadcasts);
            Assert.Equal(1, keyB.TokensDeployed);
            Assert.Equal([AddressB], engine.OwnedSigners.Select(s => s.Address));

            // Replica A leaves: this replica's share grows to both keys, it takes A and resumes the job with key A.
            await heldElsewhere.DisposeAsync();
            await other.WithdrawAsync(default);
            var resumed = await WaitForAsync(store, bound.Id, j => j.Status.IsFinal());

            Assert.Equal(DeploymentStatus.Completed, resumed.Status);
            Assert.Equal(AddressA, resumed.SignerAddress);
            Assert.Equal(1, keyA.TokensDeployed);
            Assert.Equal(1, keyB.TokensDeployed);
            Assert.Equal(2, engine.OwnedSigners.Count);
        }
        finally
        {
            await engine.StopAsync(default);
        }
    }

    [Fact]
    public async Task Engine_BothKeysOwned_UnboundJobsSpreadAndBoundJobsStayOnTheirKey()
    {
        var leases = new InMemorySignerLeaseManager(TimeProvider.System) { AnnounceEvery = TimeSpan.FromMilliseconds(50) };
        var keyA = new FakeChainClient { FactoryEnabled = true, DeployerAddress = AddressA, HoldReceipts = true };
        var keyB = new FakeChainClient { FactoryEnabled = true, DeployerAddress = AddressB, HoldReceipts = true };
        await using var provider = Build(leases, new InMemorySignerQueues(), keyA, keyB);
        var store = provider.GetRequiredService<IDeploymentStore>();
        var service = provider.GetRequiredService<IDeploymentService>();
        var engine = provider.GetRequiredService<DeploymentEngine>();
        await engine.StartAsync(default);
        try
        {
            await WaitUntilAsync(() => Task.FromResult(engine.OwnedSigners.Count == 2));
            var jobs = new List<Guid>();
            for (var i = 0; i < 10; i++)
            {
                jobs.Add((await service.SubmitAsync(EngineHarness.Submission("spread-" + i, owner: "caller" + i), default)).Job!.Id);
            }

            // Every job binds (and signs) before any receipt comes: the least busy key takes each one.
            foreach (var id in jobs)
            {
                await WaitForAsync(store, id, j => j.Transactions.TokenDeployment is not null);
            }

            var bound = new List<DeploymentJob>();
            foreach (var id in jobs)
            {
                bound.Add((await store.GetAsync(id, default))!);
            }

            Assert.Equal(5, bound.Count(j => j.SignerAddress == AddressA));
            Assert.Equal(5, bound.Count(j => j.SignerAddress == AddressB));
            Assert.Equal(5, keyA.Broadcasts);
            Assert.Equal(5, keyB.Broadcasts);

            keyA.HoldReceipts = false;
            keyB.HoldReceipts = false;
            keyA.MineAll();
            keyB.MineAll();
            foreach (var job in bound)
            {
                var done = await WaitForAsync(store, job.Id, j => j.Status.IsFinal());
                Assert.Equal(DeploymentStatus.Completed, done.Status);
                Assert.Equal(job.SignerAddress, done.SignerAddress);
            }

            Assert.Equal(5, keyA.TokensDeployed);
            Assert.Equal(5, keyB.TokensDeployed);
        }
        finally
        {
            await engine.StopAsync(default);
        }
    }

    private static ServiceProvider Build(ISignerLeaseManager leases, ISignerQueues queues, FakeChainClient first, FakeChainClient second)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug));
        services.AddHokusaiContracts(o =>
        {
            EngineHarness.ValidOptions(o);
            o.Chain.DeployerPrivateKeys.Add(SignerPoolUnitTests.Key1);
        });
        services.AddSingleton<IChainClient>(first);
        services.Replace(ServiceDescriptor.Singleton(leases));
        services.Replace(ServiceDescriptor.Singleton(queues));
        services.Replace(ServiceDescriptor.Singleton(sp => new SignerPool(
        [
            new PoolSigner(0, first, sp.GetRequiredService<DeploymentProcessor>()),
            new PoolSigner(1, second, ActivatorUtilities.CreateInstance<DeploymentProcessor>(sp, (IChainClient)second, ActivatorUtilities.CreateInstance<TransactionExecutor>(sp, (IChainClient)second))),
        ])));
        return services.BuildServiceProvider(validateScopes: true);
    }

    private static async Task<DeploymentJob> WaitForAsync(IDeploymentStore store, Guid id, Func<DeploymentJob, bool> condition)
    {
        DeploymentJob? job = null;
        await WaitUntilAsync(async () => (job = await store.GetAsync(id, default)) is not null && condition(job));
        return job!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        // Generous: a loaded shared machine can stall a test process for seconds.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 60 s");
            await Task.Delay(10);
        }
    }
}
