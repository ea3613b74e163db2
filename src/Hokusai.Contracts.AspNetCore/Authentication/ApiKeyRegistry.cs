using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore.Authentication;

/// <summary>
/// The configured API keys, kept only as SHA-256 hashes. Lookups hash the presented key and compare it
/// with every entry in constant time, so neither the key nor its position leaks through timing.
/// </summary>
internal sealed partial class ApiKeyRegistry
{
    public const int MinKeyLength = 16;

    private readonly Entry[] _entries;

    public ApiKeyRegistry(IOptions<HokusaiAuthenticationOptions> options)
    {
        // Validation on start reports a bad list; here a bad list simply accepts no key.
        _entries = TryParse(options.Value.ApiKeys, out var entries, out _)
            && TryParse(options.Value.AdminApiKeys, out var admins, out _, AdminSetting)
            ? Merge(entries, admins)
            : [];
    }

    /// <summary>The setting holding operator keys, as messages name it.</summary>
    public static readonly string AdminSetting = HokusaiAuthenticationOptionsValidator.Name(nameof(HokusaiAuthenticationOptions.AdminApiKeys));

    /// <summary>The setting holding tenant keys, as messages name it.</summary>
    public static readonly string KeysSetting = HokusaiAuthenticationOptionsValidator.Name(nameof(HokusaiAuthenticationOptions.ApiKeys));

    /// <summary>Whether <paramref name="identity"/> is the identity of a configured key.</summary>
    public bool IsKeyIdentity(string identity) => _entries.Any(e => string.Equals(e.Identity, identity, StringComparison.Ordinal));

    /// <summary>Tenant keys plus operator keys; a key in both lists is one entry with the admin permission.</summary>
    internal static Entry[] Merge(Entry[] keys, Entry[] admins)
    {
        var list = keys.ToList();
        foreach (var admin in admins)
        {
            var index = list.FindIndex(e => CryptographicOperations.FixedTimeEquals(e.Hash, admin.Hash));
            if (index >= 0)
            {
                list[index] = list[index] with { Admin = true };
            }
            else
            {
                list.Add(admin with { Admin = true });
            }
        }

        return [.. list];
    }

    internal ApiKeyRegistry(Entry[] entries) => _entries = entries;

    public int Count => _entries.Length;

    [GeneratedRegex("^[A-Za-z0-9_.@-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    /// <summary>The identity owning <paramref name="presentedKey"/>, or null.</summary>
    public string? Find(string presentedKey) => FindEntry(presentedKey)?.Identity;

    /// <summary>The entry of <paramref name="presentedKey"/>, or null.</summary>
    public Entry? FindEntry(string presentedKey)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), hash);
        Entry? found = null;
        foreach (var entry in _entries)
        {
            // No early exit: every entry is compared whatever matched.
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
            {
                found ??= entry;
            }
        }

        return found;
    }

    /// <summary>Parses <c>VALID_API_KEYS</c> entries (<c>key</c> or <c>name:key</c>); the error names the setting, never a key.</summary>
    public static bool TryParse(IEnumerable<string> values, out Entry[] entries, out string? error, string? variable = null)
    {
        variable ??= KeysSetting;
        var list = new List<Entry>();
        var position = 0;
        foreach (var raw in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)))
        {
            position++;
            if (raw.Length == 0)
            {
                continue;
            }

            var separator = raw.IndexOf(':', StringComparison.Ordinal);
            var name = separator >= 0 ? raw[..separator].Trim() : null;
            var key = separator >= 0 ? raw[(separator + 1)..].Trim() : raw;
            if (name is not null && !NamePattern().IsMatch(name))
            {
                return Fail($"{variable} entry {position}: the name before ':' must be 1-64 characters of letters, digits or '_ . @ -'.", out entries, out error);
            }

            if (key.Length < MinKeyLength)
            {
                return Fail($"{variable} entry {position}: keys must be at least {MinKeyLength} characters.", out entries, out error);
            }

            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
            if (list.Any(e => CryptographicOperations.FixedTimeEquals(e.Hash, hash)))
            {
                return Fail($"{variable} entry {position}: the same key is listed twice.", out entries, out error);
            }

            list.Add(new Entry(name ?? "key-" + Convert.ToHexStringLower(hash, 0, 4), hash));
        }

        entries = [.. list];
        error = null;
        return true;
    }

    private static bool Fail(string message, out Entry[] entries, out string? error)
    {
        entries = [];
        error = message;
        return false;
    }

    /// <summary>A key's identity and SHA-256, and whether it carries the operator (admin) permission.</summary>
    internal sealed record Entry(string Identity, byte[] Hash, bool Admin = false);
}
