using System.Globalization;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The key layout. Everything a multi-key script touches lives under one hash tag (<see cref="Tagged"/>), so
/// each script stays in one Redis Cluster slot (quotas included: the accept script counts them); only the
/// request limiter's per-caller counters are single keys and spread freely.
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
        WakeChannel = RedisChannel.Literal(Tagged + "wake");
        LeaseChannel = RedisChannel.Literal(Tagged + "lease-released");
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

    /// <summary>The owner's jobs of one status, by creation time (listing with a status filter).</summary>
    public RedisKey OwnerStatus(string owner, DeploymentStatus status) => Tagged + "owner-status:" + status.ToWireValue() + ":" + owner;

    /// <summary>The owner's indexes of every status, in <see cref="DeploymentStatus"/> order.</summary>
    public RedisKey[] OwnerStatusSets(string owner) =>
        Enum.GetValues<DeploymentStatus>().Select(status => OwnerStatus(owner, status)).ToArray();

    /// <summary>The owner's finished jobs by expiry time, members <c>modelId|jobId</c>: listing prunes what expired.</summary>
    public RedisKey OwnerExpiry(string owner) => Tagged + "owner-expiry:" + owner;

    /// <summary>Prefix of the owner's per-model indexes; a script appends the model id (it has no <c>|</c>).</summary>
    public string OwnerModelPrefix(string owner) =>
        Tagged + "owner-model:" + owner.Length.ToString(CultureInfo.InvariantCulture) + ":" + owner + ":";

    /// <summary>The owner's jobs of one model, by creation time (listing with a model filter).</summary>
    public RedisKey OwnerModel(string owner, string modelId) => OwnerModelPrefix(owner) + modelId;

    /// <summary>Channel on which every enqueue publishes, so idle workers wake without polling.</summary>
    public RedisChannel WakeChannel { get; private init; }

    /// <summary>Channel on which a released signer lease is announced, so a waiting replica takes it at once.</summary>
    public RedisChannel LeaseChannel { get; private init; }

    public RedisKey Claim(string modelId) => Tagged + "claim:" + modelId;

    /// <summary>The owner's length goes first so no (owner, key) pair can spell another's key.</summary>
    public RedisKey Idempotency(string owner, string key) =>
        Tagged + "idem:" + owner.Length.ToString(CultureInfo.InvariantCulture) + ":" + owner + ":" + key;

    public RedisKey Status(DeploymentStatus status) => StatusSets[(int)status];

    /// <summary>Under the shared tag, so the accept script counts the quota in the same slot as the job.</summary>
    public RedisKey Quota(string caller) => Tagged + "quota:" + caller;

    public RedisKey SignerLease(string address) => Tagged + "signer:" + address.ToLowerInvariant() + ":lease";

    public RedisKey SignerFence(string address) => Tagged + "signer:" + address.ToLowerInvariant() + ":fence";

    /// <summary>The fencing token of the signer's last lease that was released (not lapsed).</summary>
    public RedisKey SignerReleased(string address) => Tagged + "signer:" + address.ToLowerInvariant() + ":released";

    /// <summary>The queue of jobs bound to one pool key (a stream read only by the key's owner), under the shared tag.</summary>
    public RedisKey SignerQueue(string address) => Tagged + "signer:" + address.ToLowerInvariant() + ":queue";

    /// <summary>Wake-up channel of one key's queue, so only that key's owner wakes for its jobs.</summary>
    public RedisChannel SignerWakeChannel(string address) => RedisChannel.Literal(Tagged + "signer:" + address.ToLowerInvariant() + ":wake");

    /// <summary>Live replicas (sorted set: replica id scored by when its announcement lapses, ms), for the pool's fair share.</summary>
    public RedisKey Replicas => Tagged + "replicas";

    /// <summary>The shared counter of one request-limit partition in one fixed window (a single key: any slot).</summary>
    public RedisKey RateLimitWindow(string partitionKey, long window) =>
        Prefix + "rl:" + window.ToString(CultureInfo.InvariantCulture) + ":" + partitionKey;

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
