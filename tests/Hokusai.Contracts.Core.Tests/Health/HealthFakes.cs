using System.Numerics;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Hosting;

namespace Hokusai.Contracts.Tests.Health;

/// <summary>An IChainClient whose status and registry calls are scripted and counted.</summary>
internal sealed class FakeChainClient : IChainClient
{
    private int _statusCalls;
    private int _registryCalls;

    public Func<CancellationToken, Task<ChainStatus>> Status { get; set; } = _ => Task.FromResult(DefaultStatus());
    public Func<CancellationToken, Task<string?>> Registry { get; set; } = _ => Task.FromResult<string?>(null);

    public int StatusCalls => Volatile.Read(ref _statusCalls);
    public int RegistryCalls => Volatile.Read(ref _registryCalls);

    public string DeployerAddress => "0x1111111111111111111111111111111111111111";

    public static ChainStatus DefaultStatus(long chainId = 31337, ulong block = 42, BigInteger? balance = null) => new()
    {
        ChainId = chainId,
        LatestBlock = block,
        DeployerAddress = "0x1111111111111111111111111111111111111111",
        DeployerBalanceWei = balance ?? BigInteger.Pow(10, 18),
        DeployerOwnsRegistry = true,
        DeployerCanMint = true,
        ActiveRpc = "http://127.0.0.1:8545",
    };

    public Task<ChainStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _statusCalls);
        return Status(cancellationToken);
    }

    public Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _registryCalls);
        return Registry(cancellationToken);
    }

    public Task<ulong> GetLatestBlockAsync(CancellationToken cancellationToken) => throw new ChainException(ChainErrorKind.Transient, "not used by health checks");
    public Task<IReadOnlyList<ModelRegistration>> GetModelRegistrationsAsync(ulong fromBlock, ulong toBlock, CancellationToken cancellationToken) => throw new ChainException(ChainErrorKind.Transient, "not used by health checks");
    public Task<PreparedTransaction> PrepareTokenDeploymentAsync(string name, string symbol, IProgress<string>? progress, CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
    public Task<PreparedTransaction> PrepareRegistrationAsync(string modelId, string tokenAddress, string performanceMetric, IProgress<string>? progress, CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
    public Task<PreparedTransaction> PrepareMintAsync(string modelId, string recipient, BigInteger amount, IProgress<string>? progress, CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
    public Task BroadcastAsync(PreparedTransaction transaction, CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
    public Task<TransactionLookup> LookupAsync(string transactionHash, CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
    public Task<ChainReceipt> WaitForReceiptAsync(string transactionHash, IProgress<string>? progress, CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
    public Task ResyncNonceAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
    public Task ReleaseNonceAsync(PreparedTransaction transaction, CancellationToken cancellationToken) => throw new InvalidOperationException("not used by health checks");
}

/// <summary>A host lifetime whose phase the test sets.</summary>
internal sealed class FakeLifetime : IHostApplicationLifetime
{
    private readonly CancellationTokenSource _started = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _stopped = new();

    public CancellationToken ApplicationStarted => _started.Token;
    public CancellationToken ApplicationStopping => _stopping.Token;
    public CancellationToken ApplicationStopped => _stopped.Token;

    public void Start() => _started.Cancel();
    public void StopApplication() => _stopping.Cancel();
}
