using System.Text;
using Hokusai.Contracts.Chain;
using Nethereum.Contracts.MessageEncodingServices;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Util;

namespace Hokusai.Contracts.Tests.Chain;

public sealed class TokenAddressPredictorTests
{
    private const string Manager = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    [Theory]
    [InlineData("model-1", "Hokusai model-1", "HKMODEL1")]
    [InlineData("m", "", "")]
    [InlineData("exactly-32-bytes-of-name-padding", "exactly-32-bytes-of-name-padding", "SYM")]
    [InlineData("long-name", "A token name that is well over thirty-two bytes long, so it takes three words", "LONGSYMBOLNAME")]
    [InlineData("unicode", "Hokusai 北斎 トークン", "北斎")]
    public void Predict_AnyNameAndSymbol_EqualsTheHashOfTheFullEncodedInitCode(string modelId, string name, string symbol)
    {
        var predicted = TokenAddressPredictor.Predict(Manager, modelId, name, symbol);

        Assert.Equal(Reference(Manager, modelId, name, symbol), predicted);
    }

    [Fact]
    public void Predict_ManagerWithoutPrefixOrInLowerCase_SameAddress()
    {
        var expected = TokenAddressPredictor.Predict(Manager, "model-1", "N", "S");

        Assert.Equal(expected, TokenAddressPredictor.Predict(Manager.ToLowerInvariant(), "model-1", "N", "S"));
        Assert.Equal(expected, TokenAddressPredictor.Predict(Manager[2..], "model-1", "N", "S"));
    }

    [Fact]
    public void Predict_ManagerNotTwentyBytes_Throws()
    {
        Assert.Throws<ArgumentException>(() => TokenAddressPredictor.Predict("0x1234", "model-1", "N", "S"));
    }

    /// <summary>The CREATE2 address computed the long way: Nethereum's ABI encoding of the whole init code, hashed whole.</summary>
    private static string Reference(string manager, string modelId, string name, string symbol)
    {
        var initCode = new DeploymentMessageEncodingService<HokusaiTokenDeployment>()
            .GetDeploymentData(new HokusaiTokenDeployment { Name = name, Symbol = symbol, Controller = manager })
            .HexToByteArray();
        var keccak = Sha3Keccack.Current;
        var preimage = new byte[1 + 20 + 32 + 32];
        preimage[0] = 0xff;
        manager.HexToByteArray().CopyTo(preimage, 1);
        keccak.CalculateHash(Encoding.UTF8.GetBytes(modelId)).CopyTo(preimage, 21);
        keccak.CalculateHash(initCode).CopyTo(preimage, 53);
        return AddressUtil.Current.ConvertToChecksumAddress(keccak.CalculateHash(preimage)[12..].ToHex(true));
    }
}

public sealed class ChecksumAddressTests
{
    [Fact]
    public void ToChecksum_RandomAddresses_MatchNethereumsEip55()
    {
        var random = new Random(55);
        var bytes = new byte[20];
        for (var i = 0; i < 200; i++)
        {
            random.NextBytes(bytes);
            var lower = Convert.ToHexStringLower(bytes);
            var expected = AddressUtil.Current.ConvertToChecksumAddress("0x" + lower);

            Assert.Equal(expected, EthereumAddress.ToChecksum(lower));
            Assert.Equal(expected, EthereumAddress.ToChecksum(lower.ToUpperInvariant()));
            Assert.Equal(expected, TokenAddressPredictor.ChecksumAddress(bytes));
        }
    }
}
