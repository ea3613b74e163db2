using System.Numerics;
using System.Text.Json;
using Hokusai.Contracts.AspNetCore.Http;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class ValidationTests
{
    private const string Address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    private static DeploymentRequest? Validate(string json, out IReadOnlyList<FieldError> errors)
    {
        using var document = JsonDocument.Parse(json);
        return DeploymentRequestValidator.Validate(document.RootElement, "accuracy", out errors);
    }

    [Theory]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359")]
    [InlineData("0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB")]
    [InlineData("0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb")]
    public void EthereumAddress_Eip55Vectors_AreAcceptedUnchangedAndFromLowerCase(string checksummed)
    {
        Assert.Equal(EthereumAddress.Problem.None, EthereumAddress.TryNormalize(checksummed, out var same));
        Assert.Equal(checksummed, same);
        Assert.Equal(EthereumAddress.Problem.None, EthereumAddress.TryNormalize(checksummed.ToLowerInvariant(), out var fromLower));
        Assert.Equal(checksummed, fromLower);
        Assert.Equal(EthereumAddress.Problem.None, EthereumAddress.TryNormalize("0x" + checksummed[2..].ToUpperInvariant(), out var fromUpper));
        Assert.Equal(checksummed, fromUpper);
    }

    [Theory]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")]
    [InlineData("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData("0xFb6916095ca1df60bB79Ce92cE3Ea74c37c5d359")]
    public void EthereumAddress_WrongMixedCaseChecksum_IsRejected(string address)
    {
        Assert.Equal(EthereumAddress.Problem.Checksum, EthereumAddress.TryNormalize(address, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe")]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd")]
    [InlineData("0xZaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData(" 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe")]
    public void EthereumAddress_BadFormat_IsRejected(string address)
    {
        Assert.Equal(EthereumAddress.Problem.Format, EthereumAddress.TryNormalize(address, out _));
    }

    [Theory]
    [InlineData("model-1", "HKMODEL1")]
    [InlineData("sentiment_v2-beta", "HKSENTIMEN")]
    [InlineData("abc", "HKABC")]
    [InlineData("___", "HK")]
    [InlineData("a-b_c-d", "HKABCD")]
    public void DefaultTokenSymbol_IsHkPlusUpperCasedAlphanumericsMax10(string modelId, string expected)
    {
        Assert.Equal(expected, DeploymentRequestValidator.DefaultTokenSymbol(modelId));
    }

    [Fact]
    public void DefaultTokenName_LongModelId_IsCutTo50Characters()
    {
        var modelId = new string('m', 64);

        var name = DeploymentRequestValidator.DefaultTokenName(modelId);

        Assert.Equal(50, name.Length);
        Assert.StartsWith("Hokusai mmm", name);
    }

    [Fact]
    public void DefaultTokenName_CutEndingInSpace_IsTrimmed()
    {
        var name = DeploymentRequestValidator.DefaultTokenName(new string('m', 41) + "_x");

        Assert.Equal("Hokusai " + new string('m', 41) + "_", name);
    }

    [Theory]
    [InlineData("modelId", "\"model\\n\"")]
    [InlineData("tokenName", "\"Name\\n\"")]
    [InlineData("tokenSymbol", "\"SYM\\n\"")]
    [InlineData("initialSupply", "\"10\\n\"")]
    [InlineData("performanceMetric", "\"f1\\n\"")]
    public void Validate_TrailingNewline_IsRejected(string field, string jsonValue)
    {
        var json = field == "modelId"
            ? $$"""{"modelId":{{jsonValue}},"userAddress":"{{Address}}"}"""
            : $$"""{"modelId":"m","userAddress":"{{Address}}","{{field}}":{{jsonValue}}}""";

        var request = Validate(json, out var errors);

        Assert.Null(request);
        Assert.Equal(field, Assert.Single(errors).Field);
    }

    [Fact]
    public void Validate_NumericInitialSupply_IsAccepted()
    {
        var request = Validate($$"""{"modelId":"m","userAddress":"{{Address}}","initialSupply":1000000}""", out _);

        Assert.Equal(new BigInteger(1_000_000), request!.InitialSupply);
    }

    [Theory]
    [InlineData("1e6")]
    [InlineData("-5")]
    [InlineData("1.0")]
    public void Validate_NonIntegerNumericInitialSupply_IsRejected(string raw)
    {
        var request = Validate($$"""{"modelId":"m","userAddress":"{{Address}}","initialSupply":{{raw}}}""", out var errors);

        Assert.Null(request);
        Assert.Equal("initialSupply", Assert.Single(errors).Field);
    }

    [Fact]
    public void Validate_NullOptionalFields_UseDefaults()
    {
        var request = Validate($$"""{"modelId":"m","userAddress":"{{Address}}","tokenName":null,"tokenSymbol":null,"initialSupply":null,"metadata":null}""", out _);

        Assert.Equal("Hokusai m", request!.TokenName);
        Assert.Equal("HKM", request.TokenSymbol);
        Assert.Null(request.Metadata);
    }

    [Fact]
    public void Validate_TooManyTags_IsRejected()
    {
        var tags = string.Join(",", Enumerable.Range(0, 21).Select(i => $"\"t{i}\":\"v\""));

        var request = Validate($$"""{"modelId":"m","userAddress":"{{Address}}","metadata":{"tags":{ {{tags}} } } }""", out var errors);

        Assert.Null(request);
        Assert.Equal("metadata.tags", Assert.Single(errors).Field);
    }

    [Fact]
    public void RequestHash_SameRequest_IsStableAndHex()
    {
        var a = Validate($$"""{"modelId":"m","userAddress":"{{Address}}","metadata":{"tags":{"a":"1","b":"2"} } }""", out _)!;
        var b = Validate($$"""{"metadata":{"tags":{"b":"2","a":"1"} },"userAddress":"{{Address.ToLowerInvariant()}}","modelId":"m","tokenSymbol":"HKM"}""", out _)!;

        Assert.Equal(RequestHasher.Hash(a), RequestHasher.Hash(b));
        Assert.Matches("^[0-9a-f]{64}$", RequestHasher.Hash(a));
    }

    [Theory]
    [InlineData(""","tokenName":"Other" """)]
    [InlineData(""","initialSupply":"1" """)]
    [InlineData(""","performanceMetric":"f1" """)]
    [InlineData(""","metadata":{"description":"x"}""")]
    [InlineData(""","metadata":{}""")]
    public void RequestHash_AnyFieldDiffers_Differs(string extra)
    {
        var baseline = Validate($$"""{"modelId":"m","userAddress":"{{Address}}"}""", out _)!;
        var changed = Validate($$"""{"modelId":"m","userAddress":"{{Address}}"{{extra}}}""", out _)!;

        Assert.NotEqual(RequestHasher.Hash(baseline), RequestHasher.Hash(changed));
    }

    [Theory]
    [InlineData("application/json", true)]
    [InlineData("application/json; charset=utf-8", true)]
    [InlineData("APPLICATION/JSON", true)]
    [InlineData("application/problem+json", true)]
    [InlineData("text/json", false)]
    [InlineData("text/plain", false)]
    [InlineData(null, false)]
    [InlineData("", false)]
    public void JsonBodyReader_IsJson_AcceptsJsonMediaTypes(string? contentType, bool expected)
    {
        Assert.Equal(expected, JsonBodyReader.IsJson(contentType));
    }
    private static DeploymentRequest? ValidateBytes(byte[] utf8, out IReadOnlyList<FieldError> errors, ChainOptions? chain = null)
    {
        using var document = JsonDocument.Parse(utf8);
        return DeploymentRequestValidator.Validate(document.RootElement, "accuracy", out errors, chain);
    }

    [Theory]
    [InlineData("modelId")]
    [InlineData("userAddress")]
    [InlineData("tokenName")]
    [InlineData("tokenSymbol")]
    [InlineData("initialSupply")]
    [InlineData("performanceMetric")]
    public void Validate_LoneSurrogateEscape_NamesTheField(string field)
    {
        var json = $$"""{"modelId":"m-1","userAddress":"{{Address}}","{{field}}":"a\ud800b"}""";

        Assert.Null(Validate(json, out var errors));

        Assert.Contains(errors, e => e.Field == field && e.Message.Contains("Unicode", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("modelId", new byte[] { 0xff, 0xfe })]
    [InlineData("tokenName", new byte[] { 0xc3, 0x28 })]
    [InlineData("metadata.description", new byte[] { 0xed, 0xa0, 0x80 })]
    [InlineData("metadata.website", new byte[] { 0x80 })]
    [InlineData("metadata.tags.k", new byte[] { 0xf8, 0x88, 0x80, 0x80, 0x80 })]
    public void Validate_InvalidUtf8_NamesTheField(string field, byte[] bad)
    {
        var path = field.Split('.');
        var value = "\"" + System.Text.Encoding.Latin1.GetString(bad) + "\"";
        var nested = path.Length == 1 ? $"\"{field}\":{value}"
            : path.Length == 2 ? $"\"metadata\":{{\"{path[1]}\":{value}}}"
            : $"\"metadata\":{{\"tags\":{{\"k\":{value}}}}}";
        var json = $"{{\"modelId\":\"m-1\",\"userAddress\":\"{Address}\",{nested}}}";
        if (field == "modelId")
        {
            json = $"{{\"userAddress\":\"{Address}\",{nested}}}";
        }

        Assert.Null(ValidateBytes(System.Text.Encoding.Latin1.GetBytes(json), out var errors));

        Assert.Contains(errors, e => e.Field == field);
    }

    [Fact]
    public void Validate_InvalidUnicodeTagName_IsAFieldError()
    {
        Assert.Null(Validate("{\"modelId\":\"m-1\",\"userAddress\":\"" + Address + "\",\"metadata\":{\"tags\":{\"\\udc00\":\"v\"}}}", out var errors));

        Assert.Contains(errors, e => e.Field.StartsWith("metadata.tags", StringComparison.Ordinal) || e.Field == "body");
    }

    [Theory]
    [InlineData("0x0000000000000000000000000000000000000000", "zero address")]
    [InlineData("0x0000000000000000000000000000000000000001", "precompile")]
    [InlineData("0x0000000000000000000000000000000000000011", "precompile")]
    [InlineData("0x0000000000000000000000000000000000000100", "precompile")]
    [InlineData("0x5FbDB2315678afecb367f032d93F642f64180aa3", "ModelRegistry")]
    [InlineData("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", "TokenManager")]
    public void Validate_UnusableRecipient_IsRefused(string address, string reason)
    {
        var chain = new ChainOptions { ModelRegistryAddress = "0x5FbDB2315678afecb367f032d93F642f64180aa3", TokenManagerAddress = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" };

        Assert.Null(ValidateBytes(System.Text.Encoding.UTF8.GetBytes($$"""{"modelId":"m-1","userAddress":"{{address}}"}"""), out var errors, chain));

        var error = Assert.Single(errors);
        Assert.Equal("userAddress", error.Field);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0x0000000000000000000000000000000000000012")]
    [InlineData("0x0000000000000000000000000000000000010000")]
    [InlineData("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    public void Validate_OrdinaryRecipient_IsAccepted(string address)
    {
        var chain = new ChainOptions { ModelRegistryAddress = "0x5FbDB2315678afecb367f032d93F642f64180aa3", TokenManagerAddress = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" };

        Assert.NotNull(ValidateBytes(System.Text.Encoding.UTF8.GetBytes($$"""{"modelId":"m-1","userAddress":"{{address}}"}"""), out var errors, chain));
        Assert.Empty(errors);
    }
}
