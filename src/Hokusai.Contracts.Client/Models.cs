using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hokusai.Contracts.Client;

/// <summary>Where a deployment job stands (the wire's <c>status</c>).</summary>
[JsonConverter(typeof(WireEnumConverter<DeploymentState>))]
public enum DeploymentState
{
    /// <summary>A value this version of the client does not know (a newer server).</summary>
    Unknown = 0,
    /// <summary>Queued, not started.</summary>
    Pending,
    /// <summary>A worker is sending or confirming its transactions.</summary>
    Processing,
    /// <summary>The token exists; <see cref="DeploymentInfo.TokenDetails"/> is set.</summary>
    Completed,
    /// <summary>The job ended with an error; <see cref="DeploymentInfo.Error"/> is set.</summary>
    Failed,
    /// <summary>Cancelled while pending.</summary>
    Cancelled,
}

/// <summary>The step a job is on (the wire's <c>currentStep</c>).</summary>
[JsonConverter(typeof(WireEnumConverter<DeploymentStage>))]
public enum DeploymentStage
{
    /// <summary>A value this version of the client does not know (a newer server).</summary>
    Unknown = 0,
    /// <summary><c>queued</c>.</summary>
    Queued,
    /// <summary><c>deploying_token</c>.</summary>
    DeployingToken,
    /// <summary><c>registering_model</c>.</summary>
    RegisteringModel,
    /// <summary><c>minting_tokens</c>.</summary>
    MintingTokens,
    /// <summary><c>confirming</c>.</summary>
    Confirming,
    /// <summary><c>done</c>.</summary>
    Done,
}

/// <summary>Extensions of <see cref="DeploymentState"/>.</summary>
public static class DeploymentStateExtensions
{
    /// <summary>True for completed, failed and cancelled: the job will not change any more.</summary>
    public static bool IsFinal(this DeploymentState state) =>
        state is DeploymentState.Completed or DeploymentState.Failed or DeploymentState.Cancelled;
}

/// <summary>The body of <c>POST /api/deployments</c>. Only <see cref="ModelId"/> and <see cref="UserAddress"/> are required.</summary>
public sealed record CreateDeploymentRequest
{
    /// <summary>The model id, <c>^[A-Za-z0-9_-]{1,64}$</c>.</summary>
    public required string ModelId { get; init; }

    /// <summary>The account that receives the initial supply (0x + 40 hex).</summary>
    public required string UserAddress { get; init; }

    /// <summary>Token name; the server derives one from the model id when null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TokenName { get; init; }

    /// <summary>Token symbol; the server derives one from the model id when null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TokenSymbol { get; init; }

    /// <summary>
    /// Initial supply in the token's smallest unit (18 decimals: one whole token is 10^18) as a decimal string;
    /// see <see cref="WholeTokens"/>. Null or "0" mints nothing.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? InitialSupply { get; init; }

    /// <summary>The model's performance metric name.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PerformanceMetric { get; init; }

    /// <summary>Optional descriptive metadata.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DeploymentMetadata? Metadata { get; init; }

    /// <summary>
    /// Optional https URL that receives the job's signed final event (<c>deployment.completed</c>, <c>.failed</c> or
    /// <c>.cancelled</c>); verify deliveries with <see cref="WebhookSignatureVerifier"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Uri? CallbackUrl { get; init; }

