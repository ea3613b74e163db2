using System.Security.Claims;

namespace Hokusai.Contracts.AspNetCore.Authentication;

/// <summary>Claim types as they appear in tokens (inbound claim-type mapping is off).</summary>
internal static class HokusaiClaimTypes
{
    /// <summary>The caller identity.</summary>
    public const string Subject = "sub";

    /// <summary>The Ethereum address a JWT binds <c>userAddress</c> to.</summary>
    public const string Address = "address";
}

/// <summary>Reads the caller identity that owns jobs and quotas.</summary>
internal static class CallerIdentity
{
    public static string GetOwner(ClaimsPrincipal user) =>
        user.FindFirstValue(HokusaiClaimTypes.Subject)
        ?? throw new InvalidOperationException("The caller has no subject; the route must require the Hokusai authorization policy.");
}
