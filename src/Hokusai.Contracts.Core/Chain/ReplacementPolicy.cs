using System.Globalization;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// When a sent transaction that is not mined is replaced (<c>REPLACE_AFTER</c>): after a number of blocks on top of
/// the head it was sent at, or after a time. Blocks suit chains with a steady block time (a stuck transaction is one
/// that missed blocks that did happen); seconds suit chains whose blocks only appear with traffic (anvil/hardhat
/// automine, Arbitrum), where a block count would never be reached.
/// </summary>
internal readonly record struct ReplacementPolicy(ulong Blocks, TimeSpan Time)
{
    internal const ulong MaxBlocks = 10_000;

    internal static readonly TimeSpan MaxTime = TimeSpan.FromDays(1);

    /// <summary>Used for chain ids the table below does not know: two minutes, the setting's default before blocks existed.</summary>
    internal static readonly ReplacementPolicy Fallback = new(0, TimeSpan.FromMinutes(2));

    internal static readonly ReplacementPolicy Off = new(0, TimeSpan.Zero);

    /// <summary>
    /// Defaults by chain id, chosen as roughly two to three minutes of that chain's blocks (a fee spike usually
    /// passes within that, and replacing sooner mostly pays more for nothing), in seconds where blocks have no
    /// steady time. The README's table is this one.
    /// </summary>
    internal static readonly IReadOnlyList<(long ChainId, string Name, ReplacementPolicy Policy)> Defaults =
    [
        (1, "Ethereum mainnet", new(15, TimeSpan.Zero)),
        (11155111, "Sepolia", new(15, TimeSpan.Zero)),
        (17000, "Holesky", new(15, TimeSpan.Zero)),
        (10, "OP Mainnet", new(60, TimeSpan.Zero)),
        (8453, "Base", new(60, TimeSpan.Zero)),
        (84532, "Base Sepolia", new(60, TimeSpan.Zero)),
        (137, "Polygon PoS", new(60, TimeSpan.Zero)),
        (42161, "Arbitrum One", new(0, TimeSpan.FromSeconds(60))),
        (421614, "Arbitrum Sepolia", new(0, TimeSpan.FromSeconds(60))),
        (31337, "anvil / hardhat", new(0, TimeSpan.FromSeconds(30))),
    ];

    internal bool IsOff => Blocks == 0 && Time <= TimeSpan.Zero;

    /// <summary>The default for <paramref name="chainId"/>, or <see cref="Fallback"/> when the chain is unknown (or its id is).</summary>
    internal static ReplacementPolicy ForChain(long? chainId)
    {
        foreach (var (id, _, policy) in Defaults)
        {
            if (id == chainId)
            {
                return policy;
            }
        }

        return Fallback;
    }

    /// <summary>
    /// Parses <c>REPLACE_AFTER</c>: unset or <c>auto</c> → null (the chain's default); <c>0</c>/<c>off</c> → never;
    /// <c>12b</c> (or <c>12 blocks</c>) → blocks; <c>90s</c>, <c>2m</c>, a bare <c>90</c> (seconds) or a TimeSpan
    /// (<c>00:01:30</c>) → time. On failure <paramref name="error"/> completes "REPLACE_AFTER …".
    /// </summary>
    internal static bool TryParse(string? text, out ReplacementPolicy? policy, out string error)
    {
        policy = null;
        error = "";
        var value = text?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(value) || value == "auto")
        {
            return true;
        }

        if (value is "0" or "off" or "never")
        {
            policy = Off;
            return true;
        }

        const string Rule = "must be a number of blocks (e.g. 12b), a duration (e.g. 90s, 2m, or 90 for seconds) up to one day, 0 or off to never replace, or unset for the chain's default.";
        string? blocks = value.EndsWith("blocks", StringComparison.Ordinal) ? value[..^6]
            : value.EndsWith('b') ? value[..^1]
            : null;
        if (blocks is not null)
        {
            if (ulong.TryParse(blocks.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is > 0 and <= MaxBlocks)
            {
                policy = new ReplacementPolicy(count, TimeSpan.Zero);
                return true;
            }

            error = Rule;
            return false;
        }

        TimeSpan time;
        if (value.Contains(':', StringComparison.Ordinal))
        {
            if (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out time))
            {
                error = Rule;
                return false;
            }
        }
        else
        {
            var (number, unit) = value.EndsWith('s') ? (value[..^1], 1d)
                : value.EndsWith('m') ? (value[..^1], 60d)
                : (value, 1d);
            if (!double.TryParse(number.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) || double.IsInfinity(amount))
            {
                error = Rule;
                return false;
            }

            time = TimeSpan.FromSeconds(Math.Min(amount * unit, MaxTime.TotalSeconds + 1));
        }

        if (time < TimeSpan.Zero || time > MaxTime)
        {
            error = Rule;
            return false;
        }

        policy = time == TimeSpan.Zero ? Off : new ReplacementPolicy(0, time);
        return true;
    }

    /// <summary>"15 blocks", "30 s" or "off", for logs and the health report.</summary>
    public override string ToString() =>
        IsOff ? "off"
        : Blocks > 0 ? string.Create(CultureInfo.InvariantCulture, $"{Blocks} blocks")
        : string.Create(CultureInfo.InvariantCulture, $"{Time.TotalSeconds:0.###} s");
}
