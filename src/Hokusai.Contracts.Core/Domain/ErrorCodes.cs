namespace Hokusai.Contracts;

/// <summary>The error codes of the public API, wire-compatible with the original service.</summary>
public static class ErrorCodes
{
    /// <summary>Missing or invalid credentials.</summary>
    public const string InvalidToken = "INVALID_TOKEN";
    /// <summary>An expired JWT.</summary>
    public const string TokenExpired = "TOKEN_EXPIRED";
    /// <summary>Authenticated, but not allowed (e.g. <c>userAddress</c> differs from the JWT's address).</summary>
    public const string Unauthorized = "UNAUTHORIZED";
    /// <summary>Invalid input.</summary>
    public const string ValidationError = "VALIDATION_ERROR";
    /// <summary>Body is not JSON.</summary>
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";
    /// <summary>No such job for this caller.</summary>
    public const string DeploymentNotFound = "DEPLOYMENT_NOT_FOUND";
    /// <summary>The model already has a token (in the store or on chain).</summary>
    public const string TokenAlreadyExists = "TOKEN_ALREADY_EXISTS";
    /// <summary>Another job for the model is pending or processing.</summary>
    public const string DeploymentInProgress = "DEPLOYMENT_IN_PROGRESS";
    /// <summary>The job can no longer be cancelled.</summary>
    public const string DeploymentNotCancellable = "DEPLOYMENT_NOT_CANCELLABLE";
    /// <summary>The same idempotency key was used with a different body.</summary>
    public const string IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED";
    /// <summary>A quota or rate limit was hit.</summary>
    public const string RateLimitExceeded = "RATE_LIMIT_EXCEEDED";
    /// <summary>A dependency (Redis, RPC) is unavailable; retryable.</summary>
    public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";
    /// <summary>No webhook event with this id for the deployment.</summary>
    public const string EventNotFound = "EVENT_NOT_FOUND";
    /// <summary>The webhook event is being delivered right now.</summary>
    public const string EventDeliveryInProgress = "EVENT_DELIVERY_IN_PROGRESS";
    /// <summary>Unknown route.</summary>
    public const string NotFound = "NOT_FOUND";
    /// <summary>Unexpected failure; no details are exposed.</summary>
    public const string InternalError = "INTERNAL_ERROR";

    /// <summary>A transaction reverted on chain.</summary>
    public const string TransactionReverted = "TRANSACTION_REVERTED";
    /// <summary>The deployer cannot pay for gas.</summary>
    public const string InsufficientFunds = "INSUFFICIENT_FUNDS";
    /// <summary>The deployer lacks the minter role on the TokenManager, or does not own the registry.</summary>
    public const string DeployerNotAuthorized = "DEPLOYER_NOT_AUTHORIZED";
    /// <summary>The chain could not be reached after retries.</summary>
    public const string BlockchainUnavailable = "BLOCKCHAIN_UNAVAILABLE";
    /// <summary>The deployment failed for another chain reason.</summary>
    public const string DeploymentFailed = "DEPLOYMENT_FAILED";
}
