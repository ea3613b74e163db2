namespace Hokusai.Contracts;

/// <summary>
/// Names of the library's telemetry sources, so a host can subscribe to them
/// (for example <c>AddMeter(HokusaiContractsDiagnostics.MeterName)</c> and
/// <c>AddSource(HokusaiContractsDiagnostics.ActivitySourceName)</c> in OpenTelemetry).
/// </summary>
public static class HokusaiContractsDiagnostics
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> carrying the deployment, queue, RPC and quota instruments.</summary>
    public const string MeterName = "Hokusai.Contracts";

    /// <summary>The <see cref="System.Diagnostics.ActivitySource"/> of the job engine's and chain engine's spans.</summary>
    public const string ActivitySourceName = "Hokusai.Contracts";

    /// <summary>Prefix of every instrument name (<c>hokusai.contracts.*</c>; Prometheus shows <c>hokusai_contracts_*</c>).</summary>
    public const string InstrumentPrefix = "hokusai.contracts.";
}
