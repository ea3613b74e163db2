using System.Globalization;
using System.Text.Json;
using Hokusai.Contracts.Tests.Chain;

namespace ContractsApi.Tests.Replicas;

/// <summary>
/// The registry and deployer facts the replica tests check, read with the plain JSON-RPC client so the
/// chain is checked independently of the engine that wrote to it.
/// </summary>
internal sealed class ChainProbe(string url) : IDisposable
{
    private readonly JsonRpc _rpc = new(url);

    /// <summary><c>eth_getTransactionCount(address, "pending")</c>.</summary>
    public async Task<long> TransactionCountAsync(string address) =>
        (long)JsonRpc.ParseQuantity((await _rpc.CallRawAsync("eth_getTransactionCount", address, "pending")).GetString()!);

    public async Task<long> BlockNumberAsync() => (long)await _rpc.BlockNumberAsync();

    /// <summary>
    /// Token creations sent by <paramref name="from"/> in blocks <paramref name="first"/>..<paramref name="last"/>:
    /// plain contract creations, and <c>deployToken</c> calls to <paramref name="tokenManager"/> (factory mode).
    /// </summary>
    public async Task<int> ContractCreationsAsync(string from, long first, long last, string? tokenManager = null)
    {
        var deployToken = JsonRpc.Selector("deployToken(string,string,string,string,address,uint256)");
        var count = 0;
        for (var n = first; n <= last; n++)
        {
            var block = await _rpc.CallRawAsync("eth_getBlockByNumber", "0x" + n.ToString("x", CultureInfo.InvariantCulture), true);
            foreach (var tx in block.GetProperty("transactions").EnumerateArray())
            {
                var sender = tx.GetProperty("from").GetString();
                var to = tx.TryGetProperty("to", out var t) ? t : default;
                var creation = to.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined
                    || (tokenManager is not null && string.Equals(to.GetString(), tokenManager, StringComparison.OrdinalIgnoreCase)
                        && tx.GetProperty("input").GetString()!.StartsWith(deployToken, StringComparison.OrdinalIgnoreCase));
                if (string.Equals(sender, from, StringComparison.OrdinalIgnoreCase) && creation)
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>
    /// Zero-value self-transfers without data sent by <paramref name="from"/> in blocks <paramref name="first"/>..<paramref name="last"/>:
    /// what the block follower sends to fill a nonce that a killed owner handed out but never sent.
    /// </summary>
    public async Task<int> GapFillersAsync(string from, long first, long last)
    {
        var count = 0;
        for (var n = first; n <= last; n++)
        {
            var block = await _rpc.CallRawAsync("eth_getBlockByNumber", "0x" + n.ToString("x", CultureInfo.InvariantCulture), true);
            foreach (var tx in block.GetProperty("transactions").EnumerateArray())
            {
                var to = tx.TryGetProperty("to", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                if (string.Equals(tx.GetProperty("from").GetString(), from, StringComparison.OrdinalIgnoreCase)
                    && string.Equals(to, from, StringComparison.OrdinalIgnoreCase)
                    && tx.GetProperty("input").GetString() is "0x" or ""
                    && tx.GetProperty("value").GetString() is "0x0")
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary><c>ModelRegistry.getToken(modelId)</c>; the zero address when unregistered.</summary>
    public Task<string> RegisteredTokenAsync(string registry, string modelId) =>
        _rpc.CallAddressAsync(registry, "getToken(string)", JsonRpc.StringArg(modelId));

    /// <summary><c>ModelRegistry.getModelId(token)</c>; empty when the token is not registered.</summary>
    public Task<string> RegisteredModelAsync(string registry, string token) =>
        _rpc.CallStringAsync(registry, "getModelId(address)", JsonRpc.AddressArg(token));

    /// <summary><c>ModelRegistry.modelCount()</c>.</summary>
    public async Task<long> ModelCountAsync(string registry) => (long)await _rpc.CallUintAsync(registry, "modelCount()");

    public Task<string> CodeAsync(string address) => _rpc.CodeAsync(address);

    public void Dispose() => _rpc.Dispose();
}
