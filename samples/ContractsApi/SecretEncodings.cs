using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ContractsApi;

/// <summary>
/// The forms a configured secret can take in a log line: as typed, percent-encoded (wholly or in part,
/// either hex case, <c>+</c> for a space), JSON-escaped, and base64 or base64url at any byte offset
/// (so also inside a larger base64 blob such as a JWT's payload).
/// </summary>
internal static class SecretEncodings
{
    /// <summary>
    /// A pattern matching <paramref name="secret"/> where every character may appear as itself, as the
    /// percent-encoding of its UTF-8 bytes, or as a JSON escape.
    /// </summary>
    public static Regex Pattern(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var pattern = new StringBuilder();
        Span<byte> utf8 = stackalloc byte[4];
        var index = 0;
        while (index < secret.Length)
        {
            var rune = Rune.GetRuneAt(secret, index);
            index += rune.Utf16SequenceLength;
            var forms = new List<string> { Regex.Escape(rune.ToString()) };
            var length = rune.EncodeToUtf8(utf8);
            var percent = new StringBuilder();
            foreach (var b in utf8[..length])
            {
                percent.Append('%').Append(CultureInfo.InvariantCulture, $"(?i:{b:X2})");
            }

            forms.Add(percent.ToString());
            if (rune.Value == ' ')
            {
                forms.Add(@"\+");
            }

            if (rune.IsBmp)
            {
                // JSON writers escape quotes, backslashes, controls and (some of them) HTML-sensitive characters as \\uXXXX.
                forms.Add(@"\\u(?i:" + rune.Value.ToString("X4", CultureInfo.InvariantCulture) + ")");
                if (rune.Value is '"' or '\\' or '/')
                {
                    forms.Add(@"\\" + Regex.Escape(rune.ToString()));
                }
            }

            pattern.Append("(?:").AppendJoin('|', forms).Append(')');
        }

        // A chain of fixed alternations matches in linear time; no timeout, so a slow machine never drops a line.
        return new Regex(pattern.ToString(), RegexOptions.CultureInvariant | RegexOptions.Compiled, Regex.InfiniteMatchTimeout);
    }

    /// <summary>
    /// Substrings that any base64 or base64url encoding of <paramref name="secret"/> contains, whatever
    /// its byte offset in the encoded data (three alignments), also without padding.
    /// </summary>
    public static IEnumerable<string> Base64Forms(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var bytes = Encoding.UTF8.GetBytes(secret);
        for (var offset = 0; offset < 3; offset++)
        {
            // Prefixing `offset` bytes shifts the secret within the 3-byte groups; the characters that
            // depend only on the secret's own bytes are those of the groups lying wholly inside it.
            var shifted = new byte[offset + bytes.Length];
            bytes.CopyTo(shifted, offset);
            var encoded = Convert.ToBase64String(shifted);
            var firstWholeGroup = (offset + 2) / 3;
            var lastWholeGroupEnd = (offset + bytes.Length) / 3;
            if (lastWholeGroupEnd - firstWholeGroup < 2)
            {
                continue;
            }

            var core = encoded.Substring(firstWholeGroup * 4, (lastWholeGroupEnd - firstWholeGroup) * 4);
            yield return core;
            yield return core.Replace('+', '-').Replace('/', '_');
        }
    }
}
