using System.Globalization;
using System.Net.Http.Json;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nethereum.Util;

namespace ContractsApi.Tests.Replicas;

/// <summary>
/// Plain JSON-RPC with hand-made ABI encoding, so the chain is checked independently of the engine
/// that wrote to it.
/// </summary>
internal sealed class ChainProbe(string url) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
    private int _id;

    public async Task<JsonElement> CallRawAsync(string method, params object?[] parameters)
    {
        var request = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = Interlocked.Increment(ref _id),
            ["method"] = method,
            ["params"] = JsonSerializer.SerializeToNode(parameters),
        };
        using var response = await _http.PostAsJsonAsync("", request);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"{method} failed: {error}");
        }

        return body.GetProperty("result").Clone();
    }

    /// <summary><c>eth_getTransactionCount(address, "pending")</c>.</summary>
    public async Task<long> TransactionCountAsync(string address) =>
        (long)ParseQuantity((await CallRawAsync("eth_getTransactionCount", address, "pending")).GetString()!);

    public async Task<long> BlockNumberAsync() => (long)ParseQuantity((await CallRawAsync("eth_blockNumber")).GetString()!);

    /// <summary>Contract creations sent by <paramref name="from"/> in blocks <paramref name="first"/>..<paramref name="last"/>.</summary>
    public async Task<int> ContractCreationsAsync(string from, long first, long last)
    {
        var count = 0;
        for (var n = first; n <= last; n++)
        {
            var block = await CallRawAsync("eth_getBlockByNumber", "0x" + n.ToString("x", CultureInfo.InvariantCulture), true);
            foreach (var tx in block.GetProperty("transactions").EnumerateArray())
            {
                var sender = tx.GetProperty("from").GetString();
                var to = tx.TryGetProperty("to", out var t) ? t : default;
                if (string.Equals(sender, from, StringComparison.OrdinalIgnoreCase) && to.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary><c>ModelRegistry.getToken(modelId)</c>; the zero address when unregistered.</summary>
    public async Task<string> RegisteredTokenAsync(string registry, string modelId) =>
        DecodeAddress(await EthCallAsync(registry, "getToken(string)", StringArg(modelId)), 0);

    /// <summary><c>ModelRegistry.getModelId(token)</c>; empty when the token is not registered.</summary>
    public async Task<string> RegisteredModelAsync(string registry, string token) =>
        DecodeString(await EthCallAsync(registry, "getModelId(address)", AddressArg(token)), 0);

    /// <summary><c>ModelRegistry.modelCount()</c>.</summary>
    public async Task<long> ModelCountAsync(string registry) => (long)Word(await EthCallAsync(registry, "modelCount()"), 0);

    public async Task<string> CodeAsync(string address) => (await CallRawAsync("eth_getCode", address, "latest")).GetString()!;

    private async Task<string> EthCallAsync(string to, string signature, params string[] encodedArguments)
    {
        var data = Selector(signature) + Encode(encodedArguments);
        var result = await CallRawAsync("eth_call", new Dictionary<string, string> { ["to"] = to, ["data"] = data }, "latest");
        return result.GetString()!;
    }

    private static string Selector(string signature) =>
        "0x" + Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(Encoding.ASCII.GetBytes(signature)).AsSpan(0, 4));

    // "S" = static word (inline), "D" = dynamic string (tail).
    private static string AddressArg(string address) => "S" + address[2..].ToLowerInvariant().PadLeft(64, '0');

    private static string StringArg(string value) => "D" + value;

    private static string Encode(string[] arguments)
    {
        var head = new StringBuilder();
        var tail = new StringBuilder();
        var headSize = arguments.Length * 32;
        foreach (var argument in arguments)
        {
            if (argument[0] == 'S')
            {
                head.Append(argument[1..]);
                continue;
            }

            var bytes = Encoding.UTF8.GetBytes(argument[1..]);
            head.Append((headSize + (tail.Length / 2)).ToString("x64", CultureInfo.InvariantCulture));
            tail.Append(bytes.Length.ToString("x64", CultureInfo.InvariantCulture));
            var hex = Convert.ToHexStringLower(bytes);
            tail.Append(hex.PadRight((bytes.Length + 31) / 32 * 64, '0'));
        }

        return head.ToString() + tail;
    }

    private static BigInteger Word(string hex, int index)
    {
        var body = hex[2..];
        return BigInteger.Parse(string.Concat("0", body.AsSpan(index * 64, 64)), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private static string DecodeAddress(string hex, int index) => string.Concat("0x", hex.AsSpan(2 + (index * 64) + 24, 40));

    private static string DecodeString(string hex, int index)
    {
        var offset = (int)Word(hex, index);
        var length = (int)Word(hex, offset / 32);
        var bytes = Convert.FromHexString(hex.AsSpan(2 + ((offset + 32) * 2), length * 2));
        return Encoding.UTF8.GetString(bytes);
    }

    private static BigInteger ParseQuantity(string hex) =>
        BigInteger.Parse(string.Concat("0", hex.AsSpan(2)), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    public void Dispose() => _http.Dispose();
}
