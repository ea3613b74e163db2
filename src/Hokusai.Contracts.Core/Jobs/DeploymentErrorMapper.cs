using Hokusai.Contracts.Chain;

namespace Hokusai.Contracts.Jobs;

/// <summary>
/// Maps chain failures to the API's errors by the decoded revert name (the custom error's name from the
/// contracts' ABIs, or OpenZeppelin's), never by searching message texts.
/// </summary>
internal sealed class DeploymentErrorMapper(TimeProvider timeProvider)
{
    /// <summary>Reverts meaning the model (or the token) already has its entry on chain.</summary>
    private static readonly HashSet<string> AlreadyExists = new(StringComparer.Ordinal)
    {
        "ModelAlreadyRegistered", "TokenAlreadyRegistered", "ModelAlreadyHasToken",
    };

    /// <summary>Reverts meaning the key lacks a role or ownership the step needs.</summary>
    private static readonly HashSet<string> NotAuthorized = new(StringComparer.Ordinal)
    {
        "OwnableUnauthorizedAccount", "AccessControlUnauthorizedAccount", "NotMinter", "NotDeployer", "OnlyController",
    };

    public DeploymentError Map(ChainException exception, DeploymentJob job)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(job);
        var reason = exception.RevertReason ?? string.Empty;
        var now = timeProvider.GetUtcNow();
        if (exception.Kind == ChainErrorKind.Reverted && AlreadyExists.Contains(reason))
        {
            return TokenExists(job.Request.ModelId, job.Transactions.TokenAddress ?? string.Empty) with
            {
                Message = $"Model '{job.Request.ModelId}' was registered by someone else first ({reason}).",
            };
        }

        return exception.Kind switch
        {
            ChainErrorKind.InsufficientFunds => new DeploymentError
            {
                Code = ErrorCodes.InsufficientFunds,
                Message = "The deployer account cannot pay for gas.",
                Suggestions = ["Fund the deployer account, then retry the deployment."],
                Timestamp = now,
                Retryable = true,
            },
            ChainErrorKind.Reverted when NotAuthorized.Contains(reason) => new DeploymentError
            {
                Code = ErrorCodes.DeployerNotAuthorized,
                Message = $"The deployer is not allowed to perform this step ({reason}).",
                Suggestions = job.Mode == DeploymentMode.Factory
                    ? ["Grant the deployer DEPLOYER_ROLE on the TokenManager.", "Make the TokenManager a registrar of the ModelRegistry (setRegistrar)."]
                    : ["Make the deployer the ModelRegistry owner.", "Grant the deployer MINTER_ROLE on the TokenManager."],
                Timestamp = now,
            },
            ChainErrorKind.Reverted => new DeploymentError
            {
                Code = ErrorCodes.TransactionReverted,
                Message = $"A transaction reverted: {(reason.Length > 0 ? reason : "no reason given")}.",
                Details = reason.Length > 0 ? Detail("revertReason", reason) : null,
                Suggestions = ["Check the request parameters.", "Contact support with the request id."],
                Timestamp = now,
            },
            _ => new DeploymentError
            {
                Code = ErrorCodes.DeploymentFailed,
                Message = "The deployment failed on chain.",
                Details = Detail("reason", exception.Message),
                Suggestions = ["Retry the deployment.", "Contact support with the request id."],
                Timestamp = now,
            },
        };
    }

    /// <summary>One named detail: <c>error.details</c> is always an object.</summary>
    private static Dictionary<string, string> Detail(string name, string value) => new(StringComparer.Ordinal) { [name] = value };

    public DeploymentError TokenExists(string modelId, string token) => new()
    {
        Code = ErrorCodes.TokenAlreadyExists,
        Message = $"Model '{modelId}' already has a token registered on chain.",
        Details = new Dictionary<string, string>(StringComparer.Ordinal) { ["modelId"] = modelId, ["tokenAddress"] = token },
        Suggestions = ["Use the existing token.", "Choose another model id."],
        Timestamp = timeProvider.GetUtcNow(),
    };

    public DeploymentError Exhausted(Exception lastError) => new()
    {
        Code = ErrorCodes.BlockchainUnavailable,
        Message = lastError is StoreUnavailableException ? "The job store was unavailable for too long." : "The blockchain RPC endpoints were unavailable for too long.",
        Details = Detail("reason", lastError.Message),
        Suggestions = ["Retry the deployment later.", "Check the RPC endpoints configured in RPC_URL / RPC_URLS."],
        Timestamp = timeProvider.GetUtcNow(),
        Retryable = true,
    };
}
