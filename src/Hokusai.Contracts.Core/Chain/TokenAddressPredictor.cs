using System.Text;
using Nethereum.Contracts.MessageEncodingServices;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Util;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// Computes, without any RPC, the CREATE2 address <c>TokenManager.deployToken</c> creates a model's token at:
/// salt = keccak256(modelId), init code = the embedded <c>HokusaiToken</c> bytecode with
/// (name, symbol, manager) as constructor arguments. Equal to the manager's <c>predictTokenAddress</c>
/// whenever the manager was built from the same contract sources.
/// </summary>
public static class TokenAddressPredictor
{
    /// <summary>The EIP-55 address of the token of <paramref name="modelId"/> deployed through <paramref name="tokenManagerAddress"/>.</summary>
    public static string Predict(string tokenManagerAddress, string modelId, string name, string symbol)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenManagerAddress);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(symbol);
        var initCode = new DeploymentMessageEncodingService<HokusaiTokenDeployment>()
            .GetDeploymentData(new HokusaiTokenDeployment { Name = name, Symbol = symbol, Controller = tokenManagerAddress })
            .HexToByteArray();
        var keccak = Sha3Keccack.Current;
        var salt = keccak.CalculateHash(Encoding.UTF8.GetBytes(modelId));
        var preimage = new byte[1 + 20 + 32 + 32];
        preimage[0] = 0xff;
        tokenManagerAddress.HexToByteArray().CopyTo(preimage, 1);
        salt.CopyTo(preimage, 21);
        keccak.CalculateHash(initCode).CopyTo(preimage, 53);
        var hash = keccak.CalculateHash(preimage);
        return AddressUtil.Current.ConvertToChecksumAddress(hash[12..].ToHex(true));
    }
}

/// <summary>What factory mode needs on chain, as read by <see cref="IChainClient.GetFactorySupportAsync"/>.</summary>
/// <param name="ManagerHasFactory">The manager answers <c>predictTokenAddress</c> with the address this build predicts.</param>
/// <param name="ManagerIsRegistrar">The registry lets the manager register (<c>isRegistrar</c>).</param>
/// <param name="DeployerHasRole">The signing key holds <c>DEPLOYER_ROLE</c> on the manager.</param>
/// <param name="Detail">Why factory mode is unavailable, when it is.</param>
public sealed record FactorySupport(bool ManagerHasFactory, bool ManagerIsRegistrar, bool DeployerHasRole, string? Detail = null)
{
    /// <summary>True when every condition holds.</summary>
    public bool Available => ManagerHasFactory && ManagerIsRegistrar && DeployerHasRole;

    /// <summary>Human-readable summary of the three conditions.</summary>
    public string Describe() => Available
        ? "the TokenManager has deployToken, is a registrar of the ModelRegistry, and the key holds DEPLOYER_ROLE"
        : Detail ?? string.Join("; ", new[]
        {
            ManagerHasFactory ? null : "the TokenManager has no deployToken (or its token bytecode differs from this build)",
            ManagerIsRegistrar ? null : "the TokenManager is not a registrar of the ModelRegistry",
            DeployerHasRole ? null : "the key does not hold DEPLOYER_ROLE on the TokenManager",
        }.Where(s => s is not null));
}
