using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// Settings of the Redis backend (section <see cref="SectionName"/>); <c>AddHokusaiEnvironmentVariables</c> maps
/// <c>REDIS_URL</c> onto <see cref="Configuration"/>.
/// </summary>
public sealed class RedisContractsOptions
{
    /// <summary>The configuration section conventionally bound to these options.</summary>
    public const string SectionName = "HokusaiContracts:Redis";

    /// <summary>The environment variable that <c>AddHokusaiEnvironmentVariables</c> maps onto <see cref="Configuration"/>.</summary>
    public const string EnvironmentVariable = "REDIS_URL";

    /// <summary>
    /// Where Redis is: a <c>redis://[user:password@]host:port[/db]</c> or <c>rediss://</c> (TLS) URL, or a
    /// StackExchange.Redis configuration string (<c>host:port,password=…,ssl=true</c>). Not needed when a
    /// multiplexer is supplied. Contains secrets: never logged, and left out of <see cref="ToString"/>.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Prefix of every key (default <c>hokusai:contracts:</c>). Keys touched together by one script get a hash
    /// tag derived from it (<c>{hokusai:contracts}:</c>) so they share a Redis Cluster slot; a prefix that
    /// already contains a <c>{tag}</c> is used as it is.
    /// </summary>
    public string KeyPrefix { get; set; } = "hokusai:contracts:";

    /// <summary>Name of the job stream, appended to the key prefix.</summary>
    public string StreamName { get; set; } = "queue";

    /// <summary>Consumer group shared by all replicas.</summary>
    public string ConsumerGroup { get; set; } = "workers";

    /// <summary>This process's consumer name; by default machine name, process id and a random suffix.</summary>
    public string? ConsumerName { get; set; }

    /// <summary>
    /// How long a delivered, unacknowledged entry must be idle before another replica reclaims it. Live
    /// consumers keep their entries fresh, so only a dead consumer's entries reach it.
    /// </summary>
    public TimeSpan ClaimIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Safety poll of an idle replica's stream. Workers are woken by a message on every enqueue; this only bounds
    /// how long a job waits when such a message was lost (e.g. during a reconnect). One poll per process.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Time to live of a signer lease (<c>SIGNER_LEASE_TTL</c> in the reference host): how long signing pauses
    /// when its owner dies without releasing it.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the owner renews its signer lease (<c>SIGNER_LEASE_RENEW_INTERVAL</c>); a third of
    /// <see cref="LeaseTtl"/> when unset, at most half of it.
    /// </summary>
    public TimeSpan? LeaseRenewInterval { get; set; }

    /// <summary>How long finished jobs are kept; when unset, <see cref="JobEngineOptions.Retention"/> applies.</summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>
    /// Upper bound of one store, queue or quota operation; past it the operation fails with
    /// <see cref="StoreUnavailableException"/> instead of waiting on an unreachable server.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(750);

    /// <summary>Timeout of the health check's PING (at most 2 seconds).</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Adjusts the StackExchange.Redis configuration built from <see cref="Configuration"/>.</summary>
    public Action<ConfigurationOptions>? ConfigureConnection { get; set; }

    /// <summary>Returns a description without credentials.</summary>
    public override string ToString() =>
        $"RedisContractsOptions {{ Configuration = {RedisConfiguration.Describe(Configuration)}, KeyPrefix = {KeyPrefix}, StreamName = {StreamName}, ConsumerGroup = {ConsumerGroup}, ClaimIdleTimeout = {ClaimIdleTimeout}, LeaseTtl = {LeaseTtl}, LeaseRenewInterval = {LeaseRenewInterval?.ToString() ?? "<a third of the TTL>"}, Retention = {Retention?.ToString() ?? "<job engine>"}, OperationTimeout = {OperationTimeout} }}";
}
