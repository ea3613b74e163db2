using System.Numerics;

namespace Hokusai.Contracts.Chain;

/// <summary>
/// The chain engine as the job engine sees it: no Nethereum types cross this boundary.
/// Transactions are prepared (estimated, priced, nonce assigned, signed) separately from being
/// broadcast, so a caller can persist the hash and raw bytes before anything leaves the process.
/// Failures are thrown as <see cref="ChainException"/>.
/// </summary>
public interface IChainClient
{
    /// <summary>The deployer's address (EIP-55).</summary>
    string DeployerAddress { get; }

    /// <summary>Prepares a <c>HokusaiToken(name, symbol, controller = TokenManager)</c> creation.</summary>
    Task<PreparedTransaction> PrepareTokenDeploymentAsync(string name, string symbol, IProgress<string>? progress, CancellationToken cancellationToken);

    /// <summary>Prepares <c>ModelRegistry.registerModel(modelId, token, metric)</c>.</summary>
    Task<PreparedTransaction> PrepareRegistrationAsync(string modelId, string tokenAddress, string performanceMetric, IProgress<string>? progress, CancellationToken cancellationToken);

    /// <summary>Prepares <c>TokenManager.mintTokens(modelId, to, amount)</c>.</summary>
    Task<PreparedTransaction> PrepareMintAsync(string modelId, string recipient, BigInteger amount, IProgress<string>? progress, CancellationToken cancellationToken);

    /// <summary>
    /// Prepares <c>TokenManager.deployToken(modelId, name, symbol, metric, recipient, supply)</c>: one
    /// transaction that creates the token at its CREATE2 address (returned as
    /// <see cref="PreparedTransaction.ContractAddress"/>), registers and mints. The estimate is the duplicate
    /// check: a model that already has a token reverts with <c>ModelAlreadyHasToken</c>.
    /// </summary>
    Task<PreparedTransaction> PrepareFactoryDeploymentAsync(DeploymentRequest request, IProgress<string>? progress, CancellationToken cancellationToken) =>
        throw new NotSupportedException("This chain client has no factory mode.");

    /// <summary>The address <see cref="PrepareFactoryDeploymentAsync"/> creates the token of <paramref name="request"/> at (no RPC).</summary>
    string PredictTokenAddress(DeploymentRequest request) =>
        throw new NotSupportedException("This chain client has no factory mode.");

    /// <summary>Reads whether the contracts and the key allow factory mode.</summary>
    Task<FactorySupport> GetFactorySupportAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new FactorySupport(false, false, false, "this chain client has no factory mode"));

    /// <summary>
    /// Signs a replacement of a stuck transaction: same nonce, recipient, data and gas limit, fees raised by
    /// at least the nodes' replacement minimum (+12.5 %) and to the current network quote. Returns null when
    /// that would exceed <c>MAX_GAS_PRICE_GWEI</c> (then the caller keeps waiting). Nothing is broadcast.
    /// </summary>
    Task<PreparedTransaction?> PrepareReplacementAsync(SentTransaction stuck, IProgress<string>? progress, CancellationToken cancellationToken) =>
        Task.FromResult<PreparedTransaction?>(null);

    /// <summary>Broadcasts a signed transaction; "already known" counts as success, so it is safe to repeat.</summary>
    Task BroadcastAsync(PreparedTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Where a transaction is: unknown to the node, pending, or mined (with its receipt).</summary>
    Task<TransactionLookup> LookupAsync(string transactionHash, CancellationToken cancellationToken);

    /// <summary>
    /// Waits for the receipt and the configured confirmation depth. A reverted transaction throws
    /// <see cref="ChainException"/> of kind <see cref="ChainErrorKind.Reverted"/> with the reason.
    /// </summary>
    Task<ChainReceipt> WaitForReceiptAsync(string transactionHash, IProgress<string>? progress, CancellationToken cancellationToken);

    /// <summary>The token registered for <paramref name="modelId"/> on chain, or null.</summary>
    Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken);

    /// <summary>The latest block number the node reports.</summary>
    Task<ulong> GetLatestBlockAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The registry's <c>ModelRegistered</c> events mined in blocks <paramref name="fromBlock"/> to
    /// <paramref name="toBlock"/> (inclusive), in chain order. Callers bound the range (nodes cap log queries).
    /// </summary>
    Task<IReadOnlyList<ModelRegistration>> GetModelRegistrationsAsync(ulong fromBlock, ulong toBlock, CancellationToken cancellationToken);

    /// <summary>Chain and deployer facts for readiness and diagnostics.</summary>
    Task<ChainStatus> GetStatusAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Gives back the nonce of a prepared transaction that was never broadcast (e.g. it could not be
    /// persisted), so later transactions do not queue behind a gap. Other in-flight nonces are untouched.
    /// </summary>
    Task ReleaseNonceAsync(PreparedTransaction transaction, CancellationToken cancellationToken);

    /// <summary>
    /// Called after a transient failure: when the RPC is unreachable, waits until it answers again and
    /// returns true (the caller retries at once without spending its retry budget: an outage pauses the
    /// pipeline); returns false at once when the node answers (an ordinary transient failure).
    /// </summary>
    Task<bool> WaitOutOutageAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>
    /// Hands the signer a persisted transaction of an unfinished job (after a restart or a signer
    /// handover), so that if the node misses its nonce it is re-broadcast before later ones wait behind the gap.
    /// </summary>
    void TrackPersisted(ulong nonce, string rawTransaction)
    {
    }

    /// <summary>
    /// Re-reads the signer's counts from the chain and moves the local nonce counter forward to the node's pending
    /// count (after a <see cref="ChainErrorKind.NonceConflict"/>); a nonce handed out here and still in flight is never
    /// handed out again. After <see cref="ForgetNoncesAsync"/> (taking a key over) it starts from the node's count.
    /// </summary>
    Task ResyncNonceAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Forget the key's nonce sequence: this process no longer signs with the key (its lease was lost or handed over,
    /// or the host stops; called once the key's jobs here have stopped), so it stops repairing gaps that are the next
    /// owner's to fill; or it is taking the key over and must not trust what it remembers. A following
    /// <see cref="ResyncNonceAsync"/> starts from the node's count.
    /// </summary>
    Task ForgetNoncesAsync() => Task.CompletedTask;
}

