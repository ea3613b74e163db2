using System.Numerics;
using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Tests.Chain;

public sealed class FeeCalculatorTests
{
    private static readonly BigInteger Gwei = FeeCalculator.WeiPerGwei;

    [Fact]
    public void Quote_Eip1559WithoutCap_TwiceBaseFeePlusTip()
    {
        var quote = FeeCalculator.Quote(new NetworkFees(10 * Gwei, 2 * Gwei, 0), 0)!.Value;

        Assert.True(quote.IsEip1559);
        Assert.Equal(22 * Gwei, quote.MaxFeePerGas);
        Assert.Equal(2 * Gwei, quote.MaxPriorityFeePerGas);
        Assert.Equal(12 * Gwei, quote.RequiredPerGas);
    }

    [Fact]
    public void Quote_Eip1559CapBetweenRequiredAndDefault_MaxFeeIsCap()
    {
        var quote = FeeCalculator.Quote(new NetworkFees(10 * Gwei, 2 * Gwei, 0), 15 * Gwei)!.Value;

        Assert.Equal(15 * Gwei, quote.MaxFeePerGas);
        Assert.Equal(2 * Gwei, quote.MaxPriorityFeePerGas);
    }

    [Fact]
    public void Quote_Eip1559CapEqualsRequired_Signs()
    {
        Assert.NotNull(FeeCalculator.Quote(new NetworkFees(10 * Gwei, 2 * Gwei, 0), 12 * Gwei));
    }

    [Fact]
    public void Quote_Eip1559RequiredAboveCap_ReturnsNullToWait()
    {
        Assert.Null(FeeCalculator.Quote(new NetworkFees(10 * Gwei, 2 * Gwei, 0), 11 * Gwei));
    }

    [Fact]
    public void Quote_NegativeTip_TreatedAsZero()
    {
        var quote = FeeCalculator.Quote(new NetworkFees(10 * Gwei, -1, 0), 0)!.Value;

        Assert.Equal(BigInteger.Zero, quote.MaxPriorityFeePerGas);
        Assert.Equal(20 * Gwei, quote.MaxFeePerGas);
    }

    [Fact]
    public void Quote_LegacyChain_UsesGasPrice()
    {
        var quote = FeeCalculator.Quote(new NetworkFees(null, 0, 7 * Gwei), 0)!.Value;

        Assert.False(quote.IsEip1559);
        Assert.Equal(7 * Gwei, quote.GasPrice);
        Assert.Equal(BigInteger.Zero, quote.MaxFeePerGas);
    }

    [Fact]
    public void Quote_LegacyAboveCap_ReturnsNullToWait()
    {
        Assert.Null(FeeCalculator.Quote(new NetworkFees(null, 0, 7 * Gwei), 6 * Gwei));
        Assert.NotNull(FeeCalculator.Quote(new NetworkFees(null, 0, 7 * Gwei), 7 * Gwei));
    }

    [Theory]
    [InlineData(21000, 1.2, 25200)]
    [InlineData(100001, 1.5, 150002)]
    [InlineData(50000, 1.0, 50000)]
    [InlineData(50000, 0.5, 50000)]
    [InlineData(3, 5.0, 15)]
    public void GasLimit_EstimateTimesMultiplier_RoundedUp(long estimate, double multiplier, long expected)
    {
        Assert.Equal(new BigInteger(expected), FeeCalculator.GasLimit(estimate, (decimal)multiplier));
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("-1", "0")]
    [InlineData("1.5", "1500000000")]
    [InlineData("0.000000001", "1")]
    [InlineData("250", "250000000000")]
    public void GweiToWei_Decimal_ConvertsExactly(string gwei, string wei)
    {
        Assert.Equal(BigInteger.Parse(wei, System.Globalization.CultureInfo.InvariantCulture),
            FeeCalculator.GweiToWei(decimal.Parse(gwei, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Required_Eip1559_IsBaseFeePlusTip()
    {
        Assert.Equal(12 * Gwei, FeeCalculator.Required(new NetworkFees(10 * Gwei, 2 * Gwei, 99)));
        Assert.Equal(99, FeeCalculator.Required(new NetworkFees(null, 2 * Gwei, 99)));
    }
}
