namespace Hokusai.Contracts;

/// <summary>
/// A deployment job as persisted by an <see cref="Backends.IDeploymentStore"/>. Immutable: every change is a new
/// instance with <see cref="Version"/> incremented, written with a compare-and-swap on the version.
/// </summary>
public sealed record DeploymentJob
{
    /// <summary>The job id (UUID v4), also the API's <c>requestId</c>.</summary>
    public required Guid Id { get; init; }

    /// <summary>The caller identity that created the job (API key name or JWT subject).</summary>
    public required string Owner { get; init; }

    /// <summary>The validated request.</summary>
    public required DeploymentRequest Request { get; init; }

    /// <summary>Stable hash of the request body, compared when an idempotency key is reused.</summary>
    public required string RequestHash { get; init; }

    /// <summary>The client's <c>Idempotency-Key</c>, if any.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Current status.</summary>
    public DeploymentStatus Status { get; init; } = DeploymentStatus.Pending;

    /// <summary>Current step.</summary>
    public DeploymentStep Step { get; init; } = DeploymentStep.Queued;

    /// <summary>Progress 0–100.</summary>
    public int Progress { get; init; }

    /// <summary>Human-readable description of the current step (e.g. waiting for gas price).</summary>
    public string? StepDetail { get; init; }

    /// <summary>Optimistic-concurrency version; 1 when created.</summary>
    public long Version { get; init; } = 1;

    /// <summary>When the job was accepted.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the job last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When the job reached a final status.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>How many times a worker has started on this job.</summary>
    public int Attempts { get; init; }

    /// <summary>W3C trace context of the accepting request, so the worker's spans join its trace.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The mode the job runs in; set when it is accepted or first processed, never changed afterwards.</summary>
    public DeploymentMode? Mode { get; init; }

    /// <summary>In factory mode: the CREATE2 address the token is created at (the final token address equals it).</summary>
    public string? PredictedTokenAddress { get; init; }

    /// <summary>
    /// The pool key (address) the job is bound to: set when its first transaction is about to be prepared, never
    /// changed afterwards. Only that key's current owner resumes or replaces its transactions. Null while unbound.
    /// </summary>
    public string? SignerAddress { get; init; }

    /// <summary>Transactions sent for this job, persisted before their receipts are awaited.</summary>
    public JobTransactions Transactions { get; init; } = new();

    /// <summary>Result when completed.</summary>
    public TokenDetails? TokenDetails { get; init; }

    /// <summary>Error when failed.</summary>
    public DeploymentError? Error { get; init; }

    /// <summary>Step history, oldest first.</summary>
    public IReadOnlyList<JobHistoryEntry> History { get; init; } = [];
}

/// <summary>The signed transactions of a job. Raw bytes are kept so a restart can re-broadcast the very same transaction.</summary>
public sealed record JobTransactions
{
    /// <summary>The token creation transaction (in factory mode the one <c>deployToken</c> transaction).</summary>
    public SentTransaction? TokenDeployment { get; init; }

    /// <summary>Address the token was (or will be) created at.</summary>
    public string? TokenAddress { get; init; }

    /// <summary>The registry transaction.</summary>
    public SentTransaction? Registration { get; init; }

    /// <summary>The mint transaction, when an initial supply was asked for.</summary>
    public SentTransaction? Mint { get; init; }

    /// <summary>Receipt facts of the token creation, once mined.</summary>
    public ReceiptSummary? TokenReceipt { get; init; }

    /// <summary>
    /// Earlier signed versions of the current step's transaction with the same nonce (replaced with a
    /// higher fee while stuck). They stay watched: whichever version is mined wins.
    /// </summary>
    public IReadOnlyList<SentTransaction> Replaced { get; init; } = [];

    /// <summary>
    /// The same transactions without their raw bytes (hashes and nonces stay): once a job is final nothing
    /// is re-sent, and the bytes (kilobytes per token creation) would only weigh on the store.
    /// </summary>
    public JobTransactions WithoutRawBytes()
    {
        static SentTransaction? Strip(SentTransaction? sent) => sent is null ? null : sent with { RawTransaction = string.Empty };
        return this with
        {
            TokenDeployment = Strip(TokenDeployment),
            Registration = Strip(Registration),
            Mint = Strip(Mint),
            Replaced = [.. Replaced.Select(r => Strip(r)!)],
        };
    }
}

