using Nethereum.ABI.FunctionEncoding.Attributes;
using Nethereum.Contracts;
using Nethereum.Hex.HexTypes;
using Nethereum.RPC.Eth.DTOs;
using Nethereum.Util;

namespace Hokusai.Contracts.Chain;

/// <summary>Block head and registry log reads (the registry mirror's source).</summary>
internal sealed partial class NethereumChainClient
{
    /// <inheritdoc />
    public async Task<ulong> GetLatestBlockAsync(CancellationToken cancellationToken) => await Guard("eth_blockNumber", async () =>
        (ulong)(await _pool.ExecuteAsync("eth_blockNumber", w => w.Eth.Blocks.GetBlockNumber.SendRequestAsync(), cancellationToken)).Value);

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelRegistration>> GetModelRegistrationsAsync(ulong fromBlock, ulong toBlock, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fromBlock, toBlock);
        var registry = RequireAddress(_options.ModelRegistryAddress, "MODEL_REGISTRY_ADDRESS");
        return await Guard("eth_getLogs", async () =>
        {
            var filter = Event<ModelRegisteredEvent>.GetEventABI().CreateFilterInput(
                registry,
                new BlockParameter(new HexBigInteger(fromBlock)),
                new BlockParameter(new HexBigInteger(toBlock)));
            var logs = await _pool.ExecuteAsync("eth_getLogs", w => w.Eth.Filters.GetLogs.SendRequestAsync(filter), cancellationToken);
            return (IReadOnlyList<ModelRegistration>)Event<ModelRegisteredEvent>.DecodeAllEvents(logs ?? [])
                .Where(e => e.Log.Removed != true)
                .OrderBy(e => e.Log.BlockNumber.Value).ThenBy(e => e.Log.LogIndex.Value)
                .Select(e => new ModelRegistration(
                    e.Event.ModelId,
                    AddressUtil.Current.ConvertToChecksumAddress(e.Event.Token),
                    (ulong)e.Log.BlockNumber.Value,
                    e.Log.TransactionHash))
                .ToList();
        });
    }
}

/// <summary><c>ModelRegistry.ModelRegistered(string modelId, address indexed token, string performanceMetric)</c>.</summary>
[Event("ModelRegistered")]
internal sealed class ModelRegisteredEvent : IEventDTO
{
    [Parameter("string", "modelId", 1, false)]
    public string ModelId { get; set; } = "";

    [Parameter("address", "token", 2, true)]
    public string Token { get; set; } = "";

    [Parameter("string", "performanceMetric", 3, false)]
    public string PerformanceMetric { get; set; } = "";
}
