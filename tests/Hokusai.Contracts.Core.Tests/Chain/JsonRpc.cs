using System.Globalization;
using System.Net.Http.Json;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nethereum.Util;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>Plain JSON-RPC with hand-made ABI encoding, to check the engine's work independently of it.</summary>
public sealed class JsonRpc(string url) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(url) };
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

    public async Task<string> EthCallAsync(string to, string signature, params string[] encodedArguments)
    {
        var data = Selector(signature) + Encode(encodedArguments);
        var result = await CallRawAsync("eth_call", new Dictionary<string, string> { ["to"] = to, ["data"] = data }, "latest");
        return result.GetString()!;
    }

    public async Task<string> CallStringAsync(string to, string signature, params string[] args) => DecodeString(await EthCallAsync(to, signature, args), 0);

    public async Task<string> CallAddressAsync(string to, string signature, params string[] args) => DecodeAddress(await EthCallAsync(to, signature, args), 0);

    public async Task<BigInteger> CallUintAsync(string to, string signature, params string[] args) => Word(await EthCallAsync(to, signature, args), 0);

    public async Task<bool> CallBoolAsync(string to, string signature, params string[] args) => !Word(await EthCallAsync(to, signature, args), 0).IsZero;

    public async Task<BigInteger> BlockNumberAsync() => ParseQuantity((await CallRawAsync("eth_blockNumber")).GetString()!);

    public async Task<BigInteger> BaseFeeAsync()
    {
        var block = await CallRawAsync("eth_getBlockByNumber", "latest", false);
        return ParseQuantity(block.GetProperty("baseFeePerGas").GetString()!);
    }

    public async Task<string> CodeAsync(string address) => (await CallRawAsync("eth_getCode", address, "latest")).GetString()!;

    public Task MineAsync(int blocks) => CallRawAsync("anvil_mine", "0x" + blocks.ToString("x", CultureInfo.InvariantCulture));

    // ABI helpers: each argument is encoded by the caller with one of these.

    public static string Selector(string signature) =>
        "0x" + Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(Encoding.ASCII.GetBytes(signature)).AsSpan(0, 4));

    public static string AddressArg(string address) => "S" + address[2..].ToLowerInvariant().PadLeft(64, '0');

    public static string StringArg(string value) => "D" + value;

    private static string Encode(string[] arguments)
    {
        // "S" = static word (inline), "D" = dynamic string (tail).
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

    public static BigInteger Word(string hex, int index)
    {
        var body = hex[2..];
        return BigInteger.Parse(string.Concat("0", body.AsSpan(index * 64, 64)), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public static string DecodeAddress(string hex, int index) => string.Concat("0x", hex.AsSpan(2 + (index * 64) + 24, 40));

    public static string DecodeString(string hex, int index, int baseOffset = 0)
    {
        var offset = (int)Word(hex, index + (baseOffset / 32)) + baseOffset;
        var length = (int)Word(hex, offset / 32);
        var bytes = Convert.FromHexString(hex.AsSpan(2 + ((offset + 32) * 2), length * 2));
        return Encoding.UTF8.GetString(bytes);
    }

    public static BigInteger ParseQuantity(string hex) =>
        BigInteger.Parse(string.Concat("0", hex.AsSpan(2)), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    public void Dispose() => _http.Dispose();
}
