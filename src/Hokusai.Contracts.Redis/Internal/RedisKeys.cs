using System.Globalization;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The key layout. Everything a multi-key script touches lives under one hash tag (<see cref="Tagged"/>), so
/// each script stays in one Redis Cluster slot; per-caller quota keys are single keys and spread freely.
/// </summary>
internal sealed class RedisKeys
{
    public RedisKeys(RedisContractsOptions options)
    {
        Prefix = options.KeyPrefix;
        Tagged = ToTagged(options.KeyPrefix);
        JobPrefix = Tagged + "job:";
        Unfinished = Tagged + "unfinished";
        Stream = Tagged + options.StreamName;
        WebhookEventPrefix = Tagged + "webhook:event:";
        WebhookDue = Tagged + "webhook:due";
        WebhookPending = Tagged + "webhook:pending";
        StatusSets = Enum.GetValues<DeploymentStatus>().Select(status => (RedisKey)(Tagged + "status:" + status.ToWireValue())).ToArray();
    }

    /// <summary>The configured prefix (e.g. <c>hokusai:contracts:</c>).</summary>
    public string Prefix { get; }

    /// <summary>The prefix with a hash tag (e.g. <c>{hokusai:contracts}:</c>).</summary>
    public string Tagged { get; }

    /// <summary>Prefix of job hashes; scripts derive the key of a job a claim or idempotency key points to.</summary>
    public string JobPrefix { get; }

    public RedisKey Unfinished { get; }

    public RedisKey Stream { get; }

    /// <summary>One sorted set per status, in <see cref="DeploymentStatus"/> order.</summary>
    public RedisKey[] StatusSets { get; }

    /// <summary>Prefix of webhook event hashes (<c>doc</c> = JSON, <c>token</c> = claim counter, <c>leaseUntil</c> ms).</summary>
    public string WebhookEventPrefix { get; }

    /// <summary>Pending webhook events scored by when they are next due (a claim pushes the score to the lease's end).</summary>
    public RedisKey WebhookDue { get; }

    /// <summary>Pending webhook events scored by the start of their delivery window (depth and oldest age).</summary>
    public RedisKey WebhookPending { get; }

    public RedisKey WebhookEvent(Guid id) => WebhookEventPrefix + id.ToString("D");

    /// <summary>A job's webhook events scored by creation time.</summary>
    public RedisKey WebhookJobEvents(Guid jobId) => Tagged + "webhook:job:" + jobId.ToString("D");

    public RedisKey Job(Guid id) => JobPrefix + id.ToString("D");

    public RedisKey Owner(string owner) => Tagged + "owner:" + owner;

    public RedisKey Claim(string modelId) => Tagged + "claim:" + modelId;

    /// <summary>The owner's length goes first so no (owner, key) pair can spell another's key.</summary>
    public RedisKey Idempotency(string owner, string key) =>
        Tagged + "idem:" + owner.Length.ToString(CultureInfo.InvariantCulture) + ":" + owner + ":" + key;

    public RedisKey Status(DeploymentStatus status) => StatusSets[(int)status];

    public RedisKey Quota(string caller) => Prefix + "quota:" + caller;

    public RedisKey SignerLease(string address) => Tagged + "signer:" + address.ToLowerInvariant() + ":lease";

    public RedisKey SignerFence(string address) => Tagged + "signer:" + address.ToLowerInvariant() + ":fence";

    /// <summary>RedisRateLimiting wraps this in its own <c>rl:fw:{…}</c> key, hash tag included.</summary>
    public string RateLimitPartition(string partitionKey) => Prefix + "rl:" + partitionKey;

    internal static string ToTagged(string prefix)
    {
        var open = prefix.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0 && prefix.IndexOf('}', open + 1) > open + 1)
        {
            return prefix;
        }

        var name = prefix.TrimEnd(':');
        return "{" + name + "}:";
    }
}
