using System.Text.Json.Serialization;

namespace Hokusai.Contracts;

/// <summary>The externally visible state of a deployment job (the wire values are lower-case).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentStatus>))]
public enum DeploymentStatus
{
    /// <summary>Accepted and queued; may still be cancelled.</summary>
    Pending,
    /// <summary>A worker owns the job and is talking to the chain.</summary>
    Processing,
    /// <summary>Token deployed, registered (and minted when asked).</summary>
    Completed,
    /// <summary>Ended with an error; see the job's error.</summary>
    Failed,
    /// <summary>Cancelled by its owner while pending.</summary>
    Cancelled,
}

/// <summary>The step a job is on. Each step's transaction hash is persisted before its receipt is awaited.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentStep>))]
public enum DeploymentStep
{
    /// <summary>Waiting in the queue.</summary>
    Queued,
    /// <summary>Sending the <c>HokusaiToken</c> creation transaction and waiting for it.</summary>
    DeployingToken,
    /// <summary>Registering the token in the <c>ModelRegistry</c>.</summary>
    RegisteringModel,
    /// <summary>Minting the initial supply through the <c>TokenManager</c>.</summary>
    MintingTokens,
    /// <summary>Waiting for the configured confirmation depth.</summary>
    Confirming,
    /// <summary>Nothing left to do (the job is final).</summary>
    Done,
}

/// <summary>Helpers for the wire names of statuses and steps.</summary>
public static class DeploymentStatusExtensions
{
    /// <summary>The lower-case wire value (<c>pending</c>, <c>processing</c>, …).</summary>
    public static string ToWireValue(this DeploymentStatus status) => status switch
    {
        DeploymentStatus.Pending => "pending",
        DeploymentStatus.Processing => "processing",
        DeploymentStatus.Completed => "completed",
        DeploymentStatus.Failed => "failed",
        DeploymentStatus.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>Parses a wire value case-insensitively.</summary>
    public static bool TryParseWireValue(string? value, out DeploymentStatus status)
    {
        status = default;
        return value is not null
            && Enum.TryParse(value, ignoreCase: true, out status)
            && Enum.IsDefined(status);
    }

    /// <summary>The snake_case wire value of a step (<c>deploying_token</c>, …), also used as a metric tag.</summary>
    public static string ToWireValue(this DeploymentStep step) => step switch
    {
        DeploymentStep.Queued => "queued",
        DeploymentStep.DeployingToken => "deploying_token",
        DeploymentStep.RegisteringModel => "registering_model",
        DeploymentStep.MintingTokens => "minting_tokens",
        DeploymentStep.Confirming => "confirming",
        DeploymentStep.Done => "done",
        _ => throw new ArgumentOutOfRangeException(nameof(step), step, null),
    };

    /// <summary>True for completed, failed and cancelled.</summary>
    public static bool IsFinal(this DeploymentStatus status) =>
        status is DeploymentStatus.Completed or DeploymentStatus.Failed or DeploymentStatus.Cancelled;
}
