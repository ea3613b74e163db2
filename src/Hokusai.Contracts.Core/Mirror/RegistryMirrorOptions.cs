namespace Hokusai.Contracts.Mirror;

/// <summary>Settings of the registry mirror (<see cref="RegistryMirror"/>).</summary>
public sealed class RegistryMirrorOptions
{
    /// <summary>
    /// When false the mirror never follows the chain and every lookup is one registry view call (the behaviour
    /// before the mirror existed). Default true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// First block read when the store holds no cursor (first start, or a wiped mirror): the registry's deployment
    /// block saves reading older blocks. Default 0. Env <c>REGISTRY_MIRROR_START_BLOCK</c>.
    /// </summary>
    public ulong StartBlock { get; set; }

    /// <summary>How often new blocks are read once caught up. Default 2 s. Env <c>REGISTRY_MIRROR_POLL_INTERVAL</c>.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Most blocks per <c>eth_getLogs</c> query (providers cap ranges). Default 2000. Env <c>REGISTRY_MIRROR_BLOCK_RANGE</c>.</summary>
    public int MaxBlockRange { get; set; } = 2000;

    internal IEnumerable<string> Validate()
    {
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(10))
        {
            yield return "REGISTRY_MIRROR_POLL_INTERVAL (HokusaiContracts:RegistryMirror:PollInterval) must be positive and at most 10 minutes.";
        }

        if (MaxBlockRange is < 1 or > 100_000)
        {
            yield return "REGISTRY_MIRROR_BLOCK_RANGE (HokusaiContracts:RegistryMirror:MaxBlockRange) must be between 1 and 100000.";
        }
    }
}
