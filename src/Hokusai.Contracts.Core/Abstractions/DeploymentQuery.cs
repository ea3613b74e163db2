namespace Hokusai.Contracts;

/// <summary>Filter and page for listing.</summary>
/// <param name="Status">Only this status, if set.</param>
/// <param name="ModelId">Only this model id, if set.</param>
/// <param name="Page">1-based page.</param>
/// <param name="Limit">Page size (1–100).</param>
public sealed record DeploymentQuery(DeploymentStatus? Status = null, string? ModelId = null, int Page = 1, int Limit = 20)
{
    /// <summary>Largest page size a store returns.</summary>
    public const int MaxLimit = 100;

    /// <summary>The page size a store uses: <see cref="Limit"/> clamped to 1–<see cref="MaxLimit"/>.</summary>
    public int EffectiveLimit => Math.Clamp(Limit, 1, MaxLimit);

    /// <summary>
    /// How many matching jobs precede the page, computed in 64 bits: <c>(Page - 1) × Limit</c> exceeds
    /// <see cref="int.MaxValue"/> for large pages, and an overflowing product would wrap to an earlier page.
    /// </summary>
    public long Offset => ((long)Math.Max(Page, 1) - 1) * EffectiveLimit;

    /// <summary>The jobs of this page out of all matching jobs (already in order).</summary>
    /// <typeparam name="T">Item type.</typeparam>
    /// <param name="matching">Every matching item, newest first.</param>
    /// <returns>At most <see cref="EffectiveLimit"/> items; none beyond the end.</returns>
    public IReadOnlyList<T> Slice<T>(IReadOnlyList<T> matching)
    {
        ArgumentNullException.ThrowIfNull(matching);
        return Offset >= matching.Count ? [] : [.. matching.Skip((int)Offset).Take(EffectiveLimit)];
    }
}

/// <summary>One page of jobs.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="Total">Matching jobs in all pages.</param>
public sealed record DeploymentPage(IReadOnlyList<DeploymentJob> Items, long Total);

/// <summary>Thrown by stores, queues and quotas when their backend is unreachable; maps to 503.</summary>
public sealed class StoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StoreUnavailableException() : base("The job store is unavailable.") { }

    /// <summary>Creates the exception with a message.</summary>
    public StoreUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and cause.</summary>
    public StoreUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}
