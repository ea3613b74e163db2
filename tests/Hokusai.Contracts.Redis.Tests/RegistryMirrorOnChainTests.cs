using System.Numerics;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Mirror;
using Hokusai.Contracts.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nethereum.Signer;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

/// <summary>One anvil dev chain and one redis-server for the registry mirror tests.</summary>
public sealed class MirrorChainFixture : IAsyncLifetime
{
    public DevChain Chain { get; private set; } = null!;

    public RedisServer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Chain = await DevChain.StartAsync(null, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await Chain.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>The registry mirror against a real registry on anvil, its cursor and entries in a real Redis.</summary>
public sealed class RegistryMirrorOnChainTests(MirrorChainFixture fixture) : IClassFixture<MirrorChainFixture>
{
    private ServiceProvider Build(string prefix, Func<IChainClient, IChainClient>? wrap = null, Action<HokusaiContractsOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var builder = services.AddHokusaiContracts(o =>
        {
            fixture.Chain.ApplyTo(o);
            o.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(50);
            o.RegistryMirror.PollInterval = TimeSpan.FromMilliseconds(100);
            o.Quotas.PerHour = 1000;
            o.Quotas.PerDay = 1000;
            configure?.Invoke(o);
        });
        builder.AddRedis(fixture.Redis.ConnectionString, o => o.KeyPrefix = prefix);
        services.Replace(ServiceDescriptor.Singleton<IChainClient>(sp =>
        {
            var client = new NethereumChainClient(sp.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value.Chain, NullLoggerFactory.Instance, TimeProvider.System);
            return wrap is null ? client : wrap(client);
        }));
        return services.BuildServiceProvider();
    }

    /// <summary>Registers <paramref name="modelId"/> straight on the registry with the deployer key, outside the service.</summary>
    private async Task<ulong> RegisterOnChainAsync(string modelId, string token)
    {
        var options = new HokusaiContractsOptions();
        fixture.Chain.ApplyTo(options);
        options.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(50);
        using var sender = new NethereumChainClient(options.Chain, NullLoggerFactory.Instance, TimeProvider.System);
        await sender.ResyncNonceAsync(CancellationToken.None);
        var prepared = await sender.PrepareRegistrationAsync(modelId, token, "accuracy", null, CancellationToken.None);
        await sender.BroadcastAsync(prepared, CancellationToken.None);
        var receipt = await sender.WaitForReceiptAsync(prepared.Hash, null, CancellationToken.None);
        Assert.True(receipt.Succeeded);
        return receipt.BlockNumber;
    }

    private static string NewAddress() => EthECKey.GenerateKey().GetPublicAddress();

    private static string NewModel() => "mirror-" + Guid.NewGuid().ToString("N")[..12];

    private static string NewPrefix() => "m" + Guid.NewGuid().ToString("N")[..12] + ":";

    private static DeploymentSubmission Submission(string modelId) => new()
    {
        Owner = "alice",
        Request = new DeploymentRequest
        {
            ModelId = modelId,
            UserAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            TokenName = "Token " + modelId,
            TokenSymbol = "TK",
            PerformanceMetric = "accuracy",
        },
        RequestHash = "h" + modelId,
    };

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 600; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException(what);
    }

    [Fact]
    public async Task Submit_ModelRegisteredDirectlyOnChain_TokenAlreadyExistsWithoutRegistryCall()
    {
        var model = NewModel();
        var token = NewAddress();
        var block = await RegisterOnChainAsync(model, token);
        CountingChainClient? counting = null;
        await using var provider = Build(NewPrefix(), inner => counting = new CountingChainClient(inner));
        var mirror = provider.GetRequiredService<RegistryMirror>();
        Assert.Same(mirror, provider.GetRequiredService<IModelTokenLookup>());

        await mirror.StartAsync(CancellationToken.None);
        try
        {
            await WaitAsync(() => mirror.IsCaughtUp && mirror.Cursor >= block, "the mirror did not reach the registration's block");
            var before = counting!.RegistryCalls;

            var result = await provider.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model), CancellationToken.None);

            Assert.Equal(SubmitOutcome.TokenAlreadyExists, result.Outcome);
            Assert.Equal(token, result.ExistingTokenAddress, ignoreCase: true);
            Assert.Equal(before, counting.RegistryCalls);
            Assert.Equal(0, counting.RegistryCalls);
        }
        finally
        {
            await mirror.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Submit_ModelRegisteredAfterCatchUp_TokenAlreadyExistsOnceTheMirrorSawTheBlock()
    {
        CountingChainClient? counting = null;
        await using var provider = Build(NewPrefix(), inner => counting = new CountingChainClient(inner));
        var mirror = provider.GetRequiredService<RegistryMirror>();
        await mirror.StartAsync(CancellationToken.None);
        try
        {
            await WaitAsync(() => mirror.IsCaughtUp, "the mirror did not catch up");
            var model = NewModel();
            var block = await RegisterOnChainAsync(model, NewAddress());
            await WaitAsync(() => mirror.Cursor >= block, "the mirror did not follow the new block");

            var result = await provider.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model), CancellationToken.None);

            Assert.Equal(SubmitOutcome.TokenAlreadyExists, result.Outcome);
            Assert.Equal(0, counting!.RegistryCalls);
        }
        finally
        {
            await mirror.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task PollOnce_AfterRestart_ResumesFromPersistedCursor()
    {
        var prefix = NewPrefix();
        var model = NewModel();
        var token = NewAddress();
        var block = await RegisterOnChainAsync(model, token);
        ulong cursor;
        await using (var first = Build(prefix))
        {
            var mirror = first.GetRequiredService<RegistryMirror>();
            await mirror.PollOnceAsync(CancellationToken.None);
            cursor = mirror.Cursor!.Value;
            Assert.True(cursor >= block);
            Assert.Equal(cursor, await first.GetRequiredService<IRegistryMirrorStore>().GetCursorAsync(CancellationToken.None));
        }

        CountingChainClient? counting = null;
        await using var second = Build(prefix, inner => counting = new CountingChainClient(inner));
        var resumed = second.GetRequiredService<RegistryMirror>();
        await resumed.PollOnceAsync(CancellationToken.None);

        // Nothing at or before the stored cursor is read again, yet the model read before the restart is known.
        Assert.All(counting!.LogRanges, range => Assert.True(range.From > cursor, $"re-read block {range.From} at or before cursor {cursor}"));
        Assert.Equal(token, await resumed.GetRegisteredTokenAsync(model, CancellationToken.None), ignoreCase: true);
        Assert.Equal(0, counting.RegistryCalls);
    }

    [Fact]
    public async Task PollOnce_StoreWiped_RebuildsFromTheChain()
    {
        var prefix = NewPrefix();
        var model = NewModel();
        var token = NewAddress();
        await RegisterOnChainAsync(model, token);
        await using var provider = Build(prefix, configure: o => o.RegistryMirror.MaxBlockRange = 7);
        var mirror = provider.GetRequiredService<RegistryMirror>();
        var store = provider.GetRequiredService<IRegistryMirrorStore>();
        await mirror.PollOnceAsync(CancellationToken.None);
        Assert.Equal(token, (await store.GetModelsAsync(CancellationToken.None))[model], ignoreCase: true);

        var db = provider.GetRequiredService<RedisConnection>().Get().GetDatabase();
        var tagged = provider.GetRequiredService<RedisExecutor>().Keys.Tagged;
        Assert.Equal(2, await db.KeyDeleteAsync([(RedisKey)(tagged + "registry:models"), (RedisKey)(tagged + "registry:cursor")]));
        Assert.Null(await store.GetCursorAsync(CancellationToken.None));

        await mirror.PollOnceAsync(CancellationToken.None);

        Assert.Equal(token, (await store.GetModelsAsync(CancellationToken.None))[model], ignoreCase: true);
        Assert.Equal(mirror.Cursor, await store.GetCursorAsync(CancellationToken.None));
        Assert.True(mirror.IsCaughtUp);
    }

    [Fact]
    public async Task GetRegisteredToken_WhileBackfilling_FallsBackToTheRegistry()
    {
        var model = NewModel();
        var token = NewAddress();
        await RegisterOnChainAsync(model, token);
        CountingChainClient? counting = null;
        await using var provider = Build(NewPrefix(), inner => counting = new CountingChainClient(inner) { HoldLogs = new TaskCompletionSource() });
        var mirror = provider.GetRequiredService<RegistryMirror>();
        var poll = mirror.PollOnceAsync(CancellationToken.None);
        await WaitAsync(() => !counting!.LogRanges.IsEmpty, "the backfill did not start");
        Assert.False(mirror.IsCaughtUp);

        var result = await provider.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model), CancellationToken.None);

