using Hokusai.Contracts.Accept;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.InMemory;
using Hokusai.Contracts.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.Conformance;

/// <summary>The in-memory store against the public conformance kit, on a clock the test advances.</summary>
public sealed class InMemoryDeploymentStoreConformanceTests : DeploymentStoreConformanceTests
{
    private readonly FakeTimeProvider _time = new(ConformanceJobs.Epoch);

    protected override Task<IDeploymentStore> CreateStoreAsync(TimeSpan retention) =>
        Task.FromResult<IDeploymentStore>(new InMemoryDeploymentStore(
            Options.Create(new HokusaiContractsOptions { Jobs = { Retention = retention } }), _time));

    protected override Task PassTimeAsync(TimeSpan elapsed)
    {
        _time.Advance(elapsed);
        return Task.CompletedTask;
    }
}

/// <summary>The in-memory queue against the public conformance kit (not durable: nothing survives its process).</summary>
public sealed class InMemoryDeploymentQueueConformanceTests : DeploymentQueueConformanceTests
{
    protected override Task<IDeploymentQueue> CreateQueueAsync() => Task.FromResult<IDeploymentQueue>(new InMemoryDeploymentQueue());
}

/// <summary>The default acceptor composed from the in-memory store, quota and queue, against the public conformance kit.</summary>
public sealed class InMemoryDeploymentAcceptorConformanceTests : DeploymentAcceptorConformanceTests
{
    protected override Task<AcceptorUnderTest> CreateAcceptorAsync(int perHour, int perDay)
    {
        var time = new FakeTimeProvider(ConformanceJobs.Epoch);
        var options = Options.Create(new HokusaiContractsOptions { Quotas = { PerHour = perHour, PerDay = perDay } });
        var store = new InMemoryDeploymentStore(options, time);
        var queue = new InMemoryDeploymentQueue();
        var acceptor = new StoreDeploymentAcceptor(store, new InMemoryDeploymentQuota(options, time), queue, NullLogger<StoreDeploymentAcceptor>.Instance);
        return Task.FromResult(new AcceptorUnderTest(acceptor, store, queue));
    }
}