/// <summary>The receipt facts reported for a token creation.</summary>
/// <param name="BlockNumber">Block it was mined in.</param>
/// <param name="GasUsed">Gas used (decimal string).</param>
/// <param name="EffectiveGasPrice">Effective gas price in wei (decimal string).</param>
public sealed record ReceiptSummary(ulong BlockNumber, string GasUsed, string EffectiveGasPrice);

/// <summary>A signed transaction: its hash, raw RLP (hex) and nonce.</summary>
public sealed record SentTransaction(string Hash, string RawTransaction, ulong Nonce);

/// <summary>One entry in a job's history.</summary>
public sealed record JobHistoryEntry(DateTimeOffset At, DeploymentStatus Status, DeploymentStep Step, string? Detail);

/// <summary>The on-chain result of a completed deployment.</summary>
public sealed record TokenDetails
{
    /// <summary>The token contract's address (EIP-55).</summary>
    public required string TokenAddress { get; init; }
    /// <summary>ERC-20 name.</summary>
    public required string TokenName { get; init; }
    /// <summary>ERC-20 symbol.</summary>
    public required string TokenSymbol { get; init; }
    /// <summary>Token creation transaction hash.</summary>
    public required string TransactionHash { get; init; }
    /// <summary>Registry transaction hash.</summary>
    public required string RegistryTransactionHash { get; init; }
    /// <summary>Mint transaction hash, when minted.</summary>
    public string? MintTransactionHash { get; init; }
    /// <summary>Block of the token creation.</summary>
    public required ulong BlockNumber { get; init; }
    /// <summary>Gas used by the token creation (decimal string).</summary>
    public required string GasUsed { get; init; }
    /// <summary>Effective gas price of the token creation in wei (decimal string).</summary>
    public required string GasPrice { get; init; }
    /// <summary>When the deployment completed.</summary>
    public required DateTimeOffset DeploymentTime { get; init; }
    /// <summary>Configured network name.</summary>
    public required string Network { get; init; }
    /// <summary>Chain id.</summary>
    public required long ChainId { get; init; }
}

/// <summary>An error in the API's shape: code, message, details, suggestions, retryable.</summary>
public sealed record DeploymentError
{
    /// <summary>Stable machine-readable code (see <see cref="ErrorCodes"/>).</summary>
    public required string Code { get; init; }
    /// <summary>Human-readable message; never contains secrets.</summary>
    public required string Message { get; init; }
    /// <summary>
    /// Optional structured details: named string values (e.g. <c>tokenAddress</c>, <c>revertReason</c>),
    /// served as the JSON object <c>error.details</c>. Jobs stored with a plain-text detail read it back as
    /// <c>{"reason": text}</c>.
    /// </summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(ErrorDetailsJsonConverter))]
    public IReadOnlyDictionary<string, string>? Details { get; init; }
    /// <summary>What the caller can do about it.</summary>
    public IReadOnlyList<string> Suggestions { get; init; } = [];
    /// <summary>When the error happened.</summary>
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>Whether retrying the same request may succeed.</summary>
    public bool Retryable { get; init; }
}

/// <summary>Reads <see cref="DeploymentError.Details"/> as an object of strings, and a legacy plain string as <c>{"reason": …}</c>.</summary>
internal sealed class ErrorDetailsJsonConverter : System.Text.Json.Serialization.JsonConverter<IReadOnlyDictionary<string, string>>
{
    /// <summary>The key a plain-text detail is kept under.</summary>
    public const string ReasonKey = "reason";

    public override IReadOnlyDictionary<string, string>? Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case System.Text.Json.JsonTokenType.Null:
                return null;
            case System.Text.Json.JsonTokenType.String:
                return new Dictionary<string, string>(StringComparer.Ordinal) { [ReasonKey] = reader.GetString()! };
            case System.Text.Json.JsonTokenType.StartObject:
                var result = new Dictionary<string, string>(StringComparer.Ordinal);
                using (var document = System.Text.Json.JsonDocument.ParseValue(ref reader))
                {
                    foreach (var property in document.RootElement.EnumerateObject())
                    {
                        result[property.Name] = property.Value.ValueKind == System.Text.Json.JsonValueKind.String
                            ? property.Value.GetString()!
                            : property.Value.GetRawText();
                    }
                }

                return result;
            default:
                throw new System.Text.Json.JsonException("error.details must be an object or a string.");
        }
    }

    public override void Write(System.Text.Json.Utf8JsonWriter writer, IReadOnlyDictionary<string, string> value, System.Text.Json.JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (key, text) in value)
        {
            writer.WritePropertyName(key);
            writer.WriteStringValue(text);
        }

        writer.WriteEndObject();
    }
}
