namespace Hokusai.Contracts;

/// <summary>How <see cref="DevChain.StartAsync"/> starts the local chain.</summary>
public sealed class DevChainOptions
{
    /// <summary>
    /// The anvil binary. When null: the <c>ANVIL_PATH</c> environment variable, else <c>anvil</c> on
    /// <c>PATH</c>, else <c>node_modules/@foundry-rs/anvil-*/bin/anvil</c> (the npm package
    /// <c>@foundry-rs/anvil</c>, version 1.7.1) found by walking up from the current directory and then from
    /// the application's base directory. When nothing is found the error lists every place looked in.
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