/// <summary>A signed, not yet (or not surely) broadcast transaction.</summary>
/// <param name="Hash">Transaction hash (0x…).</param>
/// <param name="RawTransaction">Signed RLP, hex with 0x.</param>
/// <param name="Nonce">Nonce used.</param>
/// <param name="ContractAddress">For a contract creation: the address it will create.</param>
public sealed record PreparedTransaction(string Hash, string RawTransaction, ulong Nonce, string? ContractAddress = null);

/// <summary>One <c>ModelRegistered</c> event of the registry.</summary>
/// <param name="ModelId">The registered model id.</param>
/// <param name="TokenAddress">Its token (EIP-55).</param>
/// <param name="BlockNumber">Block the event was mined in.</param>
/// <param name="TransactionHash">Transaction that emitted it.</param>
public sealed record ModelRegistration(string ModelId, string TokenAddress, ulong BlockNumber, string TransactionHash);

/// <summary>A mined transaction's receipt, reduced to what the service reports.</summary>
public sealed record ChainReceipt
{
    /// <summary>Transaction hash.</summary>
    public required string TransactionHash { get; init; }
    /// <summary>True when status is 1.</summary>
    public required bool Succeeded { get; init; }
    /// <summary>Block it was mined in.</summary>
    public required ulong BlockNumber { get; init; }
    /// <summary>Gas used.</summary>
    public required BigInteger GasUsed { get; init; }
    /// <summary>Effective gas price in wei.</summary>
    public required BigInteger EffectiveGasPrice { get; init; }
    /// <summary>Created contract, for a creation.</summary>
    public string? ContractAddress { get; init; }
}

/// <summary>Where a transaction is.</summary>
public enum TransactionState
{
    /// <summary>The node does not know the hash.</summary>
    Unknown,
    /// <summary>Known, not mined yet.</summary>
    Pending,
    /// <summary>Mined; the receipt is available.</summary>
    Mined,
}

/// <summary>Result of <see cref="IChainClient.LookupAsync"/>.</summary>
/// <param name="State">Where it is.</param>
/// <param name="Receipt">The receipt when mined.</param>
public sealed record TransactionLookup(TransactionState State, ChainReceipt? Receipt = null);

/// <summary>Chain and deployer facts.</summary>
public sealed record ChainStatus
{
    /// <summary>Chain id reported by the node.</summary>
    public required long ChainId { get; init; }
    /// <summary>Latest block number.</summary>
    public required ulong LatestBlock { get; init; }
    /// <summary>Deployer address.</summary>
    public required string DeployerAddress { get; init; }
    /// <summary>Deployer balance in wei.</summary>
    public required BigInteger DeployerBalanceWei { get; init; }
    /// <summary>Whether the deployer owns the ModelRegistry (needed to register).</summary>
    public required bool DeployerOwnsRegistry { get; init; }
    /// <summary>Whether the deployer may mint through the TokenManager.</summary>
    public required bool DeployerCanMint { get; init; }
    /// <summary>The RPC URL currently in use (credentials stripped).</summary>
    public required string ActiveRpc { get; init; }
}

/// <summary>How a chain failure should be treated.</summary>
public enum ChainErrorKind
{
    /// <summary>Network, timeout, rate limit, node hiccup: retry later.</summary>
    Transient,
    /// <summary>The transaction (or its estimate) reverted; <see cref="ChainException.RevertReason"/> says why.</summary>
    Reverted,
    /// <summary>The deployer cannot pay.</summary>
    InsufficientFunds,
    /// <summary>The nonce was already used (another sender, or a lost local state): resync and retry.</summary>
    NonceConflict,
    /// <summary>Anything else that will not succeed by retrying.</summary>
    Permanent,
}

/// <summary>A classified chain failure.</summary>
public sealed class ChainException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChainException() : this(ChainErrorKind.Permanent, "Chain operation failed.") { }

    /// <summary>Creates the exception with a message.</summary>
    public ChainException(string message) : this(ChainErrorKind.Permanent, message) { }

    /// <summary>Creates the exception with a message and cause.</summary>
    public ChainException(string message, Exception innerException) : this(ChainErrorKind.Permanent, message, innerException: innerException) { }

    /// <summary>Creates a classified exception.</summary>
    public ChainException(ChainErrorKind kind, string message, string? revertReason = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        RevertReason = revertReason;
    }

    /// <summary>How to treat it.</summary>
    public ChainErrorKind Kind { get; }

    /// <summary>The decoded revert reason (e.g. the custom error's name), when reverted.</summary>
    public string? RevertReason { get; }

    /// <summary>True when retrying may succeed.</summary>
    public bool IsTransient => Kind is ChainErrorKind.Transient or ChainErrorKind.NonceConflict;
}
