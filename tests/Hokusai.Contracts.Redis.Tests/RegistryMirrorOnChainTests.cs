using System.Numerics;
using Hokusai.Contracts.Backends;
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
        builder.AddRedis(fixture.Redis.ConnectionString, o =>
        {
            o.KeyPrefix = prefix;
            // These tests are about the mirror, not Redis timeouts: on a loaded shared machine one command can take
            // longer than the product's 750 ms fail-fast bound (RedisOutageTests test that bound).
            o.OperationTimeout = TimeSpan.FromSeconds(10);
        });
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

    private static async Task WaitAsync(Func<bool> condition, string what, Func<Task>? refresh = null)
    {
        for (var i = 0; i < 1200; i++)
        {
            if (refresh is not null)
            {
                await refresh();
            }

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
    public async Task Submit_ModelDeployedByFactoryDirectlyOnChain_TokenAlreadyExistsWithoutRegistryCall()
    {
        // TokenManager.deployToken sent straight to the chain (not through the service) registers through the registry.
        var model = NewModel();
        var options = new HokusaiContractsOptions();
        fixture.Chain.ApplyTo(options);
        options.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(50);
        var request = Submission(model).Request with { InitialSupply = 5 };
        string predicted;
        ulong block;
        using (var sender = new NethereumChainClient(options.Chain, NullLoggerFactory.Instance, TimeProvider.System))
        {
            await sender.ResyncNonceAsync(CancellationToken.None);
            var prepared = await sender.PrepareFactoryDeploymentAsync(request, null, CancellationToken.None);
            predicted = prepared.ContractAddress!;
            await sender.BroadcastAsync(prepared, CancellationToken.None);
            var receipt = await sender.WaitForReceiptAsync(prepared.Hash, null, CancellationToken.None);
            Assert.True(receipt.Succeeded);
            block = receipt.BlockNumber;
        }

        CountingChainClient? counting = null;
        await using var provider = Build(NewPrefix(), inner => counting = new CountingChainClient(inner));
        var mirror = provider.GetRequiredService<RegistryMirror>();
        await mirror.StartAsync(CancellationToken.None);
        try
        {
            await WaitAsync(() => mirror.IsCaughtUp && mirror.Cursor >= block, "the mirror did not reach the factory deployment's block");

            var result = await provider.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model), CancellationToken.None);

            Assert.Equal(SubmitOutcome.TokenAlreadyExists, result.Outcome);
            Assert.Equal(predicted, result.ExistingTokenAddress, ignoreCase: true);
            Assert.Equal(0, counting!.RegistryCalls);
        }
        finally
        {
            await mirror.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Start_BuiltInChainClient_DrivenByTheBlockFollowerWithoutReadingTheHead()
    {
        CountingChainClient? counting = null;
        // Heads pushed over RPC_WS_URL; the mirror reads no head of its own, it follows the follower's.
        await using var provider = Build(NewPrefix(), inner => counting = new CountingChainClient(inner), o =>
        {
            o.RegistryMirror.PollInterval = TimeSpan.FromSeconds(1);
            o.Chain.RpcWsUrl = "ws://127.0.0.1:" + new Uri(fixture.Chain.RpcUrl).Port;
        });
        var mirror = provider.GetRequiredService<RegistryMirror>();
        await mirror.StartAsync(CancellationToken.None);
        try
        {
            await WaitAsync(() => mirror.IsCaughtUp, "the mirror did not catch up");
            var reads = counting!.HeadReads;
            for (var i = 0; i < 3; i++)
            {
                var model = NewModel();
                var block = await RegisterOnChainAsync(model, NewAddress());
                await WaitAsync(() => mirror.Cursor >= block, $"the mirror did not follow block {block}");
                Assert.Equal(SubmitOutcome.TokenAlreadyExists, (await provider.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model), CancellationToken.None)).Outcome);
            }

            // At most the one read before the follower's first head; the heads came from the follower.
            Assert.True(counting.HeadReads - reads <= 1, $"{counting.HeadReads - reads} head reads of its own");
            Assert.True(reads <= 1, $"{reads} head reads before catching up");
        }
        finally
        {
            await mirror.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Start_StoreWipedWhileRunning_RebuiltFromTheChain()
    {
        var model = NewModel();
        var token = NewAddress();
        await RegisterOnChainAsync(model, token);
        await using var provider = Build(NewPrefix());
        var mirror = provider.GetRequiredService<RegistryMirror>();
        var store = provider.GetRequiredService<IRegistryMirrorStore>();
        await mirror.StartAsync(CancellationToken.None);
        try
        {
            await WaitAsync(() => mirror.IsCaughtUp, "the mirror did not catch up");
            var db = provider.GetRequiredService<RedisConnection>().Get().GetDatabase();
            var tagged = provider.GetRequiredService<RedisExecutor>().Keys.Tagged;
            await db.KeyDeleteAsync([(RedisKey)(tagged + "registry:models"), (RedisKey)(tagged + "registry:cursor")]);

            var rebuilt = false;
            await WaitAsync(() => rebuilt, "the wiped store was not rebuilt", async () =>
                rebuilt = await store.GetCursorAsync(CancellationToken.None) is not null
                    && (await store.GetModelsAsync(CancellationToken.None)).TryGetValue(model, out var stored)
                    && string.Equals(stored, token, StringComparison.OrdinalIgnoreCase));
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
        await WaitAsync(() => !counting!.LogRanges.IsEmpty || poll.IsCompleted, "the backfill did not start");
        if (poll.IsCompleted)
        {
            // A poll that ended before reading any range failed: its own exception says why.
            await poll;
        }

        Assert.False(counting!.LogRanges.IsEmpty);
        Assert.False(mirror.IsCaughtUp);

        var result = await provider.GetRequiredService<IDeploymentService>().SubmitAsync(Submission(model), CancellationToken.None);

        Assert.Equal(SubmitOutcome.TokenAlreadyExists, result.Outcome);
        Assert.Equal(1, counting!.RegistryCalls);
        counting.HoldLogs!.SetResult();
        await poll;
        Assert.True(mirror.IsCaughtUp);
    }

    /// <summary>Counts registry view calls and records log ranges; can hold log reads to keep a backfill running.</summary>
    private sealed class CountingChainClient(IChainClient inner) : IChainClient, IFollowedChain, IDisposable
    {
        public void Dispose() => (inner as IDisposable)?.Dispose();

        private int _registryCalls;
        private int _headReads;

        public int HeadReads => Volatile.Read(ref _headReads);

        ulong? IFollowedChain.Head => ((IFollowedChain)inner).Head;

        long? IFollowedChain.KnownChainId => ((IFollowedChain)inner).KnownChainId;

        IDisposable IFollowedChain.SubscribeHeads(Action<ulong> onHead, TimeSpan idleInterval) => ((IFollowedChain)inner).SubscribeHeads(onHead, idleInterval);

        Task IFollowedChain.WaitForHeadAsync(ulong block, CancellationToken cancellationToken) => ((IFollowedChain)inner).WaitForHeadAsync(block, cancellationToken);

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

        public Task<ulong> GetLatestBlockAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _headReads);
            return inner.GetLatestBlockAsync(cancellationToken);
        }

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
