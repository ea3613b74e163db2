using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Jobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Health;

/// <summary>Readiness: the RPC node answers with the latest block (and the expected chain id, when one is configured).</summary>
internal sealed class RpcHealthCheck(HealthProbes probes, IOptions<HokusaiContractsOptions> contractsOptions) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = await probes.ChainStatus.GetAsync(cancellationToken);
        if (!result.Succeeded || result.Value is null)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"RPC node unavailable: {result.Error}");
        }

        var status = result.Value;
        var data = new Dictionary<string, object>
        {
            ["chainId"] = status.ChainId,
            ["latestBlock"] = status.LatestBlock,
        };

        var expected = contractsOptions.Value.Chain.ChainId;
        if (expected != 0 && expected != status.ChainId)
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus,
                $"RPC node is on chain {status.ChainId}, expected {expected} (CHAIN_ID)",
                data: data);
        }

        return HealthCheckResult.Healthy($"chain {status.ChainId}, block {status.LatestBlock}", data);
    }
}

/// <summary>Readiness: a view call on the <c>ModelRegistry</c> succeeds (the contract is deployed and reachable).</summary>
internal sealed class ModelRegistryHealthCheck(HealthProbes probes) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = await probes.ModelRegistry.GetAsync(cancellationToken);
        return result.Succeeded
            ? HealthCheckResult.Healthy("ModelRegistry view call succeeded")
            : new HealthCheckResult(context.Registration.FailureStatus, $"ModelRegistry view call failed: {result.Error}");
    }
}

/// <summary>
/// Readiness: which deployment mode new jobs start in, and why (<c>DEPLOYMENT_MODE</c> and what the
/// contracts and the key allow). Unhealthy only when factory mode is forced but the chain does not allow it;
/// degraded while the mode cannot be read (the <c>rpc</c> check reports the outage itself).
/// </summary>
internal sealed class DeploymentModeHealthCheck(IServiceProvider services, IOptions<HokusaiHealthCheckOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService(typeof(DeploymentModeResolver)) is not DeploymentModeResolver resolver)
        {
            return HealthCheckResult.Healthy("no job engine in this host (AddHokusaiContracts not called)");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.Timeout);
            var decision = resolver.Current ?? await resolver.ResolveAsync(timeout.Token);
            var data = new Dictionary<string, object> { ["mode"] = decision.Mode.ToString().ToLowerInvariant() };
            var description = $"{decision.Mode.ToString().ToLowerInvariant()} ({decision.Reason})";
            return decision.Usable
                ? HealthCheckResult.Healthy(description, data)
                : new HealthCheckResult(context.Registration.FailureStatus, description, data: data);
        }
        catch (Exception ex) when (ex is ChainException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Degraded("deployment mode not known yet: " + CachedProbe<object>.Describe(ex));
        }
    }
}
