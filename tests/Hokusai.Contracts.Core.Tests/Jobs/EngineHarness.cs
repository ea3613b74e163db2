using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.Core.Tests.Jobs;

/// <summary>The real service, engine and in-memory defaults around a <see cref="FakeChainClient"/>.</summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    private EngineHarness(ServiceProvider provider, FakeChainClient chain)
    {
        Provider = provider;
        Chain = chain;
    }

    public ServiceProvider Provider { get; }
    public FakeChainClient Chain { get; }
    public IDeploymentService Service => Provider.GetRequiredService<IDeploymentService>();
    public IDeploymentStore Store => Provider.GetRequiredService<IDeploymentStore>();
    public DeploymentEngine Engine => Provider.GetRequiredService<DeploymentEngine>();

    public static void ValidOptions(HokusaiContractsOptions o)
    {
        o.Chain.RpcUrls.Add("http://127.0.0.1:8545");
        o.Chain.ModelRegistryAddress = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        o.Chain.TokenManagerAddress = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
        o.Chain.DeployerPrivateKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        o.Chain.ChainId = 31337;
        o.Jobs.InitialRetryDelay = TimeSpan.FromMilliseconds(5);
        o.Jobs.MaxRetryDelay = TimeSpan.FromMilliseconds(50);
        o.Jobs.ShutdownGracePeriod = TimeSpan.FromMilliseconds(200);
    }

    public static EngineHarness Create(Action<HokusaiContractsOptions>? configure = null, FakeChainClient? chain = null, IDeploymentStore? store = null, TimeProvider? time = null, ISignerLeaseManager? leases = null, IDeploymentQueue? queue = null)
    {
        chain ??= new FakeChainClient();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug));
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddHokusaiContracts(o =>
        {
            ValidOptions(o);
            configure?.Invoke(o);
        });
        services.AddSingleton<IChainClient>(chain);
        if (store is not null)
        {
            services.Replace(ServiceDescriptor.Singleton(store));
        }

        if (leases is not null)
        {
            services.Replace(ServiceDescriptor.Singleton(leases));
        }

        if (queue is not null)
        {
            services.Replace(ServiceDescriptor.Singleton(queue));
        }

        return new EngineHarness(services.BuildServiceProvider(validateScopes: true), chain);
    }

    public static DeploymentRequest Request(string modelId = "model-1", long supply = 0) => new()
    {
        ModelId = modelId,
        UserAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        TokenName = "Hokusai " + modelId,
        TokenSymbol = "HKM",
        InitialSupply = supply,
        PerformanceMetric = "accuracy",
    };

    public static DeploymentSubmission Submission(string modelId = "model-1", string owner = "alice", string? key = null, long supply = 0, string? hash = null) => new()
    {
        Owner = owner,
        Request = Request(modelId, supply),
        RequestHash = hash ?? "hash-" + modelId + "-" + supply,
        IdempotencyKey = key,
    };

    public Task StartAsync() => Engine.StartAsync(CancellationToken.None);

    public Task StopAsync() => Engine.StopAsync(CancellationToken.None);

    public async Task<DeploymentJob> WaitForAsync(Guid id, Func<DeploymentJob, bool> condition, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        DeploymentJob? job = null;
        while (DateTime.UtcNow < deadline)
        {
            job = await Store.GetAsync(id, CancellationToken.None);
            if (job is not null && condition(job))
            {
                return job;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"Job {id} did not reach the expected state; last: {job?.Status} {job?.Step} {job?.StepDetail}");
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.StopAsync(CancellationToken.None);
        await Provider.DisposeAsync();
    }
}
