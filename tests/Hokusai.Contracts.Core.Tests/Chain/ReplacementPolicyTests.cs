using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Core.Tests.Jobs;
using Hokusai.Contracts.Jobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Tests.Chain;

public sealed class ReplacementPolicyTests
{
    [Theory]
    [InlineData("12b", 12ul, 0d)]
    [InlineData("12 blocks", 12ul, 0d)]
    [InlineData(" 3B ", 3ul, 0d)]
    [InlineData("90s", 0ul, 90d)]
    [InlineData("1.5s", 0ul, 1.5d)]
    [InlineData("2m", 0ul, 120d)]
    [InlineData("90", 0ul, 90d)]
    [InlineData("00:01:30", 0ul, 90d)]
    [InlineData("0", 0ul, 0d)]
    [InlineData("off", 0ul, 0d)]
    [InlineData("0s", 0ul, 0d)]
    public void TryParse_ValidValue_BlocksOrSeconds(string text, ulong blocks, double seconds)
    {
        Assert.True(ReplacementPolicy.TryParse(text, out var policy, out var error), error);
        Assert.Equal(new ReplacementPolicy(blocks, TimeSpan.FromSeconds(seconds)), policy);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("auto")]
    public void TryParse_Unset_NullForTheChainDefault(string? text)
    {
        Assert.True(ReplacementPolicy.TryParse(text, out var policy, out _));
        Assert.Null(policy);
    }

    [Theory]
    [InlineData("0b")]
    [InlineData("-5")]
    [InlineData("-5s")]
    [InlineData("1.5b")]
    [InlineData("10001b")]
    [InlineData("2d")]
    [InlineData("twelve")]
    [InlineData("90x")]
    [InlineData("86401")]
    [InlineData("1e400")]
    [InlineData("1:xx")]
    public void TryParse_InvalidValue_FailsWithTheRule(string text)
    {
        Assert.False(ReplacementPolicy.TryParse(text, out _, out var error));
        Assert.Contains("number of blocks (e.g. 12b)", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1L, 15ul, 0d)]
    [InlineData(11155111L, 15ul, 0d)]
    [InlineData(10L, 60ul, 0d)]
    [InlineData(8453L, 60ul, 0d)]
    [InlineData(137L, 60ul, 0d)]
    [InlineData(42161L, 0ul, 60d)]
    [InlineData(31337L, 0ul, 30d)]
    [InlineData(424242L, 0ul, 120d)]
    public void ForChain_KnownAndUnknownChains_TheirDefault(long chainId, ulong blocks, double seconds)
    {
        Assert.Equal(new ReplacementPolicy(blocks, TimeSpan.FromSeconds(seconds)), ReplacementPolicy.ForChain(chainId));
    }

    [Fact]
    public void ForChain_ChainIdUnknown_TwoMinutes()
    {
        Assert.Equal(TimeSpan.FromMinutes(2), ReplacementPolicy.ForChain(null).Time);
    }

    [Theory]
    [InlineData(null, 1L, "15 blocks")]
    [InlineData(null, 31337L, "30 s")]
    [InlineData("", 42161L, "60 s")]
    [InlineData("7b", 1L, "7 blocks")]
    [InlineData("45s", 31337L, "45 s")]
    [InlineData("off", 1L, "off")]
    public void CurrentPolicy_SettingAndChainId_SettingWinsElseChainDefault(string? setting, long chainId, string expected)
    {
        var options = new HokusaiContractsOptions();
        options.Chain.ReplaceAfter = setting;
        options.Chain.ChainId = chainId;
        var executor = new TransactionExecutor(new FakeChainClient(), Options.Create(options), NullLogger<TransactionExecutor>.Instance);

        Assert.Equal(expected, executor.CurrentPolicy().ToString());
    }

    [Theory]
    [InlineData("12 parsecs")]
    [InlineData("-1")]
    public void Validate_BadReplaceAfter_FailsNamingTheVariable(string value)
    {
        var options = new HokusaiContractsOptions();
        options.Chain.ReplaceAfter = value;

        var result = new HokusaiContractsOptionsRulesValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("REPLACE_AFTER (HokusaiContracts:Chain:ReplaceAfter) must be a number of blocks", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8545")]
    [InlineData("not a url")]
    public void Validate_RpcWsUrlNotWs_FailsNamingTheVariable(string value)
    {
        var options = new HokusaiContractsOptions();
        options.Chain.RpcWsUrl = value;

        var result = new HokusaiContractsOptionsRulesValidator().Validate(null, options);

        Assert.Contains(result.Failures!, f => f.StartsWith("RPC_WS_URL (HokusaiContracts:Chain:RpcWsUrl)", StringComparison.Ordinal));
    }
}
