using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Nethereum.Contracts;
using Nethereum.Contracts.MessageEncodingServices;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Hex.HexTypes;
using Nethereum.JsonRpc.Client;
using Nethereum.Model;
using Nethereum.RLP;
using Nethereum.RPC.Eth.DTOs;
using Nethereum.Signer;
using Nethereum.Util;
using Nethereum.Web3;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// <see cref="IChainClient"/> on Nethereum: estimates, prices (EIP-1559 or legacy, waiting under a
/// fee cap), assigns nonces in-process, signs offline, broadcasts idempotently and waits for receipts
/// and confirmations, failing over between RPC URLs.
/// </summary>
internal sealed partial class NethereumChainClient : IChainClient, IFollowedChain, IDisposable
{
    private static readonly BigInteger DefaultPriorityFee = FeeCalculator.WeiPerGwei;
    private static readonly byte[] DefaultAdminRole = new byte[32];
    private static readonly byte[] MinterRole = Sha3Keccack.Current.CalculateHash("MINTER_ROLE"u8.ToArray());
    internal static readonly byte[] DeployerRole = Sha3Keccack.Current.CalculateHash("DEPLOYER_ROLE"u8.ToArray());

    private readonly ChainOptions _options;
    private readonly EthECKey _key;
    private readonly RpcEndpointPool _pool;
    private readonly NonceManager _nonces;
    private readonly BlockFollower _follower;
    private readonly bool _ownsFollower;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, BigInteger> _estimates = new(StringComparer.OrdinalIgnoreCase);
    private (BigInteger Tip, DateTimeOffset At)? _tip;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private StrongBox<BigInteger>? _chainId;

    internal NethereumChainClient(ChainOptions options, ILoggerFactory loggerFactory, TimeProvider timeProvider, Diagnostics.ContractsTelemetry? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (string.IsNullOrWhiteSpace(options.DeployerPrivateKey) && options.DeployerPrivateKeys.Count == 0)
        {
            throw new InvalidOperationException("No deployer key is configured (set DEPLOYER_PRIVATE_KEY or DEPLOYER_PRIVATE_KEYS).");
        }

        _options = options;
        _logger = loggerFactory.CreateLogger("Hokusai.Contracts.Chain");
        _time = timeProvider;
        // The first key of the pool; the others sign through clients made by ForSigner. The key's own text
        // never reaches a message (SignerKeys names entries by place).
        var primary = SignerKeys.Require(options)[0];
        _key = new EthECKey(primary.PrivateKey);
        DeployerAddress = _key.GetPublicAddress();
        _pool = new RpcEndpointPool(options.RpcUrls, options.RpcTimeout, _logger, telemetry);
        _nonces = new NonceManager { Window = options.MaxInFlightPerKey };
        _follower = new BlockFollower(_pool, options, _logger, timeProvider);
        _ownsFollower = true;
        _follower.AddSigner(DeployerAddress, _nonces, FillGapAsync);
    }

    /// <summary>Another key of the pool: its own nonce sequence, the same RPC endpoints and the same block follower.</summary>
    private NethereumChainClient(NethereumChainClient primary, SignerKey key)
    {
        _options = primary._options;
        _logger = primary._logger;
        _time = primary._time;
        _key = new EthECKey(key.PrivateKey);
        DeployerAddress = _key.GetPublicAddress();
        _pool = primary._pool;
        _nonces = new NonceManager { Window = _options.MaxInFlightPerKey };
        _follower = primary._follower;
        TipCacheDuration = primary.TipCacheDuration;
        FeeRecheckInterval = primary.FeeRecheckInterval;
        UseLegacyTransactions = primary.UseLegacyTransactions;
        _follower.AddSigner(DeployerAddress, _nonces, FillGapAsync);
    }

    /// <summary>
    /// A client signing with <paramref name="key"/>: one block follower watches every key's transactions and
    /// counts, so a pool adds no polling per key.
    /// </summary>
    internal NethereumChainClient ForSigner(SignerKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return string.Equals(key.Address, DeployerAddress, StringComparison.OrdinalIgnoreCase) ? this : new NethereumChainClient(this, key);
    }

    /// <summary>The nonce sequence of this client's key (per-key health and metrics).</summary>
    internal NonceManager Nonces => _nonces;

    /// <summary>The block follower (exposed for tests and the benchmark's counts).</summary>
    internal BlockFollower Follower => _follower;

