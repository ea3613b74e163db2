namespace Hokusai.Contracts;

/// <summary>How <see cref="DevChain.StartAsync"/> starts the local chain.</summary>
public sealed class DevChainOptions
{
    /// <summary>
    /// The anvil binary. When null: the <c>ANVIL_PATH</c> environment variable, else
    /// <c>node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil</c> found by walking up from the current
    /// directory and from the application's base directory.
    /// </summary>
    public string? AnvilPath { get; set; }

    /// <summary>Interval between blocks; null (the default) mines each transaction as it arrives.</summary>
    public TimeSpan? BlockTime { get; set; }

    /// <summary>Chain id the node reports.</summary>
    public long ChainId { get; set; } = 31337;

    /// <summary>
    /// Bootstrap the contracts for factory mode (the manager is a registrar, the deployer holds
    /// <c>DEPLOYER_ROLE</c>); false deploys them for the three-transaction flow only.
    /// </summary>
    public bool Factory { get; set; } = true;

    /// <summary>How long to wait for the node to answer and the contracts to deploy.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
