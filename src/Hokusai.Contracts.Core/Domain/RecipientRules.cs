namespace Hokusai.Contracts;

/// <summary>
/// Which addresses may receive a model's tokens. Minting to the zero address reverts (<c>ZeroAddress</c>)
/// only after the token is deployed and registered, which would leave the model id taken by a failed
/// job; tokens sent to the service's own contracts or to a precompile are lost for good. So such
/// recipients are refused when the request is accepted, before anything is spent.
/// </summary>
internal static class RecipientRules
{
    /// <summary>Highest precompile address known on Ethereum (0x01–0x11 after Prague); 0x100 is P-256 verification (RIP-7212).</summary>
    internal const int HighestPrecompile = 0x11;

    private const int P256Precompile = 0x100;

    /// <summary>
    /// Why <paramref name="address"/> (0x + 40 hex digits, any case) cannot receive tokens, or null when it can.
    /// </summary>
    /// <param name="address">The recipient.</param>
    /// <param name="chain">The chain settings naming the registry and the manager.</param>
    /// <returns>A sentence naming the problem, or null.</returns>
    internal static string? Problem(string address, ChainOptions? chain)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!EthereumAddress.HasValidFormat(address))
        {
            return "must be 0x followed by 40 hex digits";
        }

        var hex = address.AsSpan(2);
        // Addresses below 2^16 are the zero address and the precompile range; none is an account.
        if (hex[..36].IndexOfAnyExcept('0') < 0)
        {
            var value = Convert.ToInt32(hex[36..].ToString(), 16);
            if (value == 0)
            {
                return "must not be the zero address (tokens minted there are destroyed)";
            }

            if (value <= HighestPrecompile || value == P256Precompile)
            {
                return "must not be a precompiled contract address";
            }
        }

        if (chain?.ModelRegistryAddress is { } registry && Same(address, registry))
        {
            return "must not be the ModelRegistry contract";
        }

        if (chain?.TokenManagerAddress is { } manager && Same(address, manager))
        {
            return "must not be the TokenManager contract";
        }

        return null;
    }

    private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
