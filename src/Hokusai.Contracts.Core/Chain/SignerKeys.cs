using System.Globalization;
using Nethereum.Signer;

namespace Hokusai.Contracts.Chain;

/// <summary>One key of the signer pool.</summary>
/// <param name="Index">Its place in the pool (0 is <c>DEPLOYER_PRIVATE_KEY</c> when set, else the first of <c>DEPLOYER_PRIVATE_KEYS</c>).</param>
/// <param name="PrivateKey">The key itself; never logged (<see cref="ToString"/> leaves it out).</param>
/// <param name="Address">Its address (EIP-55).</param>
internal sealed record SignerKey(int Index, string PrivateKey, string Address)
{
    /// <summary>Names the key by place and address only.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"key {Index} ({Address})");
}

/// <summary>
/// Reads the signer pool from <c>DEPLOYER_PRIVATE_KEY</c> and <c>DEPLOYER_PRIVATE_KEYS</c>. Every failure names the
/// setting (in the canonical form the options validation rewrites to what the caller set), the entry's place and,
/// once the key parses, its address, never the value (keys are secrets).
/// </summary>
internal static class SignerKeys
{
    private const string Single = "DEPLOYER_PRIVATE_KEY (HokusaiContracts:Chain:DeployerPrivateKey)";
    private const string List = "DEPLOYER_PRIVATE_KEYS";
    private const string ListKey = "HokusaiContracts:Chain:DeployerPrivateKeys";

    /// <summary>The pool's keys in order and what is wrong with the settings (empty when the pool is usable).</summary>
    public static (IReadOnlyList<SignerKey> Keys, IReadOnlyList<string> Failures) Parse(ChainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keys = new List<SignerKey>();
        var failures = new List<string>();
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        if (!string.IsNullOrWhiteSpace(options.DeployerPrivateKey))
        {
            if (TryAddress(options.DeployerPrivateKey, out var address))
            {
                keys.Add(new SignerKey(0, Normalise(options.DeployerPrivateKey), address));
                seen[address] = Single;
            }
            else
            {
                failures.Add($"{Single} must be 32 bytes of hex (the value is not shown).");
            }
        }

        for (var i = 0; i < options.DeployerPrivateKeys.Count; i++)
        {
            var entry = options.DeployerPrivateKeys[i];
            var name = string.Create(CultureInfo.InvariantCulture, $"{List} entry {i} ({ListKey}:{i})");
            if (string.IsNullOrWhiteSpace(entry) || !TryAddress(entry, out var address))
            {
                failures.Add($"{name} must be 32 bytes of hex (the value is not shown).");
                continue;
            }

            if (seen.TryGetValue(address, out var first))
            {
                // The single key repeated in the list is the documented way to migrate; a repeat within the list is a mistake.
                if (first != Single)
                {
                    failures.Add($"{name} repeats {first}: both are the key of {address}; list each key once.");
                }

                continue;
            }

            seen[address] = name;
            keys.Add(new SignerKey(keys.Count, Normalise(entry), address));
        }

        if (keys.Count == 0 && failures.Count == 0)
        {
            failures.Add($"{Single} is required (or {List} ({ListKey}), a list of keys).");
        }

        return (keys, failures);
    }

    /// <summary>The pool's keys, throwing with every failure's message when the settings are not usable.</summary>
    public static IReadOnlyList<SignerKey> Require(ChainOptions options)
    {
        var (keys, failures) = Parse(options);
        return failures.Count == 0 ? keys : throw new InvalidOperationException(string.Join(" ", failures));
    }

    private static string Normalise(string key) => key.Trim();

    private static bool TryAddress(string key, out string address)
    {
        address = string.Empty;
        var text = key.Trim();
        var hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        try
        {
            address = new EthECKey(text).GetPublicAddress();
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            // Zero or above the curve order: not a key. The text must not reach a message.
            return false;
        }
    }
}
