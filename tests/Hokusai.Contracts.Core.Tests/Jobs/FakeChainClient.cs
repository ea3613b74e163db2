using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Core.Tests.Jobs;

/// <summary>
/// A deterministic chain behind the library's own interface: transactions mine when broadcast
/// (unless told to stay pending), the registry is a dictionary, failures can be injected.
/// </summary>
internal sealed class FakeChainClient : IChainClient
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Tx> _known = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Tx> _signed = new(StringComparer.OrdinalIgnoreCase);
    private ulong _nonce;
    private ulong _chainNonce;
    private ulong _block = 1;
    private int _contracts;

    public ConcurrentDictionary<string, string> Registry { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, BigInteger> Balances { get; } = new(StringComparer.OrdinalIgnoreCase);

    public int TokensDeployed;
    public int Broadcasts;
    public int TransientFailuresLeft;
    public string? RevertRegistrationWith;
    public string? RevertMintWith;
    public bool FactoryEnabled;
    public int FactorySupportReads;
    public bool HoldReceipts;
    public bool RegistryReadFails;

    /// <summary>How a failing registry read fails.</summary>
    public ChainErrorKind RegistryReadFailure = ChainErrorKind.Transient;

    public string DeployerAddress { get; init; } = "0x00000000000000000000000000000000000000D1";

    private sealed record Tx(PreparedTransaction Prepared, string Kind, Action Apply)
    {
        public bool Mined { get; set; }
        public ulong Block { get; set; }
    }

    private void MaybeFail()
    {
        if (Interlocked.Decrement(ref TransientFailuresLeft) >= 0)
        {
            throw new ChainException(ChainErrorKind.Transient, "connection refused");
        }
    }

    private PreparedTransaction Sign(string kind, Action apply, string? contract = null)
    {
        lock (_gate)
        {
            var nonce = _nonce++;
            var hash = "0x" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
            var prepared = new PreparedTransaction(hash, "0xraw" + hash[2..], nonce, contract);
            _signed[hash] = new Tx(prepared, kind, apply);
            return prepared;
        }
    }

    public Task<PreparedTransaction> PrepareTokenDeploymentAsync(string name, string symbol, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        MaybeFail();
        var address = "0x" + (0x1000 + Interlocked.Increment(ref _contracts)).ToString("x40", CultureInfo.InvariantCulture);
        return Task.FromResult(Sign("deploy", () => Interlocked.Increment(ref TokensDeployed), address));
    }

    public Task<PreparedTransaction> PrepareRegistrationAsync(string modelId, string tokenAddress, string performanceMetric, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        MaybeFail();
        if (RevertRegistrationWith is { } reason)
        {
            throw new ChainException(ChainErrorKind.Reverted, "execution reverted", reason);
        }

        if (Registry.ContainsKey(modelId))
        {
            throw new ChainException(ChainErrorKind.Reverted, $"reverted: ModelAlreadyRegistered(\"{modelId}\")", "ModelAlreadyRegistered");
        }

        return Task.FromResult(Sign("register", () => Registry.TryAdd(modelId, tokenAddress)));
    }

    public Task<PreparedTransaction> PrepareMintAsync(string modelId, string recipient, BigInteger amount, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        MaybeFail();
        if (RevertMintWith is { } reason)
        {
            throw new ChainException(ChainErrorKind.Reverted, "reverted: " + reason, reason);
        }

        return Task.FromResult(Sign("mint", () => Balances.AddOrUpdate(recipient, amount, (_, b) => b + amount)));
    }

    public Task<FactorySupport> GetFactorySupportAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref FactorySupportReads);
        MaybeFail();
        return Task.FromResult(new FactorySupport(FactoryEnabled, FactoryEnabled, FactoryEnabled));
    }

    public string PredictTokenAddress(DeploymentRequest request) =>
        "0x" + (0xF000000 + (uint)StringComparer.Ordinal.GetHashCode(request.ModelId) % 0xFFFFFF).ToString("x40", CultureInfo.InvariantCulture);

    public Task<PreparedTransaction> PrepareFactoryDeploymentAsync(DeploymentRequest request, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        MaybeFail();
        if (Registry.TryGetValue(request.ModelId, out var existing))
        {
            throw new ChainException(ChainErrorKind.Reverted, $"reverted: ModelAlreadyHasToken(\"{request.ModelId}\", {existing})", "ModelAlreadyHasToken");
        }

        var address = PredictTokenAddress(request);
        return Task.FromResult(Sign("factory", () =>
        {
            Interlocked.Increment(ref TokensDeployed);
            Registry.TryAdd(request.ModelId, address);
            if (request.InitialSupply > 0)
            {
                Balances.AddOrUpdate(request.UserAddress, request.InitialSupply, (_, b) => b + request.InitialSupply);
            }
        }, address));
    }

    public Task BroadcastAsync(PreparedTransaction transaction, CancellationToken cancellationToken)
    {
        MaybeFail();
        lock (_gate)
        {
            Interlocked.Increment(ref Broadcasts);
            if (_known.ContainsKey(transaction.Hash))
            {
                return Task.CompletedTask;
            }

            if (!_signed.TryGetValue(transaction.Hash, out var tx))
            {
                throw new ChainException(ChainErrorKind.Permanent, "unknown raw transaction");
            }

            if (tx.Prepared.Nonce < _chainNonce)
            {
                throw new ChainException(ChainErrorKind.NonceConflict, "nonce too low");
            }

            _known[transaction.Hash] = tx;
            if (!HoldReceipts)
            {
                Mine(tx);
            }
        }

        return Task.CompletedTask;
    }

    private void Mine(Tx tx)
    {
        tx.Mined = true;
        tx.Block = _block++;
        _chainNonce = Math.Max(_chainNonce, tx.Prepared.Nonce + 1);
        tx.Apply();
    }

    /// <summary>Mines everything held back by <see cref="HoldReceipts"/>.</summary>
    public void MineAll()
    {
        lock (_gate)
        {
            foreach (var tx in _known.Values.Where(t => !t.Mined).OrderBy(t => t.Prepared.Nonce))
            {
                Mine(tx);
            }
        }
    }

    /// <summary>Simulates a node that lost a pending transaction (e.g. restarted).</summary>
    public void Forget(string hash)
    {
        lock (_gate)
        {
            _known.Remove(hash);
        }
    }

    /// <summary>Simulates another sender using nonces up to <paramref name="nonce"/>.</summary>
    public void ConsumeNoncesUpTo(ulong nonce)
    {
        lock (_gate)
        {
            _chainNonce = Math.Max(_chainNonce, nonce + 1);
        }
    }

    public Task<TransactionLookup> LookupAsync(string transactionHash, CancellationToken cancellationToken)
    {
        MaybeFail();
        lock (_gate)
        {
            if (!_known.TryGetValue(transactionHash, out var tx))
            {
                return Task.FromResult(new TransactionLookup(TransactionState.Unknown));
            }

            return Task.FromResult(tx.Mined
                ? new TransactionLookup(TransactionState.Mined, ReceiptOf(tx))
                : new TransactionLookup(TransactionState.Pending));
        }
    }

    public async Task<ChainReceipt> WaitForReceiptAsync(string transactionHash, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_known.TryGetValue(transactionHash, out var tx) && tx.Mined)
                {
                    return ReceiptOf(tx);
                }
            }

            progress?.Report("Waiting for receipt");
            await Task.Delay(5, cancellationToken);
        }
    }

    private static ChainReceipt ReceiptOf(Tx tx) => new()
    {
        TransactionHash = tx.Prepared.Hash,
        Succeeded = true,
        BlockNumber = tx.Block,
        GasUsed = 1_000_000,
        EffectiveGasPrice = 2_000_000_000,
        ContractAddress = tx.Prepared.ContractAddress,
    };

    public Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken)
    {
        if (RegistryReadFails)
        {
            throw new ChainException(RegistryReadFailure, "registry read failed");
        }

        return Task.FromResult(Registry.TryGetValue(modelId, out var token) ? token : null);
    }

    // The registry here is a dictionary without blocks, so there is no log history for the registry mirror to
    // follow: it stays in its fallback and every accept-path lookup reads the dictionary above.
    public Task<ulong> GetLatestBlockAsync(CancellationToken cancellationToken) =>
        throw new ChainException(ChainErrorKind.Transient, "the fake chain keeps no log history");

    public Task<IReadOnlyList<ModelRegistration>> GetModelRegistrationsAsync(ulong fromBlock, ulong toBlock, CancellationToken cancellationToken) =>
        throw new ChainException(ChainErrorKind.Transient, "the fake chain keeps no log history");

    public Task<ChainStatus> GetStatusAsync(CancellationToken cancellationToken) => Task.FromResult(new ChainStatus
    {
        ChainId = 31337,
        LatestBlock = _block,
        DeployerAddress = DeployerAddress,
        DeployerBalanceWei = BigInteger.Pow(10, 21),
        DeployerOwnsRegistry = true,
        DeployerCanMint = true,
        ActiveRpc = "fake://chain",
    });

    public List<ulong> Released { get; } = [];

    public Task ReleaseNonceAsync(PreparedTransaction transaction, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Released.Add(transaction.Nonce);
            _signed.Remove(transaction.Hash);
            if (_nonce == transaction.Nonce + 1)
            {
                _nonce = transaction.Nonce;
            }
        }

        return Task.CompletedTask;
    }

    public int Resyncs;

    public int Forgets;

    public Task ForgetNoncesAsync()
    {
        Interlocked.Increment(ref Forgets);
        return Task.CompletedTask;
    }

    /// <summary>How many nonce reads still fail as if the RPC were down.</summary>
    public int ResyncFailures;

    public Task ResyncNonceAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref ResyncFailures) >= 0)
        {
            throw new ChainException(ChainErrorKind.Transient, "eth_getTransactionCount: connection refused");
        }

        lock (_gate)
        {
            Interlocked.Increment(ref Resyncs);
            _nonce = Math.Max(_chainNonce, _known.Values.Select(t => t.Prepared.Nonce + 1).DefaultIfEmpty(0UL).Max());
        }

        return Task.CompletedTask;
    }
}
