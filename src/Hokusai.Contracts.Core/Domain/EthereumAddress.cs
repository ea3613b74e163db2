using System.Text;
using Nethereum.Util;

namespace Hokusai.Contracts;

/// <summary>Format and EIP-55 checksum rules of Ethereum addresses.</summary>
internal static class EthereumAddress
{
    /// <summary>Why an address was rejected.</summary>
    internal enum Problem
    {
        None,
        Format,
        Checksum,
    }

    /// <summary>True for <c>0x</c> followed by exactly 40 hex digits (any case).</summary>
    public static bool HasValidFormat(string? value)
    {
        if (value is null || value.Length != 42 || value[0] != '0' || (value[1] != 'x' && value[1] != 'X'))
        {
            return false;
        }

        for (var i = 2; i < value.Length; i++)
        {
            if (!char.IsAsciiHexDigit(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Validates <paramref name="value"/> and returns its EIP-55 form. All-lower or all-upper hex is
    /// accepted as carrying no checksum; mixed case must match the checksum exactly.
    /// </summary>
    public static Problem TryNormalize(string? value, out string checksummed)
    {
        checksummed = string.Empty;
        if (!HasValidFormat(value))
        {
            return Problem.Format;
        }

        var hex = value!.AsSpan(2);
        var expected = ToChecksum(hex);
        var hasLower = false;
        var hasUpper = false;
        foreach (var c in hex)
        {
            hasLower |= char.IsAsciiLetterLower(c);
            hasUpper |= char.IsAsciiLetterUpper(c);
        }

        if (hasLower && hasUpper && !hex.SequenceEqual(expected.AsSpan(2)))
        {
            return Problem.Checksum;
        }

        checksummed = expected;
        return Problem.None;
    }

    /// <summary>The EIP-55 checksum form of 40 hex digits (without <c>0x</c>), with the <c>0x</c> prefix.</summary>
    public static string ToChecksum(ReadOnlySpan<char> hex40)
    {
        var lower = hex40.ToString().ToLowerInvariant();
        var hash = Sha3Keccack.Current.CalculateHash(Encoding.ASCII.GetBytes(lower));
        var result = new StringBuilder("0x", 42);
        for (var i = 0; i < lower.Length; i++)
        {
            var nibble = (i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2]) & 0x0F;
            result.Append(nibble >= 8 ? char.ToUpperInvariant(lower[i]) : lower[i]);
        }

        return result.ToString();
    }

    /// <summary>True when both are valid addresses naming the same account (case-insensitive).</summary>
    public static bool AreSame(string? a, string? b) =>
        HasValidFormat(a) && HasValidFormat(b) && string.Equals(a![2..], b![2..], StringComparison.OrdinalIgnoreCase);
}