        Assert.Equal(SubmitOutcome.TokenAlreadyExists, result.Outcome);
        Assert.Equal(1, counting!.RegistryCalls);
        counting.HoldLogs!.SetResult();
        await poll;
        Assert.True(mirror.IsCaughtUp);
    }

    /// <summary>Counts registry view calls and records log ranges; can hold log reads to keep a backfill running.</summary>
    private sealed class CountingChainClient(IChainClient inner) : IChainClient, IDisposable
    {
        public void Dispose() => (inner as IDisposable)?.Dispose();

        private int _registryCalls;

        public TaskCompletionSource? HoldLogs { get; init; }

        public int RegistryCalls => Volatile.Read(ref _registryCalls);

        public System.Collections.Concurrent.ConcurrentQueue<(ulong From, ulong To)> LogRanges { get; } = new();

        public string DeployerAddress => inner.DeployerAddress;

        public Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _registryCalls);
            return inner.GetRegisteredTokenAsync(modelId, cancellationToken);
        }

        public async Task<IReadOnlyList<ModelRegistration>> GetModelRegistrationsAsync(ulong fromBlock, ulong toBlock, CancellationToken cancellationToken)
        {
            LogRanges.Enqueue((fromBlock, toBlock));
            if (HoldLogs is { } hold)
            {
                await hold.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            }

            return await inner.GetModelRegistrationsAsync(fromBlock, toBlock, cancellationToken);
        }

        public Task<ulong> GetLatestBlockAsync(CancellationToken cancellationToken) => inner.GetLatestBlockAsync(cancellationToken);
        public Task<PreparedTransaction> PrepareTokenDeploymentAsync(string name, string symbol, IProgress<string>? progress, CancellationToken cancellationToken) => inner.PrepareTokenDeploymentAsync(name, symbol, progress, cancellationToken);
        public Task<PreparedTransaction> PrepareRegistrationAsync(string modelId, string tokenAddress, string performanceMetric, IProgress<string>? progress, CancellationToken cancellationToken) => inner.PrepareRegistrationAsync(modelId, tokenAddress, performanceMetric, progress, cancellationToken);
        public Task<PreparedTransaction> PrepareMintAsync(string modelId, string recipient, BigInteger amount, IProgress<string>? progress, CancellationToken cancellationToken) => inner.PrepareMintAsync(modelId, recipient, amount, progress, cancellationToken);
        public Task BroadcastAsync(PreparedTransaction transaction, CancellationToken cancellationToken) => inner.BroadcastAsync(transaction, cancellationToken);
        public Task<TransactionLookup> LookupAsync(string transactionHash, CancellationToken cancellationToken) => inner.LookupAsync(transactionHash, cancellationToken);
        public Task<ChainReceipt> WaitForReceiptAsync(string transactionHash, IProgress<string>? progress, CancellationToken cancellationToken) => inner.WaitForReceiptAsync(transactionHash, progress, cancellationToken);
        public Task<ChainStatus> GetStatusAsync(CancellationToken cancellationToken) => inner.GetStatusAsync(cancellationToken);
        public Task ReleaseNonceAsync(PreparedTransaction transaction, CancellationToken cancellationToken) => inner.ReleaseNonceAsync(transaction, cancellationToken);
        public Task ResyncNonceAsync(CancellationToken cancellationToken) => inner.ResyncNonceAsync(cancellationToken);
    }
}
