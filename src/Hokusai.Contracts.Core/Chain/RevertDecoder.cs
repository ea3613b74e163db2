using System.Globalization;
using System.Numerics;
using Nethereum.ABI.ABIDeserialisation;
using Nethereum.ABI.FunctionEncoding;
using Nethereum.ABI.Model;
using Nethereum.Hex.HexConvertors.Extensions;

namespace Hokusai.Contracts.Chain;

/// <summary>A decoded revert: <see cref="Reason"/> is the custom error's name or the <c>Error(string)</c> text.</summary>
/// <param name="Reason">What callers match on (e.g. <c>ModelAlreadyRegistered</c>).</param>
/// <param name="Description">Human-readable form including the arguments.</param>
internal sealed record DecodedRevert(string Reason, string Description);

/// <summary>Decodes revert data using the custom errors declared in the embedded contract ABIs.</summary>
internal static class RevertDecoder
{
    private const string ErrorStringSelector = "08c379a0";
    private const string PanicSelector = "4e487b71";

    private static readonly Lazy<Dictionary<string, ErrorABI>> Errors = new(LoadErrors);

    internal static DecodedRevert? Decode(string? revertData)
    {
        if (string.IsNullOrWhiteSpace(revertData))
        {
            return null;
        }

        var hex = revertData.RemoveHexPrefix().ToLowerInvariant();
        if (hex.Length < 8 || !IsHex(hex))
        {
            return null;
        }

        var selector = hex[..8];
        var body = hex[8..];
        var decoder = new ParameterDecoder();
        try
        {
            if (selector == ErrorStringSelector)
            {
                var outputs = decoder.DecodeDefaultData(body, new Parameter("string", "message", 1));
                var message = outputs[0].Result as string ?? "";
                return new DecodedRevert(message, message);
            }

            if (selector == PanicSelector)
            {
                var outputs = decoder.DecodeDefaultData(body, new Parameter("uint256", "code", 1));
                var code = outputs[0].Result is BigInteger value ? value : BigInteger.Zero;
                var text = string.Create(CultureInfo.InvariantCulture, $"Panic(0x{code:x2})");
                return new DecodedRevert(text, text);
            }

            if (Errors.Value.TryGetValue(selector, out var error))
            {
                var outputs = decoder.DecodeDefaultData(body, error.InputParameters);
                var args = string.Join(", ", outputs.Select(o => FormatValue(o.Result)));
                return new DecodedRevert(error.Name, $"{error.Name}({args})");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException or IndexOutOfRangeException or OverflowException)
        {
            // Malformed data: fall through and report the raw selector.
        }

        return new DecodedRevert($"0x{selector}", $"unknown error 0x{selector}");
    }

    private static string FormatValue(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        byte[] bytes => bytes.ToHex(true),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static bool IsHex(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static Dictionary<string, ErrorABI> LoadErrors()
    {
        var errors = new Dictionary<string, ErrorABI>(StringComparer.Ordinal);
        var deserialiser = new ABIJsonDeserialiser();
        foreach (var name in ContractArtifacts.All)
        {
            var abi = deserialiser.DeserialiseContract(ContractArtifacts.AbiJson(name));
            foreach (var error in abi.Errors)
            {
                errors.TryAdd(error.Sha3Signature.RemoveHexPrefix().ToLowerInvariant(), error);
            }
        }

        return errors;
    }
}