    /// <inheritdoc />
    public string DeployerAddress { get; }

    /// <inheritdoc />
    ulong? IFollowedChain.Head => _follower.Head?.Number;

    /// <inheritdoc />
    long? IFollowedChain.KnownChainId => _options.ChainId != 0 ? _options.ChainId : Volatile.Read(ref _chainId) is { } id ? (long)id.Value : null;

    /// <inheritdoc />
    IDisposable IFollowedChain.SubscribeHeads(Action<ulong> onHead, TimeSpan idleInterval) => _follower.SubscribeHeads(onHead, idleInterval);

    /// <inheritdoc />
    Task IFollowedChain.WaitForHeadAsync(ulong block, CancellationToken cancellationToken) => _follower.WaitForHeadAsync(block, cancellationToken);

    /// <summary>How long a read tip (<c>eth_maxPriorityFeePerGas</c>) is reused.</summary>
    internal TimeSpan TipCacheDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the network fee is re-read while it is above the cap.</summary>
    internal TimeSpan FeeRecheckInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Prices legacy transactions even where the chain has a base fee (legacy signing is otherwise only reachable on pre-London chains).</summary>
    internal bool UseLegacyTransactions { get; init; }

    internal string ActiveRpc => _pool.ActiveDisplayUrl;

    /// <inheritdoc />
    public Task<PreparedTransaction> PrepareTokenDeploymentAsync(string name, string symbol, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        var message = new HokusaiTokenDeployment { Name = name, Symbol = symbol, Controller = RequireAddress(_options.TokenManagerAddress, "TOKEN_MANAGER_ADDRESS") };
        return PrepareDeploymentAsync(message, progress, cancellationToken);
    }

    /// <inheritdoc />
    public Task<PreparedTransaction> PrepareRegistrationAsync(string modelId, string tokenAddress, string performanceMetric, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        ArgumentException.ThrowIfNullOrEmpty(tokenAddress);
        ArgumentNullException.ThrowIfNull(performanceMetric);
        var message = new RegisterModelFunction { ModelId = modelId, Token = tokenAddress, PerformanceMetric = performanceMetric };
        return PrepareCallAsync(RequireAddress(_options.ModelRegistryAddress, "MODEL_REGISTRY_ADDRESS"), message, progress, cancellationToken);
    }

    /// <inheritdoc />
    public Task<PreparedTransaction> PrepareMintAsync(string modelId, string recipient, BigInteger amount, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        ArgumentException.ThrowIfNullOrEmpty(recipient);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        var message = new MintTokensFunction { ModelId = modelId, To = recipient, Amount = amount };
        return PrepareCallAsync(RequireAddress(_options.TokenManagerAddress, "TOKEN_MANAGER_ADDRESS"), message, progress, cancellationToken);
    }

    /// <inheritdoc />
    public Task<PreparedTransaction> PrepareFactoryDeploymentAsync(DeploymentRequest request, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var manager = RequireAddress(_options.TokenManagerAddress, "TOKEN_MANAGER_ADDRESS");
        var message = new DeployTokenFunction
        {
            ModelId = request.ModelId,
            Name = request.TokenName,
            Symbol = request.TokenSymbol,
            PerformanceMetric = request.PerformanceMetric,
            Recipient = request.InitialSupply > 0 ? request.UserAddress : AddressUtil.ZERO_ADDRESS,
            InitialSupply = request.InitialSupply,
        };
        return PrepareAsync(nameof(DeployTokenFunction), manager, message.GetCallData().ToHex(true), progress, cancellationToken, PredictTokenAddress(request));
    }

    /// <inheritdoc />
    public string PredictTokenAddress(DeploymentRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return TokenAddressPredictor.Predict(RequireAddress(_options.TokenManagerAddress, "TOKEN_MANAGER_ADDRESS"), request.ModelId, request.TokenName, request.TokenSymbol);
    }

