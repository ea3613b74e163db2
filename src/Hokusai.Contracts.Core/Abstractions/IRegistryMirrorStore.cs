namespace Hokusai.Contracts.Backends;

/// <summary>
/// Where the registry mirror keeps what it read from the chain: model id → token, and the cursor (the last block
/// whose registrations are all applied). Shared by the replicas of one backend, so a restart resumes from the
/// cursor instead of reading the chain from its start. The in-memory default lives as long as the process.
/// </summary>
public interface IRegistryMirrorStore
{
    /// <summary>The last fully applied block, or null when the mirror is empty (never filled, or wiped).</summary>
    Task<ulong?> GetCursorAsync(CancellationToken cancellationToken);

    /// <summary>Every mirrored model id with its token.</summary>
    Task<IReadOnlyDictionary<string, string>> GetModelsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="registrations"/> and moves the cursor to <paramref name="throughBlock"/> in one step.
    /// Idempotent: re-applying a range changes nothing, and the cursor never moves back (another replica may be
    /// ahead).
    /// </summary>
    Task ApplyAsync(IReadOnlyCollection<KeyValuePair<string, string>> registrations, ulong throughBlock, CancellationToken cancellationToken);
}
