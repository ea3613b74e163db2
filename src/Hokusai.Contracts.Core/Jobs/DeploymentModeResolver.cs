using Hokusai.Contracts.Chain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Jobs;

/// <summary>The mode new jobs start in, and why.</summary>
/// <param name="Mode">The mode.</param>
/// <param name="Reason">Why (the configured setting and what the chain allows).</param>
/// <param name="Usable">False when the configuration forces factory mode but the chain does not allow it.</param>
internal sealed record DeploymentModeDecision(DeploymentMode Mode, string Reason, bool Usable = true);

/// <summary>
/// Decides <c>DEPLOYMENT_MODE</c> for new jobs: forced modes as configured; <c>auto</c> reads
/// <see cref="IChainClient.GetFactorySupportAsync"/> (three view calls) and caches the answer for
/// <see cref="CacheFor"/>, so accepting a job never costs an RPC call once the mode is known.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A process-lifetime singleton; the semaphore never allocates a wait handle.")]
internal sealed partial class DeploymentModeResolver(IChainClient chain, IOptions<HokusaiContractsOptions> options, TimeProvider timeProvider, ILogger<DeploymentModeResolver> logger)
{
    internal static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private (DeploymentModeDecision Decision, DateTimeOffset At)? _cached;

    /// <summary>The last decision, if one was made within <see cref="CacheFor"/>.</summary>
    public DeploymentModeDecision? Current =>
        _cached is { } cached && timeProvider.GetUtcNow() - cached.At < CacheFor ? cached.Decision : null;

    /// <summary>The decision, from the cache or the chain.</summary>
    /// <exception cref="ChainException">The chain could not be asked (auto or forced factory mode).</exception>
    public async Task<DeploymentModeDecision> ResolveAsync(CancellationToken cancellationToken)
    {
        var setting = options.Value.Chain.DeploymentMode;
        if (setting == DeploymentModeSetting.Legacy)
        {
            return PoolChecked(new DeploymentModeDecision(DeploymentMode.Legacy, "DEPLOYMENT_MODE=legacy"));
        }

        if (Current is { } current)
        {
            return current;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Current is { } again)
            {
                return again;
            }

            var support = await chain.GetFactorySupportAsync(cancellationToken);
            var decision = setting == DeploymentModeSetting.Factory
                ? new DeploymentModeDecision(DeploymentMode.Factory, support.Available ? "DEPLOYMENT_MODE=factory: " + support.Describe() : "DEPLOYMENT_MODE=factory, but " + support.Describe(), support.Available)
                : support.Available
                    ? new DeploymentModeDecision(DeploymentMode.Factory, "auto: " + support.Describe())
                    : new DeploymentModeDecision(DeploymentMode.Legacy, "auto: " + support.Describe());
            decision = PoolChecked(decision);
            if (_cached?.Decision != decision)
            {
                LogDecided(logger, decision.Mode, decision.Reason);
            }

            _cached = (decision, timeProvider.GetUtcNow());
            return decision;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A signer pool of more than one key cannot run the three-transaction flow (one registry owner): not usable.</summary>
    private DeploymentModeDecision PoolChecked(DeploymentModeDecision decision)
    {
        var keys = SignerKeys.Parse(options.Value.Chain).Keys.Count;
        return decision.Mode == DeploymentMode.Legacy && keys > 1
            ? decision with { Usable = false, Reason = decision.Reason + $"; but the signer pool has {keys} keys (DEPLOYER_PRIVATE_KEYS), which needs factory mode: grant DEPLOYER_ROLE to every key and make the TokenManager a registrar" }
            : decision;
    }

    [LoggerMessage(40, LogLevel.Information, "Deployment mode {Mode}: {Reason}")]
    private static partial void LogDecided(ILogger logger, DeploymentMode mode, string reason);
}