    /// <summary>An amount of whole tokens in the smallest unit (18 decimals), for <see cref="InitialSupply"/>.</summary>
    public static string WholeTokens(System.Numerics.BigInteger tokens) =>
        tokens.Sign < 0
            ? throw new ArgumentOutOfRangeException(nameof(tokens), "A supply cannot be negative.")
            : (tokens * System.Numerics.BigInteger.Pow(10, 18)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Optional metadata of a deployment request.</summary>
public sealed record DeploymentMetadata
{
    /// <summary>At most 500 characters.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    /// <summary>Absolute http(s) URI.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Uri? Website { get; init; }

    /// <summary>Absolute http(s) URI.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Uri? Whitepaper { get; init; }

    /// <summary>At most 20 string tags.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}

/// <summary>The answer to a submission (202): where to follow the job.</summary>
public sealed record DeploymentAccepted
{
    /// <summary>The job id.</summary>
    public required Guid RequestId { get; init; }

    /// <summary>The job's status when answered.</summary>
    public DeploymentState Status { get; init; }

    /// <summary>The server's estimate of the seconds until completion.</summary>
    public int EstimatedCompletionTime { get; init; }

    /// <summary>A human-readable note.</summary>
    public string? Message { get; init; }

    /// <summary>The token address the job will create, when the server deploys through the on-chain factory.</summary>
    public string? PredictedTokenAddress { get; init; }

    /// <summary>Links to the status and cancel routes.</summary>
    public DeploymentLinks? Links { get; init; }

    /// <summary>True when the server answered a replay of an earlier submission with the same idempotency key.</summary>
    [JsonIgnore]
    public bool Replayed { get; init; }

    /// <summary>The idempotency key the submission was sent with (generated when the caller gave none).</summary>
    [JsonIgnore]
    public string IdempotencyKey { get; init; } = "";
}

/// <summary>Links of an accepted job.</summary>
/// <param name="Status">The status route.</param>
/// <param name="Cancel">The cancel route.</param>
public sealed record DeploymentLinks(string Status, string Cancel);

/// <summary>A job's status (<c>GET /api/deployments/{id}/status</c> and cancel).</summary>
public sealed record DeploymentInfo
{
    /// <summary>The job id.</summary>
    public required Guid RequestId { get; init; }

    /// <summary>Where the job stands.</summary>
    public DeploymentState Status { get; init; }

    /// <summary>0–100.</summary>
    public int Progress { get; init; }

    /// <summary>The current step.</summary>
    public DeploymentStage CurrentStep { get; init; }

    /// <summary>A detail of the step, e.g. waiting for the gas price.</summary>
    public string? StepDetail { get; init; }

    /// <summary>When the job last changed.</summary>
    public DateTimeOffset LastUpdated { get; init; }

    /// <summary>Estimated completion of an unfinished job.</summary>
    public DateTimeOffset? EstimatedCompletion { get; init; }

    /// <summary>The token address the job will create, in factory mode.</summary>
    public string? PredictedTokenAddress { get; init; }

    /// <summary>The result of a completed job.</summary>
    public TokenDetails? TokenDetails { get; init; }

    /// <summary>The error of a failed job.</summary>
    public DeploymentError? Error { get; init; }
}

/// <summary>A completed deployment's on-chain result.</summary>
public sealed record TokenDetails
{
    /// <summary>The token contract.</summary>
    public required string TokenAddress { get; init; }

    /// <summary>The token's name.</summary>
    public string? TokenName { get; init; }

    /// <summary>The token's symbol.</summary>
    public string? TokenSymbol { get; init; }

    /// <summary>The deployment transaction.</summary>
    public string? TransactionHash { get; init; }

    /// <summary>The registration transaction (the same as <see cref="TransactionHash"/> in factory mode).</summary>
    public string? RegistryTransactionHash { get; init; }

    /// <summary>The mint transaction, when an initial supply was minted.</summary>
    public string? MintTransactionHash { get; init; }

    /// <summary>The block of the deployment.</summary>
    public ulong BlockNumber { get; init; }

    /// <summary>Gas used, decimal string.</summary>
    public string? GasUsed { get; init; }

    /// <summary>Effective gas price in wei, decimal string.</summary>
    public string? GasPrice { get; init; }

    /// <summary>When the deployment was mined.</summary>
    public DateTimeOffset DeploymentTime { get; init; }

    /// <summary>The network name.</summary>
    public string? Network { get; init; }

    /// <summary>The chain id.</summary>
    public long ChainId { get; init; }
}

/// <summary>The error block of a failed job or an error response.</summary>
public sealed record DeploymentError
{
    /// <summary>The error code (see <see cref="HokusaiErrorCodes"/>).</summary>
    public required string Code { get; init; }

    /// <summary>A human-readable message.</summary>
    public string? Message { get; init; }

    /// <summary>Structured details, as sent.</summary>
    public JsonElement? Details { get; init; }

    /// <summary>What the caller may do about it.</summary>
    public IReadOnlyList<string> Suggestions { get; init; } = [];

    /// <summary>True when the same request may succeed later.</summary>
    public bool Retryable { get; init; }
}

/// <summary>One entry of the list route.</summary>
public sealed record DeploymentSummary
{
    /// <summary>The job id.</summary>
    public required Guid RequestId { get; init; }

    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The token's name.</summary>
    public string? TokenName { get; init; }

    /// <summary>The token's symbol.</summary>
    public string? TokenSymbol { get; init; }

    /// <summary>Where the job stands.</summary>
    public DeploymentState Status { get; init; }

    /// <summary>0–100.</summary>
    public int Progress { get; init; }

    /// <summary>The current step.</summary>
    public DeploymentStage CurrentStep { get; init; }

    /// <summary>When the job was accepted.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the job last changed.</summary>
    public DateTimeOffset LastUpdated { get; init; }

    /// <summary>The result of a completed job.</summary>
    public TokenDetails? TokenDetails { get; init; }

    /// <summary>The error of a failed job.</summary>
    public DeploymentError? Error { get; init; }
}

/// <summary>A page of the caller's jobs.</summary>
/// <param name="Deployments">The jobs, newest first.</param>
/// <param name="Pagination">Where the page stands.</param>
public sealed record DeploymentList(IReadOnlyList<DeploymentSummary> Deployments, Pagination Pagination);

/// <summary>Pagination of the list route.</summary>
/// <param name="Total">Matching jobs in all pages.</param>
/// <param name="Page">This page (1-based).</param>
/// <param name="Limit">Page size.</param>
/// <param name="HasNext">A later page exists.</param>
/// <param name="HasPrevious">An earlier page exists.</param>
public sealed record Pagination(long Total, int Page, int Limit, bool HasNext, bool HasPrevious);

/// <summary>Filter and page of <see cref="IHokusaiContractsClient.ListAsync"/>.</summary>
public sealed record DeploymentListQuery
{
    /// <summary>Only jobs in this state.</summary>
    public DeploymentState? Status { get; init; }

    /// <summary>Only jobs of this model.</summary>
    public string? ModelId { get; init; }

    /// <summary>1-based page.</summary>
    public int Page { get; init; } = 1;

    /// <summary>Page size, 1–100.</summary>
    public int Limit { get; init; } = 20;
}

/// <summary>The error codes the API answers with (the envelope's <c>error.code</c>).</summary>
public static class HokusaiErrorCodes
{
    /// <summary>400: an invalid field or malformed request.</summary>
    public const string ValidationError = "VALIDATION_ERROR";
    /// <summary>401: missing or invalid credentials.</summary>
    public const string InvalidToken = "INVALID_TOKEN";
    /// <summary>401: an expired JWT.</summary>
    public const string TokenExpired = "TOKEN_EXPIRED";
    /// <summary>403: not allowed.</summary>
    public const string Unauthorized = "UNAUTHORIZED";
    /// <summary>404: no such job for this caller.</summary>
    public const string DeploymentNotFound = "DEPLOYMENT_NOT_FOUND";
    /// <summary>409: the model already has a token.</summary>
    public const string TokenAlreadyExists = "TOKEN_ALREADY_EXISTS";
    /// <summary>409: another job of the model is running.</summary>
    public const string DeploymentInProgress = "DEPLOYMENT_IN_PROGRESS";
    /// <summary>409: the job can no longer be cancelled.</summary>
    public const string DeploymentNotCancellable = "DEPLOYMENT_NOT_CANCELLABLE";
    /// <summary>422: the idempotency key was used with another body.</summary>
    public const string IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED";
    /// <summary>429: quota or request rate exceeded.</summary>
    public const string RateLimitExceeded = "RATE_LIMIT_EXCEEDED";
    /// <summary>503: the store or chain is unreachable.</summary>
    public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";
    /// <summary>500: an unexpected server failure.</summary>
    public const string InternalError = "INTERNAL_ERROR";
}
