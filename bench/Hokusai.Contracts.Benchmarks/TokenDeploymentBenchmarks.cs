using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Hokusai.Contracts;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Logging.Abstractions;
using Nethereum.RPC.NonceServices;
using Nethereum.RPC.TransactionReceipts;
using Nethereum.Web3;
using Nethereum.Web3.Accounts;

namespace Hokusai.Contracts.Benchmarks;

/// <summary>
/// Token deployments per second on a local anvil, from one key: through the chain engine
/// (prepare in parallel, broadcast, wait for receipts) against the same transactions sent with plain
/// Nethereum (contract deployment handler, in-memory nonces, receipt polling). Each operation deploys
/// <see cref="BatchSize"/> tokens concurrently; both sides poll receipts every 100 ms.
/// Run: <c>dotnet run -c Release --project bench/Hokusai.Contracts.Benchmarks -- --filter '*TokenDeployment*'</c>
/// </summary>
[Config(typeof(Config))]
public class TokenDeploymentBenchmarks
{
    public const int BatchSize = 25;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private DevChain _chain = null!;
    private NethereumChainClient _engine = null!;
    private Web3 _raw = null!;
    private int _counter;

    [GlobalSetup]
    public void Setup()
    {
        _chain = DevChain.StartAsync(null, CancellationToken.None).GetAwaiter().GetResult();
        var options = new HokusaiContractsOptions();
        _chain.ApplyTo(options);
        options.Chain.ReceiptPollInterval = PollInterval;
        _engine = new NethereumChainClient(options.Chain, NullLoggerFactory.Instance, TimeProvider.System);

        // The raw side signs with another funded key so the two nonce sequences stay apart.
        var account = new Account(_chain.TestAccounts[0].PrivateKey, _chain.ChainId);
        _raw = new Web3(account, _chain.RpcUrl);
        account.NonceService = new InMemoryNonceService(account.Address, _raw.Client);
        _raw.TransactionManager.TransactionReceiptService = new TransactionReceiptPollingService(_raw.TransactionManager, (int)PollInterval.TotalMilliseconds);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        _chain.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "Engine")]
    public async Task<int> Engine()
    {
        var receipts = await Task.WhenAll(Enumerable.Range(0, BatchSize).Select(async _ =>
        {
            var n = Interlocked.Increment(ref _counter);
            var transaction = await _engine.PrepareTokenDeploymentAsync($"Token {n}", $"T{n}", null, CancellationToken.None);
            await _engine.BroadcastAsync(transaction, CancellationToken.None);
            return await _engine.WaitForReceiptAsync(transaction.Hash, null, CancellationToken.None);
        }));
        return receipts.Count(r => r.Succeeded);
    }

    [Benchmark(Baseline = true, Description = "Raw Nethereum")]
    public async Task<int> RawNethereum()
    {
        var handler = _raw.Eth.GetContractDeploymentHandler<HokusaiTokenDeployment>();
        var receipts = await Task.WhenAll(Enumerable.Range(0, BatchSize).Select(async _ =>
        {
            var n = Interlocked.Increment(ref _counter);
            var message = new HokusaiTokenDeployment { Name = $"Token {n}", Symbol = $"T{n}", Controller = _chain.TokenManagerAddress };
            return await handler.SendRequestAndWaitForReceiptAsync(message);
        }));
        return receipts.Count(r => r.Status.Value == 1);
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default
                .WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1)
                .WithWarmupCount(2)
                .WithIterationCount(20)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithId("anvil"));
            AddColumn(new DeploymentsPerSecondColumn());
            AddColumnProvider(DefaultColumnProviders.Instance);
        }
    }

    /// <summary>Throughput: deployments in a batch divided by the mean batch time.</summary>
    private sealed class DeploymentsPerSecondColumn : IColumn
    {
        public string Id => nameof(DeploymentsPerSecondColumn);
        public string ColumnName => "Deploys/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Token deployments per second (batch size / mean batch time)";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return mean is > 0 ? (BatchSize / (mean.Value / 1e9)).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : "-";
        }

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
    }
}
