using System.Numerics;

namespace Hokusai.Contracts;

/// <summary>A validated request to deploy a model's token. Construct it through the API's validator.</summary>
public sealed record DeploymentRequest
{
    /// <summary>The model id (<c>^[A-Za-z0-9_-]{1,64}$</c>); one token per model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The user's address, normalised to its EIP-55 checksum form.</summary>
    public required string UserAddress { get; init; }

    /// <summary>ERC-20 name.</summary>
    public required string TokenName { get; init; }

    /// <summary>ERC-20 symbol.</summary>
    public required string TokenSymbol { get; init; }

    /// <summary>Initial supply in the token's smallest unit, minted to <see cref="UserAddress"/>; zero for none.</summary>
    public BigInteger InitialSupply { get; init; }

    /// <summary>The metric recorded in the registry next to the token.</summary>
    public required string PerformanceMetric { get; init; }

    /// <summary>Optional descriptive metadata (kept with the job, not written on chain).</summary>
    public DeploymentMetadata? Metadata { get; init; }

    /// <summary>Optional receiver of this job's final event (<c>callbackUrl</c>); overrides the owner's configured endpoint.</summary>
    public string? CallbackUrl { get; init; }
}

/// <summary>Optional descriptive metadata of a deployment.</summary>
public sealed record DeploymentMetadata
{
    /// <summary>Free text, at most 500 characters.</summary>
    public string? Description { get; init; }

    /// <summary>An absolute http(s) URI.</summary>
    public string? Website { get; init; }

    /// <summary>An absolute http(s) URI.</summary>
    public string? Whitepaper { get; init; }

    /// <summary>Free-form string tags.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}
