namespace Hokusai.Contracts.Tests.Registration;

/// <summary>What the HTTP layer and hosts use of Core's validation rules, through the public surface.</summary>
public sealed class PublicValidationSurfaceTests
{
    [Theory]
    [InlineData("sentiment-v2", true)]
    [InlineData("a_b-C9", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("has space", false)]
    [InlineData("ünicode", false)]
    public void IsValidModelId_Examples_MatchTheDocumentedRule(string? modelId, bool valid) =>
        Assert.Equal(valid, DeploymentRequestValidator.IsValidModelId(modelId));

    [Fact]
    public void IsValidModelId_SixtyFiveCharacters_False()
    {
        Assert.True(DeploymentRequestValidator.IsValidModelId(new string('m', 64)));
        Assert.False(DeploymentRequestValidator.IsValidModelId(new string('m', 65)));
    }

    [Theory]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", true)]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", false)]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", false)]
    [InlineData(null, null, false)]
    public void EthereumAddress_AreSame_IgnoresCaseRequiresWellFormed(string? a, string? b, bool same) =>
        Assert.Equal(same, EthereumAddress.AreSame(a, b));

    [Theory]
    [InlineData("0x0000000000000000000000000000000000000001", true)]
    [InlineData("0X00000000000000000000000000000000000000aB", true)]
    [InlineData("0x000000000000000000000000000000000000001", false)]
    [InlineData("0x000000000000000000000000000000000000000g", false)]
    public void EthereumAddress_HasValidFormat_Examples(string value, bool valid) =>
        Assert.Equal(valid, EthereumAddress.HasValidFormat(value));
}