    /// <inheritdoc />
    public async Task<FactorySupport> GetFactorySupportAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.TokenManagerAddress) || string.IsNullOrWhiteSpace(_options.ModelRegistryAddress))
        {
            return new FactorySupport(false, false, false, "MODEL_REGISTRY_ADDRESS or TOKEN_MANAGER_ADDRESS is not set");
        }

        var manager = _options.TokenManagerAddress;
        const string probeId = "factory-probe";
        var expected = TokenAddressPredictor.Predict(manager, probeId, "Probe", "PRB");
        var predicted = QueryOrDefaultAsync("predictTokenAddress", w => w.Eth.GetContractQueryHandler<PredictTokenAddressFunction>().QueryAsync<string>(manager, new PredictTokenAddressFunction { ModelId = probeId, Name = "Probe", Symbol = "PRB" }), cancellationToken);
        var registrar = QueryOrDefaultAsync("isRegistrar", w => w.Eth.GetContractQueryHandler<IsRegistrarFunction>().QueryAsync<bool>(_options.ModelRegistryAddress, new IsRegistrarFunction { Account = manager }), cancellationToken);
        var role = QueryOrDefaultAsync("hasRole", w => w.Eth.GetContractQueryHandler<HasRoleFunction>().QueryAsync<bool>(manager, new HasRoleFunction { Role = DeployerRole, Account = DeployerAddress }), cancellationToken);
        await Task.WhenAll(predicted, registrar, role);
        var hasFactory = await predicted is { Length: > 0 } address && string.Equals(address, expected, StringComparison.OrdinalIgnoreCase);
        return new FactorySupport(hasFactory, await registrar, await role);
    }

    /// <summary>Prepares any contract creation from the embedded artefacts.</summary>
    internal Task<PreparedTransaction> PrepareDeploymentAsync<TDeployment>(TDeployment message, IProgress<string>? progress, CancellationToken cancellationToken)
        where TDeployment : ContractDeploymentMessage, new()
    {
        var data = new DeploymentMessageEncodingService<TDeployment>().GetDeploymentData(message);
        return PrepareAsync(typeof(TDeployment).Name, null, data, progress, cancellationToken);
    }

    /// <summary>Prepares any contract function call.</summary>
    internal Task<PreparedTransaction> PrepareCallAsync<TFunction>(string contractAddress, TFunction message, IProgress<string>? progress, CancellationToken cancellationToken)
        where TFunction : FunctionMessage, new()
    {
        var data = message.GetCallData().ToHex(true);
        return PrepareAsync(typeof(TFunction).Name, contractAddress, data, progress, cancellationToken);
    }

    /// <inheritdoc />
    public async Task BroadcastAsync(PreparedTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        // Persisted by the caller before this call: from now on the follower can re-send it if the node
        // misses its nonce (e.g. this very broadcast fails during an outage).
        _nonces.Track(transaction.Nonce, transaction.RawTransaction);
        _follower.Wake();
        try
        {
            await _pool.ExecuteAsync("eth_sendRawTransaction", w => w.Eth.Transactions.SendRawTransaction.SendRequestAsync(transaction.RawTransaction), cancellationToken);
            ChainLog.Broadcast(_logger, transaction.Hash);
        }
        catch (RpcResponseException ex) when (ChainErrorClassifier.IsAlreadyKnown(ex))
        {
            ChainLog.AlreadyKnown(_logger, transaction.Hash);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var classified = ChainErrorClassifier.Classify(ex, "broadcast");
            // A repeat broadcast of a transaction that is already pending or mined reports a nonce
            // conflict on many nodes; it is our own transaction, so the broadcast succeeded.
            if (classified.Kind == ChainErrorKind.NonceConflict &&
                (await LookupAsync(transaction.Hash, cancellationToken)).State != TransactionState.Unknown)
            {
                ChainLog.AlreadyKnown(_logger, transaction.Hash);
                return;
            }

            throw classified;
        }
    }

    /// <inheritdoc />
    public async Task<TransactionLookup> LookupAsync(string transactionHash, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionHash);
        return await Guard("lookup", async () =>
        {
            var receipt = await GetReceiptAsync(transactionHash, cancellationToken);
            if (receipt is not null)
            {
                return new TransactionLookup(TransactionState.Mined, ToReceipt(receipt));
            }

            var pending = await _pool.ExecuteAsync("eth_getTransactionByHash", w => w.Eth.Transactions.GetTransactionByHash.SendRequestAsync(transactionHash), cancellationToken);
            return new TransactionLookup(pending is null ? TransactionState.Unknown : TransactionState.Pending);
        });
    }

    /// <inheritdoc />
    public async Task<ChainReceipt> WaitForReceiptAsync(string transactionHash, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(transactionHash);
        return await Guard("wait for receipt", async () =>
        {
            progress?.Report($"Waiting for transaction {transactionHash} to be mined");
            // The block follower resolves it from the head it follows for every waiting job.
            var receipt = await _follower.WaitAsync(transactionHash, progress, cancellationToken);
            var block = (ulong)receipt.BlockNumber.Value;
            if (receipt.Status is not null && receipt.Status.Value == BigInteger.Zero)
            {
                var reason = await ReplayRevertAsync(transactionHash, receipt, cancellationToken);
                ChainLog.TransactionReverted(_logger, transactionHash, reason.Description);
                progress?.Report($"Transaction {transactionHash} reverted in block {block}: {reason.Description}");
                throw new ChainException(ChainErrorKind.Reverted, $"Transaction {transactionHash} reverted: {reason.Description}", reason.Reason);
            }

            ChainLog.Confirmed(_logger, transactionHash, block);
            progress?.Report(_options.ConfirmationBlocks <= 0 ? "Included" : $"Confirmed ({_options.ConfirmationBlocks} blocks)");
            return ToReceipt(receipt);
        });
    }

    /// <inheritdoc />
    public async Task<PreparedTransaction?> PrepareReplacementAsync(SentTransaction stuck, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stuck);
        return await Guard("replacement", async () =>
        {
            var chainId = await GetChainIdAsync(cancellationToken);
            var fees = await ReadNetworkFeesAsync(cancellationToken);
            var cap = FeeCalculator.GweiToWei(_options.MaxGasPriceGwei);
            var current = FeeCalculator.Quote(fees, BigInteger.Zero);
            FeeQuote bumped;
            string? to;
            string data;
            BigInteger gasLimit;
            switch (TransactionFactory.CreateTransaction(stuck.RawTransaction))
            {
                case Transaction1559 old:
                    var tip = BigInteger.Max(Bump(old.MaxPriorityFeePerGas ?? 0), current?.MaxPriorityFeePerGas ?? 0);
                    var maxFee = BigInteger.Max(Bump(old.MaxFeePerGas ?? 0), BigInteger.Max(current?.MaxFeePerGas ?? 0, tip));
                    bumped = new FeeQuote(true, maxFee, tip, BigInteger.Zero, maxFee);
                    (to, data, gasLimit) = (old.ReceiverAddress, old.Data ?? "0x", old.GasLimit ?? 0);
                    break;
                case LegacyTransactionChainId old:
                    var price = BigInteger.Max(Bump(old.GasPrice.ToBigIntegerFromRLPDecoded()), current?.GasPrice ?? 0);
                    bumped = new FeeQuote(false, BigInteger.Zero, BigInteger.Zero, price, price);
                    (to, data, gasLimit) = (old.ReceiveAddress is { Length: > 0 } r ? r.ToHex(true) : null, old.Data.ToHex(true), old.GasLimit.ToBigIntegerFromRLPDecoded());
                    break;
                default:
                    return null;
            }

            var perGas = bumped.IsEip1559 ? bumped.MaxFeePerGas : bumped.GasPrice;
            if (cap > 0 && perGas > cap)
            {
                // Never above the cap: the stuck transaction keeps waiting (as a new one would).
                progress?.Report($"Transaction {stuck.Hash} is stuck, but a replacement would need {FeeCalculator.FormatGwei(perGas)} gwei per gas, above the cap of {FeeCalculator.FormatGwei(cap)} gwei (MAX_GAS_PRICE_GWEI); waiting");
                return null;
            }

            var replacement = Sign(chainId, stuck.Nonce, to, data, gasLimit, bumped);
            ChainLog.Prepared(_logger, "replacement", replacement.Hash, replacement.Nonce, gasLimit);
            progress?.Report($"Replacing stuck transaction {stuck.Hash} with {replacement.Hash} (nonce {stuck.Nonce}, {FeeCalculator.FormatGwei(perGas)} gwei per gas)");
            return replacement;
        });
    }

    /// <summary>Raises a fee by the replacement minimum common nodes require (+10 %; +12.5 % leaves room) plus one wei.</summary>
    internal static BigInteger Bump(BigInteger fee) => (fee * 1125 / 1000) + 1;

    /// <inheritdoc />
    public Task<bool> WaitOutOutageAsync(CancellationToken cancellationToken) => _follower.WaitOutOutageAsync(cancellationToken);

    /// <inheritdoc />
    public void TrackPersisted(ulong nonce, string rawTransaction)
    {
        _nonces.Track(nonce, rawTransaction);
        _follower.Wake();
    }

    /// <summary>
    /// Gas limit = estimate × <c>GAS_PRICE_MULTIPLIER</c>. The estimate of a call shape (recipient, function
    /// or creation, data length in 32-byte words) is made once and reused; a reused estimate is checked
    /// with one <c>eth_call</c> at that gas limit instead, which still surfaces any revert (the duplicate
    /// check of <c>deployToken</c>, a missing role) before anything is signed, at a fraction of the
    /// node's cost: an estimate runs the transaction many times over.
    /// </summary>
    private async Task<BigInteger> GasLimitAsync(string? to, string data, CancellationToken cancellationToken)
    {
        var shape = string.Concat(to ?? "create", ":", data.Length > 10 && to is not null ? data[..10] : "", ":", ((data.Length + 63) / 64).ToString(CultureInfo.InvariantCulture));
        if (_estimates.TryGetValue(shape, out var cached))
        {
            try
            {
                await _pool.ExecuteAsync("eth_call", w => w.Eth.Transactions.Call.SendRequestAsync(new CallInput { From = DeployerAddress, To = to, Data = data, Gas = new HexBigInteger(cached) }, BlockParameter.CreatePending()), cancellationToken);
                return cached;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !(ex is ChainException { IsTransient: true }))
            {
                // A revert, or more gas than the shape needed so far: a real estimate decides (and throws the
                // revert with its reason if there is one).
                _estimates.TryRemove(shape, out _);
            }
        }

        var estimate = await _pool.ExecuteAsync("eth_estimateGas", w => w.Eth.Transactions.EstimateGas.SendRequestAsync(new CallInput { From = DeployerAddress, To = to, Data = data }), cancellationToken);
        var gasLimit = FeeCalculator.GasLimit(estimate.Value, _options.GasPriceMultiplier);
        _estimates[shape] = gasLimit;
        return gasLimit;
    }

    /// <summary>Fills a nonce nobody holds bytes for with a zero-value transfer to self.</summary>
    private async Task FillGapAsync(BigInteger nonce, CancellationToken cancellationToken)
    {
        if (!await _nonces.TryClaimGapAsync(nonce, cancellationToken))
        {
            return;
        }

        var chainId = await GetChainIdAsync(cancellationToken);
        var fee = await GetFeeAsync(null, cancellationToken);
        var filler = Sign(chainId, nonce, DeployerAddress, "0x", 21_000, fee);
        _nonces.Track(filler.Nonce, filler.RawTransaction);
        try
        {
            await _pool.ExecuteAsync("eth_sendRawTransaction", w => w.Eth.Transactions.SendRawTransaction.SendRequestAsync(filler.RawTransaction), cancellationToken);
        }
        catch (RpcResponseException ex) when (ChainErrorClassifier.Classify(ex).Kind == ChainErrorKind.NonceConflict || ChainErrorClassifier.IsAlreadyKnown(ex))
        {
            // The nonce was taken meanwhile: no gap left to fill.
        }
    }

    /// <inheritdoc />
    public async Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        var registry = RequireAddress(_options.ModelRegistryAddress, "MODEL_REGISTRY_ADDRESS");
        return await Guard("getToken", async () =>
        {
            var token = await _pool.ExecuteAsync("getToken", w => w.Eth.GetContractQueryHandler<GetTokenFunction>().QueryAsync<string>(registry, new GetTokenFunction { ModelId = modelId }), cancellationToken);
            return string.IsNullOrEmpty(token) || new BigInteger(token.HexToByteArray(), isUnsigned: true, isBigEndian: true).IsZero
                ? null
                : AddressUtil.Current.ConvertToChecksumAddress(token);
        });
    }

    /// <inheritdoc />
    public async Task<ChainStatus> GetStatusAsync(CancellationToken cancellationToken) => await Guard("status", async () =>
    {
        var chainId = _pool.ExecuteAsync("eth_chainId", w => w.Eth.ChainId.SendRequestAsync(), cancellationToken);
        var block = _pool.ExecuteAsync("eth_blockNumber", w => w.Eth.Blocks.GetBlockNumber.SendRequestAsync(), cancellationToken);
        var balance = _pool.ExecuteAsync("eth_getBalance", w => w.Eth.GetBalance.SendRequestAsync(DeployerAddress), cancellationToken);
        var owns = DeployerOwnsRegistryAsync(cancellationToken);
        var mints = DeployerCanMintAsync(cancellationToken);
        await Task.WhenAll(chainId, block, balance, owns, mints);
        return new ChainStatus
        {
            ChainId = (long)(await chainId).Value,
            LatestBlock = (ulong)(await block).Value,
            DeployerAddress = DeployerAddress,
            DeployerBalanceWei = (await balance).Value,
            DeployerOwnsRegistry = await owns,
            DeployerCanMint = await mints,
            ActiveRpc = _pool.ActiveDisplayUrl,
        };
    });

    /// <inheritdoc />
    public async Task ResyncNonceAsync(CancellationToken cancellationToken)
    {
        await Guard("resync nonce", async () =>
        {
            await _nonces.ResyncAsync(ReadPendingNonceAsync, ReadMinedNonceAsync, cancellationToken);
            ChainLog.NonceResynced(_logger, DeployerAddress, _nonces.Peek);
            return true;
        });
    }

    /// <inheritdoc />
    public Task ForgetNoncesAsync() => _nonces.ForgetAsync();

    /// <inheritdoc />
    public Task ReleaseNonceAsync(PreparedTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return _nonces.ReleaseAsync(transaction.Nonce, cancellationToken);
    }

    public void Dispose()
    {
        // The pool's other keys share the primary's follower and endpoints; the primary disposes them.
        if (_ownsFollower)
        {
            _follower.Dispose();
            _pool.Dispose();
        }
    }

    private async Task<PreparedTransaction> PrepareAsync(string kind, string? to, string data, IProgress<string>? progress, CancellationToken cancellationToken, string? creates = null) =>
        await Guard(kind, async () =>
        {
            var chainId = await GetChainIdAsync(cancellationToken);
            progress?.Report("Estimating gas");
            var gasLimit = await GasLimitAsync(to, data, cancellationToken);
            var fee = await GetFeeAsync(progress, cancellationToken);

            // The nonce is taken last, after everything that can fail, so a failure leaves no gap.
            var prepared = await _nonces.UseNextAsync(ReadPendingNonceAsync, nonce => Sign(chainId, nonce, to, data, gasLimit, fee), cancellationToken);
            if (creates is not null)
            {
                prepared = prepared with { ContractAddress = creates };
            }

            ChainLog.Prepared(_logger, kind, prepared.Hash, prepared.Nonce, gasLimit);
            progress?.Report(fee.IsEip1559
                ? $"Signed {prepared.Hash} (nonce {prepared.Nonce}, gas limit {gasLimit}, max fee {FeeCalculator.FormatGwei(fee.MaxFeePerGas)} gwei, tip {FeeCalculator.FormatGwei(fee.MaxPriorityFeePerGas)} gwei)"
                : $"Signed {prepared.Hash} (nonce {prepared.Nonce}, gas limit {gasLimit}, gas price {FeeCalculator.FormatGwei(fee.GasPrice)} gwei)");
            return prepared;
        });

    private PreparedTransaction Sign(BigInteger chainId, BigInteger nonce, string? to, string data, BigInteger gasLimit, FeeQuote fee)
    {
        string raw;
        if (fee.IsEip1559)
        {
            var transaction = new Transaction1559(chainId, nonce, fee.MaxPriorityFeePerGas, fee.MaxFeePerGas, gasLimit, to, BigInteger.Zero, data, null);
            raw = new Transaction1559Signer().SignTransaction(_key, transaction);
        }
        else
        {
            raw = new LegacyTransactionSigner().SignTransaction(_key.GetPrivateKeyAsBytes(), chainId, to, BigInteger.Zero, nonce, fee.GasPrice, gasLimit, data);
        }

        var rawBytes = raw.HexToByteArray();
        var hash = Sha3Keccack.Current.CalculateHash(rawBytes).ToHex(true);
        var created = to is null ? AddressUtil.Current.ConvertToChecksumAddress(ContractUtils.CalculateContractAddress(DeployerAddress, nonce)) : null;
        return new PreparedTransaction(hash, rawBytes.ToHex(true), (ulong)nonce, created);
    }

    private async Task<FeeQuote> GetFeeAsync(IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var reported = BigInteger.MinusOne;
        while (true)
        {
            var fees = await ReadNetworkFeesAsync(cancellationToken);
            var cap = FeeCalculator.GweiToWei(_options.MaxGasPriceGwei);
            if (FeeCalculator.Quote(fees, cap) is { } quote)
            {
                if (reported >= 0)
                {
                    progress?.Report($"Network fee {FeeCalculator.FormatGwei(quote.RequiredPerGas)} gwei is within the cap; continuing");
                }

                return quote;
            }

            var required = FeeCalculator.Required(fees);
            if (required != reported)
            {
                var requiredGwei = FeeCalculator.FormatGwei(required);
                var capGwei = FeeCalculator.FormatGwei(cap);
                ChainLog.WaitingForFee(_logger, requiredGwei, capGwei);
                progress?.Report($"Waiting for gas: the network needs {requiredGwei} gwei per gas, above the cap of {capGwei} gwei (MAX_GAS_PRICE_GWEI)");
                reported = required;
            }

            await Task.Delay(FeeRecheckInterval, _time, cancellationToken);
        }
    }

    private async Task<NetworkFees> ReadNetworkFeesAsync(CancellationToken cancellationToken)
    {
        // The follower's head is fresh while jobs are in flight: its base fee saves a block read per transaction.
        var now = _time.GetUtcNow();
        BigInteger? baseFee;
        if (_follower.HeadIsCurrent && _follower.Head is { BaseFee: { } followed })
        {
            baseFee = followed;
        }
        else
        {
            var block = await _pool.ExecuteAsync("eth_getBlockByNumber", w => w.Eth.Blocks.GetBlockWithTransactionsHashesByNumber.SendRequestAsync(BlockParameter.CreateLatest()), cancellationToken);
            baseFee = block?.BaseFeePerGas?.Value;
        }

        if (!UseLegacyTransactions && baseFee is { } fee)
        {
            if (_tip is not { } cached || now - cached.At > TipCacheDuration)
            {
                BigInteger tip;
                try
                {
                    tip = await ReadPriorityFeeAsync(cancellationToken);
                }
                catch (RpcResponseException)
                {
                    // Nodes without eth_maxPriorityFeePerGas: a 1 gwei tip is the common default.
                    tip = DefaultPriorityFee;
                }

                cached = (tip, now);
                _tip = cached;
            }

            return new NetworkFees(fee, cached.Tip, BigInteger.Zero);
        }

        var gasPrice = await _pool.ExecuteAsync("eth_gasPrice", w => w.Eth.GasPrice.SendRequestAsync(), cancellationToken);
        return new NetworkFees(null, BigInteger.Zero, gasPrice.Value);
    }

    private async Task<BigInteger> ReadPriorityFeeAsync(CancellationToken cancellationToken) =>
        (await _pool.ExecuteAsync("eth_maxPriorityFeePerGas", w => w.Client.SendRequestAsync<HexBigInteger>("eth_maxPriorityFeePerGas"), cancellationToken)).Value;

    private async Task<BigInteger> GetChainIdAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _chainId) is { } cached)
        {
            return cached.Value;
        }

        var id = (await _pool.ExecuteAsync("eth_chainId", w => w.Eth.ChainId.SendRequestAsync(), cancellationToken)).Value;
        if (_options.ChainId != 0 && id != _options.ChainId)
        {
            throw new ChainException(ChainErrorKind.Permanent, $"The node reports chain id {id}, but CHAIN_ID (HokusaiContracts:Chain:ChainId) is {_options.ChainId}; refusing to sign.");
        }

        Volatile.Write(ref _chainId, new StrongBox<BigInteger>(id));
        return id;
    }

    private async Task<BigInteger> ReadPendingNonceAsync(CancellationToken cancellationToken) =>
        (await _pool.ExecuteAsync("eth_getTransactionCount", w => w.Eth.Transactions.GetTransactionCount.SendRequestAsync(DeployerAddress, BlockParameter.CreatePending()), cancellationToken)).Value;

    private async Task<BigInteger> ReadMinedNonceAsync(CancellationToken cancellationToken) =>
        (await _pool.ExecuteAsync("eth_getTransactionCount", w => w.Eth.Transactions.GetTransactionCount.SendRequestAsync(DeployerAddress, BlockParameter.CreateLatest()), cancellationToken)).Value;

    private Task<TransactionReceipt?> GetReceiptAsync(string hash, CancellationToken cancellationToken) =>
        _pool.ExecuteAsync<TransactionReceipt?>("eth_getTransactionReceipt", async w => await w.Eth.Transactions.GetTransactionReceipt.SendRequestAsync(hash), cancellationToken);

    /// <summary>Re-executes a failed transaction as a call in its block to learn the revert reason.</summary>
    private async Task<DecodedRevert> ReplayRevertAsync(string hash, TransactionReceipt receipt, CancellationToken cancellationToken)
    {
        var transaction = await _pool.ExecuteAsync("eth_getTransactionByHash", w => w.Eth.Transactions.GetTransactionByHash.SendRequestAsync(hash), cancellationToken);
        if (transaction is null)
        {
            return new DecodedRevert("execution reverted", "execution reverted (transaction unavailable for replay)");
        }

        var call = new CallInput
        {
            From = transaction.From,
            To = transaction.To,
            Data = transaction.Input,
            Value = transaction.Value,
            Gas = transaction.Gas,
        };
        try
        {
            await _pool.ExecuteAsync("eth_call", w => w.Eth.Transactions.Call.SendRequestAsync(call, new BlockParameter(receipt.BlockNumber)), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var classified = ChainErrorClassifier.Classify(ex);
            if (classified.Kind == ChainErrorKind.Reverted && classified.RevertReason is { } reason)
            {
                var description = classified.Message.StartsWith("reverted: ", StringComparison.Ordinal) ? classified.Message["reverted: ".Length..] : reason;
                return new DecodedRevert(reason, description);
            }
        }

        var gasUsed = receipt.GasUsed?.Value ?? BigInteger.Zero;
        return gasUsed >= (transaction.Gas?.Value ?? BigInteger.MinusOne)
            ? new DecodedRevert("out of gas", "out of gas")
            : new DecodedRevert("execution reverted", "execution reverted (no reason on replay)");
    }

    private async Task<bool> DeployerOwnsRegistryAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.ModelRegistryAddress))
        {
            return false;
        }

        var owner = await QueryOrDefaultAsync("owner", w => w.Eth.GetContractQueryHandler<OwnerFunction>().QueryAsync<string>(_options.ModelRegistryAddress, new OwnerFunction()), cancellationToken);
        return owner is not null && string.Equals(owner, DeployerAddress, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<bool> DeployerCanMintAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.TokenManagerAddress))
        {
            return false;
        }

        var manager = _options.TokenManagerAddress;
        var minter = QueryOrDefaultAsync("hasRole", w => w.Eth.GetContractQueryHandler<HasRoleFunction>().QueryAsync<bool>(manager, new HasRoleFunction { Role = MinterRole, Account = DeployerAddress }), cancellationToken);
        var admin = QueryOrDefaultAsync("hasRole", w => w.Eth.GetContractQueryHandler<HasRoleFunction>().QueryAsync<bool>(manager, new HasRoleFunction { Role = DefaultAdminRole, Account = DeployerAddress }), cancellationToken);
        return await minter || await admin;
    }

    /// <summary>A query whose failure other than the endpoint's (no contract there, wrong ABI) means "no".</summary>
    private async Task<T?> QueryOrDefaultAsync<T>(string operation, Func<IWeb3, Task<T>> query, CancellationToken cancellationToken)
    {
        try
        {
            return await _pool.ExecuteAsync(operation, query, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not ChainException && ChainErrorClassifier.Classify(ex).Kind != ChainErrorKind.Transient)
        {
            return default;
        }
    }

    private static async Task<T> Guard<T>(string operation, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is not ChainException and not OperationCanceledException)
        {
            throw ChainErrorClassifier.Classify(ex, operation);
        }
    }

    private static string RequireAddress(string? address, string setting)
    {
        if (string.IsNullOrWhiteSpace(address) || !AddressUtil.Current.IsValidEthereumAddressHexFormat(address))
        {
            throw new ChainException(ChainErrorKind.Permanent, $"{setting} is not set to a contract address.");
        }

        return address;
    }

    private static ChainReceipt ToReceipt(TransactionReceipt receipt) => new()
    {
        TransactionHash = receipt.TransactionHash,
        Succeeded = receipt.Status is null || receipt.Status.Value == BigInteger.One,
        BlockNumber = (ulong)receipt.BlockNumber.Value,
        GasUsed = receipt.GasUsed?.Value ?? BigInteger.Zero,
        EffectiveGasPrice = receipt.EffectiveGasPrice?.Value ?? BigInteger.Zero,
        ContractAddress = string.IsNullOrEmpty(receipt.ContractAddress) ? null : AddressUtil.Current.ConvertToChecksumAddress(receipt.ContractAddress),
    };
}
