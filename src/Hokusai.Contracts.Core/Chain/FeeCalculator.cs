using System.Globalization;
using System.Numerics;

namespace Hokusai.Contracts.Chain;

/// <summary>The fee fields of one transaction.</summary>
/// <param name="IsEip1559">Type-2 (EIP-1559) when true, legacy otherwise.</param>
/// <param name="MaxFeePerGas">EIP-1559 max fee per gas (wei); 0 for legacy.</param>
/// <param name="MaxPriorityFeePerGas">EIP-1559 tip (wei); 0 for legacy.</param>
/// <param name="GasPrice">Legacy gas price (wei); 0 for EIP-1559.</param>
/// <param name="RequiredPerGas">What inclusion needs now: base fee + tip, or the legacy gas price.</param>
internal readonly record struct FeeQuote(bool IsEip1559, BigInteger MaxFeePerGas, BigInteger MaxPriorityFeePerGas, BigInteger GasPrice, BigInteger RequiredPerGas);

/// <summary>Network fee inputs as read from the node.</summary>
/// <param name="BaseFeePerGas">Latest block's base fee; null on a chain without EIP-1559.</param>
/// <param name="PriorityFeePerGas">Suggested tip.</param>
/// <param name="GasPrice">Suggested legacy gas price.</param>
internal readonly record struct NetworkFees(BigInteger? BaseFeePerGas, BigInteger PriorityFeePerGas, BigInteger GasPrice);

/// <summary>Fee arithmetic, free of I/O so it can be tested on its own.</summary>
internal static class FeeCalculator
{
    internal static readonly BigInteger WeiPerGwei = 1_000_000_000;

    /// <summary>
    /// Prices a transaction. EIP-1559: max fee = 2 × base fee + tip (room for base-fee growth over a
    /// few blocks), lowered to the cap when one is set but never below base fee + tip. Returns null
    /// when even the minimum needed for inclusion is above the cap: the caller waits rather than
    /// underpricing.
    /// </summary>
    internal static FeeQuote? Quote(NetworkFees fees, BigInteger capWei)
    {
        if (fees.BaseFeePerGas is { } baseFee)
        {
            var tip = BigInteger.Max(fees.PriorityFeePerGas, BigInteger.Zero);
            var required = baseFee + tip;
            if (capWei > 0 && required > capWei)
            {
                return null;
            }

            var maxFee = (baseFee * 2) + tip;
            if (capWei > 0 && maxFee > capWei)
            {
                maxFee = capWei;
            }

            return new FeeQuote(true, maxFee, tip, BigInteger.Zero, required);
        }

        if (capWei > 0 && fees.GasPrice > capWei)
        {
            return null;
        }

        return new FeeQuote(false, BigInteger.Zero, BigInteger.Zero, fees.GasPrice, fees.GasPrice);
    }

    /// <summary>What inclusion needs now, for reporting why the engine waits.</summary>
    internal static BigInteger Required(NetworkFees fees) =>
        fees.BaseFeePerGas is { } baseFee ? baseFee + BigInteger.Max(fees.PriorityFeePerGas, BigInteger.Zero) : fees.GasPrice;

    /// <summary>Gas limit = estimate × multiplier, rounded up.</summary>
    internal static BigInteger GasLimit(BigInteger estimate, decimal multiplier)
    {
        if (multiplier < 1m)
        {
            multiplier = 1m;
        }

        // Multiplier as a fraction of thousandths keeps the arithmetic exact in integers.
        var thousandths = new BigInteger(decimal.Round(multiplier * 1000m, 0, MidpointRounding.AwayFromZero));
        return ((estimate * thousandths) + 999) / 1000;
    }

    internal static BigInteger GweiToWei(decimal gwei) =>
        gwei <= 0 ? BigInteger.Zero : new BigInteger(decimal.Round(gwei * 1_000_000_000m, 0, MidpointRounding.ToZero));

    internal static string FormatGwei(BigInteger wei)
    {
        var gwei = (decimal)wei / 1_000_000_000m;
        return gwei.ToString("0.#########", CultureInfo.InvariantCulture);
    }
}
