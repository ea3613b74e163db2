using System.Numerics;
using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>Fee-cap behaviour on a chain of its own, so the base fee is anvil's fresh 1 gwei.</summary>
public sealed class FeeCapTests(DevChainFixture fixture) : IClassFixture<DevChainFixture>
{
    private static decimal BelowGwei(BigInteger wei) => (decimal)(wei / 2) / 1_000_000_000m;

    [Fact]
    public async Task PrepareTokenDeployment_FeeAboveCap_WaitsReportsThenProceedsWhenCapRaised()
    {
        var baseFee = await fixture.Rpc.BaseFeeAsync();
        var options = fixture.Options(o => o.MaxGasPriceGwei = BelowGwei(baseFee));
        var client = fixture.CreateClient(options);
        var progress = new WaitingProgress();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var prepare = client.PrepareTokenDeploymentAsync("Capped", "CAP", progress, timeout.Token);
        await progress.Waiting.WaitAsync(timeout.Token);
        await Task.Delay(300);
        Assert.False(prepare.IsCompleted);
        var waiting = progress.Reports.Single(r => r.StartsWith("Waiting for gas", StringComparison.Ordinal));
        Assert.Contains("MAX_GAS_PRICE_GWEI", waiting, StringComparison.Ordinal);

        options.MaxGasPriceGwei = 1000m;
        var transaction = await prepare;
        await client.BroadcastAsync(transaction, timeout.Token);
        var receipt = await client.WaitForReceiptAsync(transaction.Hash, null, timeout.Token);

        Assert.True(receipt.Succeeded);
        Assert.True(receipt.EffectiveGasPrice >= baseFee);
        Assert.Contains(progress.Reports, r => r.Contains("within the cap", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PrepareTokenDeployment_FeeAboveCapAndCancelled_EndsWaitWithoutSigning()
    {
        var baseFee = await fixture.Rpc.BaseFeeAsync();
        var client = fixture.CreateClient(o => o.MaxGasPriceGwei = BelowGwei(baseFee));
        var progress = new WaitingProgress();
        using var cancel = new CancellationTokenSource();

        var prepare = client.PrepareTokenDeploymentAsync("Capped", "CAP", progress, cancel.Token);
        await progress.Waiting.WaitAsync(TimeSpan.FromSeconds(30));
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => prepare);
        Assert.DoesNotContain(progress.Reports, r => r.StartsWith("Signed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PrepareTokenDeployment_CapBetweenNeededAndDefaultMaxFee_SignsAtCap()
    {
        var baseFee = await fixture.Rpc.BaseFeeAsync();
        // Above base fee + tip (1 gwei on anvil) but below 2 x base fee + tip.
        var capWei = baseFee + FeeCalculator.WeiPerGwei + (baseFee / 2);
        var client = fixture.CreateClient(o => o.MaxGasPriceGwei = (decimal)capWei / 1_000_000_000m);
        var progress = new RecordingProgress();

        var transaction = await client.PrepareTokenDeploymentAsync("AtCap", "AC", progress, CancellationToken.None);
        await client.BroadcastAsync(transaction, CancellationToken.None);
        var receipt = await client.WaitForReceiptAsync(transaction.Hash, null, CancellationToken.None);

        Assert.True(receipt.Succeeded);
        Assert.True(receipt.EffectiveGasPrice <= capWei);
        Assert.Contains(progress.Reports, r => r.Contains($"max fee {FeeCalculator.FormatGwei(capWei)} gwei", StringComparison.Ordinal));
    }

    private sealed class WaitingProgress : IProgress<string>
    {
        private readonly RecordingProgress _inner = new();
        private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Waiting => _waiting.Task;

        public IReadOnlyList<string> Reports => _inner.Reports;

        public void Report(string value)
        {
            _inner.Report(value);
            if (value.StartsWith("Waiting for gas", StringComparison.Ordinal))
            {
                _waiting.TrySetResult();
            }
        }
    }
}
