using System.Text.Json.Serialization;

namespace Hokusai.Contracts.AspNetCore.Health;

/// <summary>Body of <c>GET /health</c>.</summary>
internal sealed record LivenessResponse(string Status, DateTimeOffset Timestamp);

/// <summary>One check in a readiness report.</summary>
internal sealed record CheckEntry(
    string Status,
    double DurationMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description);

/// <summary>Body of <c>GET /health/ready</c>.</summary>
internal sealed record ReadinessResponse(string Status, IReadOnlyDictionary<string, CheckEntry> Checks);

/// <summary>Body of <c>GET /health/detailed</c>.</summary>
internal sealed record DetailedResponse
{
    public required string Status { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required string Version { get; init; }
    public required double UptimeSeconds { get; init; }
    public required MemoryReport Memory { get; init; }
    public required IReadOnlyDictionary<string, string> Configuration { get; init; }
    public required ChainReport Chain { get; init; }
    public required QueueReport Queue { get; init; }
    public required JobsReport Jobs { get; init; }
    public required WebhooksReport Webhooks { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RegistryMirrorReport? RegistryMirror { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<SignerReport>? Signers { get; init; }
    public required IReadOnlyList<string> Warnings { get; init; }
    public required IReadOnlyDictionary<string, CheckEntry> Checks { get; init; }
}

internal sealed record MemoryReport(long WorkingSetBytes, long GcHeapBytes, long GcTotalCommittedBytes, int GcGen0Collections, int GcGen2Collections);

internal sealed record ChainReport
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ChainId { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ulong? LatestBlock { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? NetworkName { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DeployerAddress { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DeployerBalanceWei { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public decimal? DeployerBalanceEth { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? DeployerBalanceLow { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? DeployerOwnsRegistry { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? DeployerCanMint { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Error { get; init; }
}

internal sealed record QueueReport(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Depth,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Durable,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

internal sealed record JobsReport(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, long>? ByStatus,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

/// <summary>The webhook outbox: events waiting for delivery and the oldest one's age.</summary>
internal sealed record WebhooksReport(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? OutboxDepth,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? OldestPendingAgeSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

/// <summary>The registry mirror: whether misses are answered locally, the last block read and how far behind the head it is.</summary>
internal sealed record RegistryMirrorReport(
    bool CaughtUp,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ulong? Cursor,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ulong? LagBlocks);

/// <summary>One key of the signer pool: address, owner replica, balance, jobs in flight here and next nonce here.</summary>
internal sealed record SignerReport(
    int Index,
    string Address,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Owner,
    bool OwnedHere,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BalanceWei,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? HasDeployerRole,
    int InFlight,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? NextNonce,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);
