using System.Diagnostics.Metrics;
using System.Numerics;
using Hokusai.Contracts.Jobs;

namespace Hokusai.Contracts.Diagnostics;

/// <summary>
/// Per-key gauges of the signer pool, tagged <c>signer</c> (address) and <c>index</c>: whether this replica owns the
/// key, its jobs in flight here, its next nonce here, and its balance as last read by readiness.
/// </summary>
internal sealed class SignerPoolMetrics
{
    private readonly SignerPool _pool;
    private readonly Dictionary<string, double> _balances = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    public SignerPoolMetrics(SignerPool pool, IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _pool = pool;
        var meter = meterFactory.Create(HokusaiContractsDiagnostics.MeterName);
        const string P = HokusaiContractsDiagnostics.InstrumentPrefix;
        meter.CreateObservableGauge(P + "signer.owned", () => Observe(s => s.OwnedHere ? 1 : 0), "{key}", "1 while this replica holds the key's lease.");
        meter.CreateObservableGauge(P + "signer.in_flight", () => Observe(s => s.ActiveJobs), "{job}", "Jobs of the key this replica is running.");
        meter.CreateObservableGauge(P + "signer.next_nonce", () => Observe(s => s.OwnedHere && s.NextNonce is { } n ? (long)n : -1), "{nonce}", "Next nonce this replica hands out for the key (-1 when not owned here or not known yet).");
        meter.CreateObservableGauge(P + "signer.balance", ObserveBalances, "{ether}", "The key's balance as last read by the readiness check.");
    }

    /// <summary>Records a key's balance (from the readiness probe).</summary>
    public void ReportBalance(string address, BigInteger wei)
    {
        lock (_lock)
        {
            _balances[address] = (double)wei / 1e18;
        }
    }

    private List<Measurement<long>> Observe(Func<PoolSigner, long> value) =>
        _pool.Signers.Select(s => new Measurement<long>(value(s), Tags(s))).ToList();

    private List<Measurement<double>> ObserveBalances()
    {
        lock (_lock)
        {
            return _pool.Signers.Where(s => _balances.ContainsKey(s.Address)).Select(s => new Measurement<double>(_balances[s.Address], Tags(s))).ToList();
        }
    }

    private static KeyValuePair<string, object?>[] Tags(PoolSigner signer) =>
        [new("signer", signer.Address), new("index", signer.Index)];
}
