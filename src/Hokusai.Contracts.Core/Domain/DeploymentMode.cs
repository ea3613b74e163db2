using System.Text.Json.Serialization;

namespace Hokusai.Contracts;

/// <summary>How a job puts its token on chain. A job keeps the mode it started with.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentMode>))]
public enum DeploymentMode
{
    /// <summary>Three transactions from the deployer: token creation, <c>registerModel</c>, <c>mintTokens</c>.</summary>
    Legacy,
    /// <summary>One <c>TokenManager.deployToken</c> transaction that creates (CREATE2), registers and mints.</summary>
    Factory,
}

/// <summary>The configured mode (<c>DEPLOYMENT_MODE</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentModeSetting>))]
public enum DeploymentModeSetting
{
    /// <summary>Factory when the contracts and the key allow it, legacy otherwise.</summary>
    Auto,
    /// <summary>Always factory; readiness fails when the contracts or the key do not allow it.</summary>
    Factory,
    /// <summary>Always the three-transaction flow.</summary>
    Legacy,
}
