using System.Collections.Concurrent;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>One anvil dev chain shared by a test collection.</summary>
public sealed class DevChainFixture : IAsyncLifetime
{
    private readonly List<NethereumChainClient> _clients = [];

    public DevChain Chain { get; private set; } = null!;

    public JsonRpc Rpc { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Chain = await DevChain.StartAsync(null, CancellationToken.None);
        Rpc = new JsonRpc(Chain.RpcUrl);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        Rpc.Dispose();
        await Chain.DisposeAsync();
    }

    /// <summary>A client pointed at this chain with the deployer key.</summary>
    internal NethereumChainClient CreateClient(Action<ChainOptions>? configure = null) => CreateClient(Options(configure));

    /// <summary>A client over <paramref name="options"/>, which the test may keep changing (e.g. the fee cap).</summary>
    internal NethereumChainClient CreateClient(ChainOptions options, bool legacy = false)
    {
        var client = new NethereumChainClient(options, NullLoggerFactory.Instance, TimeProvider.System)
        {
            FeeRecheckInterval = TimeSpan.FromMilliseconds(100),
            UseLegacyTransactions = legacy,
        };
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    public ChainOptions Options(Action<ChainOptions>? configure = null)
    {
        var options = new HokusaiContractsOptions();
        Chain.ApplyTo(options);
        options.Chain.ReceiptPollInterval = TimeSpan.FromMilliseconds(50);
        configure?.Invoke(options.Chain);
        return options.Chain;
    }
}

[CollectionDefinition(Name)]
public sealed class DevChainGroup : ICollectionFixture<DevChainFixture>
{
    public const string Name = "dev chain";
}

/// <summary>Records progress reports synchronously (Progress&lt;T&gt; would post them later).</summary>
public sealed class RecordingProgress : IProgress<string>
{
    private readonly ConcurrentQueue<string> _reports = new();

    public IReadOnlyList<string> Reports => [.. _reports];

    public void Report(string value) => _reports.Enqueue(value);
}
