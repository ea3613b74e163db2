namespace Hokusai.Contracts;

/// <summary>A quota decision, with what the <c>RateLimit-*</c> headers need.</summary>
/// <param name="Allowed">Whether the deployment may be accepted.</param>
/// <param name="Limit">The limit of the tightest window.</param>
/// <param name="Remaining">Units left in the tightest window after this decision.</param>
/// <param name="ResetAfter">Time until the tightest window frees a unit.</param>
/// <param name="Window">Name of the tightest window (<c>hour</c> or <c>day</c>).</param>
public sealed record QuotaDecision(bool Allowed, int Limit, int Remaining, TimeSpan ResetAfter, string Window);
