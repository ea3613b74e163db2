namespace Hokusai.Contracts;

/// <summary>A funded account of the dev chain (one of anvil's well-known development keys).</summary>
/// <param name="Address">EIP-55 address.</param>
/// <param name="PrivateKey">Hex private key with 0x. Public knowledge; never use it on a real network.</param>
public sealed record DevChainAccount(string Address, string PrivateKey)
{
    /// <summary>The address only.</summary>
    public override string ToString() => Address;
}
