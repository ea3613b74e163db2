using Org.BouncyCastle.Crypto.Digests;

namespace Hokusai.Contracts;

/// <summary>Format and EIP-55 checksum rules of Ethereum addresses.</summary>
/// <remarks>
/// Public so that hosts and the HTTP layer check addresses (a token's <c>address</c> claim, a caller's bound
/// address) by the same rules the deployment request validator applies.
/// </remarks>
public static class EthereumAddress
{
    /// <summary>Why an address was rejected.</summary>
    internal enum Problem
    {
        None,
        Format,
        Checksum,
    }

    /// <summary>True for <c>0x</c> followed by exactly 40 hex digits (any case).</summary>
    /// <param name="value">The text to check; null is not an address.</param>
    /// <returns>Whether <paramref name="value"/> has the shape of an address (the checksum is not checked).</returns>
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
    internal static Problem TryNormalize(string? value, out string checksummed)
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
    internal static string ToChecksum(ReadOnlySpan<char> hex40)
    {
        // Runs for the userAddress of every POST: one stack buffer and one digest, no intermediate strings.
        Span<byte> ascii = hex40.Length <= 64 ? stackalloc byte[hex40.Length] : new byte[hex40.Length];
        Span<char> result = hex40.Length <= 64 ? stackalloc char[hex40.Length + 2] : new char[hex40.Length + 2];
        for (var i = 0; i < hex40.Length; i++)
        {
            ascii[i] = (byte)char.ToLowerInvariant(hex40[i]);
        }

        Span<byte> hash = stackalloc byte[32];
        var digest = new KeccakDigest(256);
        digest.BlockUpdate(ascii);
        digest.DoFinal(hash);
        result[0] = '0';
        result[1] = 'x';
        for (var i = 0; i < ascii.Length; i++)
        {
            var nibble = (i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2]) & 0x0F;
            var c = (char)ascii[i];
            result[i + 2] = nibble >= 8 ? char.ToUpperInvariant(c) : c;
        }

        return new string(result);
    }

    /// <summary>True when both are valid addresses naming the same account (case-insensitive).</summary>
    /// <param name="a">One address.</param>
    /// <param name="b">The other address.</param>
    /// <returns>Whether both are well-formed and equal ignoring case.</returns>
    public static bool AreSame(string? a, string? b) =>
        HasValidFormat(a) && HasValidFormat(b) && string.Equals(a![2..], b![2..], StringComparison.OrdinalIgnoreCase);
}
