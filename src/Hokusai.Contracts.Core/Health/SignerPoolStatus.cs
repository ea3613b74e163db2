using System.Globalization;
using System.Numerics;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Hokusai.Contracts.Health;
using Hokusai.Contracts.Jobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts;

/// <summary>One key of the signer pool as this replica sees it.</summary>
public sealed record SignerStatus
{
    /// <summary>Place in the pool (0 = <c>DEPLOYER_PRIVATE_KEY</c>, else the first of <c>DEPLOYER_PRIVATE_KEYS</c>).</summary>
    public required int Index { get; init; }

    /// <summary>The key's address (EIP-55); the key itself is never reported.</summary>
    public required string Address { get; init; }

    /// <summary>The replica leasing the key, when known (null: free, or not readable).</summary>
    public string? Owner { get; init; }

    /// <summary>True when this replica leases the key.</summary>
    public required bool OwnedHere { get; init; }

    /// <summary>Balance in wei, when it could be read.</summary>
    public BigInteger? BalanceWei { get; init; }

    /// <summary>Whether the key holds <c>DEPLOYER_ROLE</c> on the TokenManager, when it could be read.</summary>
    public bool? HasDeployerRole { get; init; }

    /// <summary>Jobs of the key this replica is running.</summary>
    public required int InFlight { get; init; }

    /// <summary>The next nonce this replica hands out for the key (only while it owns it and knows it).</summary>
    public BigInteger? NextNonce { get; init; }

    /// <summary>Why the chain facts are missing, if they are.</summary>
    public string? Error { get; init; }
}

/// <summary>The signer pool's keys, for <c>/health/detailed</c> and the readiness check <c>signer_pool</c>.</summary>
public interface ISignerPoolStatus
{
    /// <summary>Every key of the pool (chain facts cached briefly, like the other readiness probes).</summary>
    Task<IReadOnlyList<SignerStatus>> GetSignersAsync(CancellationToken cancellationToken);
}

/// <summary>Reads each key's balance, role and owner; what this replica does with a key comes from the pool itself.</summary>
internal sealed class SignerPoolMonitor : ISignerPoolStatus
{
    private readonly SignerPool _pool;
    private readonly ISignerLeaseManager _leases;
    private readonly SignerPoolMetrics _metrics;
    private readonly CachedProbe<IReadOnlyList<(BigInteger? Balance, bool? Role, string? Owner, string? Error)>> _probe;

    public SignerPoolMonitor(SignerPool pool, ISignerLeaseManager leases, SignerPoolMetrics metrics, TimeProvider time, IOptions<HokusaiHealthCheckOptions> options)
    {
        _pool = pool;
        _leases = leases;
        _metrics = metrics;
        // A pool probe asks every key at once; it gets the per-call timeout twice over (reads run in parallel).
        _probe = new(ReadAsync, time, options.Value.Timeout, options.Value.CacheDuration);
    }

    public async Task<IReadOnlyList<SignerStatus>> GetSignersAsync(CancellationToken cancellationToken)
    {
        var result = await _probe.GetAsync(cancellationToken);
        return _pool.Signers.Select((s, i) =>
        {
            var facts = result.Succeeded && result.Value is { } values ? values[i] : (null, null, null, result.Error);
            return new SignerStatus
            {
                Index = s.Index,
                Address = s.Address,
                Owner = s.OwnedHere ? _leases.ReplicaId : facts.Owner,
                OwnedHere = s.OwnedHere,
                BalanceWei = facts.Balance,
                HasDeployerRole = facts.Role,
                InFlight = s.ActiveJobs,
                NextNonce = s.OwnedHere ? s.NextNonce : null,
                Error = facts.Error,
            };
        }).ToList();
    }

    private async Task<IReadOnlyList<(BigInteger? Balance, bool? Role, string? Owner, string? Error)>> ReadAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(_pool.Signers.Select(s => ReadOneAsync(s, cancellationToken)));

    private async Task<(BigInteger? Balance, bool? Role, string? Owner, string? Error)> ReadOneAsync(PoolSigner signer, CancellationToken cancellationToken)
    {
        string? owner = null;
        try
        {
            owner = await _leases.GetOwnerAsync(signer.Address, cancellationToken);
        }
        catch (StoreUnavailableException)
        {
            // The owner is informational; the redis check reports the outage.
        }

        try
        {
            var status = signer.Chain.GetStatusAsync(cancellationToken);
            var support = signer.Chain.GetFactorySupportAsync(cancellationToken);
            var balance = (await status).DeployerBalanceWei;
            _metrics.ReportBalance(signer.Address, balance);
            return (balance, (await support).DeployerHasRole, owner, null);
        }
        catch (ChainException ex)
        {
            return (null, null, owner, ex.Message);
        }
    }
}

/// <summary>
/// Readiness with a signer pool (more than one key): unhealthy naming each key (by place and address) that lacks
/// <c>DEPLOYER_ROLE</c> on the TokenManager or whose balance is below <see cref="HokusaiHealthCheckOptions.DeployerBalanceWarningEth"/>.
/// A pool of one reports its key and stays healthy (the chain checks and <c>/health/detailed</c>'s warnings cover it).
/// </summary>
internal sealed class SignerPoolHealthCheck(IServiceProvider services, IOptions<HokusaiHealthCheckOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService(typeof(ISignerPoolStatus)) is not ISignerPoolStatus pool)
        {
            return HealthCheckResult.Healthy("no job engine in this host (AddHokusaiContracts not called)");
        }

        var signers = await pool.GetSignersAsync(cancellationToken);
        var threshold = options.Value.DeployerBalanceWarningEth;
        var minimumWei = new BigInteger(threshold * 1_000_000_000m) * 1_000_000_000;
        var data = new Dictionary<string, object> { ["keys"] = signers.Count };
        if (signers.Count < 2)
        {
            return HealthCheckResult.Healthy(signers.Count == 1 ? $"one key, {Describe(signers[0])}" : "no keys", data);
        }

        var problems = new List<string>();
        foreach (var s in signers)
        {
            if (s.Error is not null)
            {
                problems.Add($"key {s.Index} ({s.Address}) could not be checked: {s.Error}");
                continue;
            }

            if (s.HasDeployerRole == false)
            {
                problems.Add($"key {s.Index} ({s.Address}) lacks DEPLOYER_ROLE on the TokenManager");
            }

            if (s.BalanceWei is { } wei && wei < minimumWei)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"key {s.Index} ({s.Address}) lacks funds: {FormatEth(wei)} ETH, below {threshold} ETH (DEPLOYER_BALANCE_WARNING_ETH)"));
            }
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy($"{signers.Count} keys, each with DEPLOYER_ROLE and at least {threshold.ToString(CultureInfo.InvariantCulture)} ETH; {signers.Count(s => s.OwnedHere)} owned here", data)
            : new HealthCheckResult(context.Registration.FailureStatus, string.Join("; ", problems), data: data);
    }

    private static string Describe(SignerStatus s) => s.BalanceWei is { } wei
        ? $"key 0 ({s.Address}), {FormatEth(wei)} ETH"
        : $"key 0 ({s.Address})";

    internal static string FormatEth(BigInteger wei) =>
        ((decimal)(wei / 1_000_000_000) / 1_000_000_000m).ToString("0.######", CultureInfo.InvariantCulture);
}
