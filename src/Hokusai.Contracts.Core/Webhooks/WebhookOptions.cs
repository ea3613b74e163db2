using System.Net;
using System.Text.RegularExpressions;

namespace Hokusai.Contracts.Webhooks;

/// <summary>
/// Webhook settings (<c>HokusaiContracts:Webhooks</c>). The reference host maps <c>WEBHOOK_SECRETS</c>,
/// <c>WEBHOOK_ENDPOINTS</c> and <c>WEBHOOK_MAX_AGE</c> onto them.
/// </summary>
public sealed partial class WebhookOptions
{
    /// <summary>Most secrets one caller may have at once (the current one and the one being rotated out).</summary>
    public const int MaxSecretsPerCaller = 2;

    /// <summary>Shortest accepted signing secret.</summary>
    public const int MinSecretLength = 16;

    /// <summary>
    /// Signing secrets, each <c>caller:secret</c> (<c>WEBHOOK_SECRETS</c>, comma separated), the caller as named in
    /// <c>VALID_API_KEYS</c> (or a JWT subject). A caller may have two at once while rotating: deliveries are then
    /// signed with both (two <c>v1=</c> entries), the first listed first. Never logged.
    /// </summary>
    public IList<string> Secrets { get; } = [];

    /// <summary>
    /// Per-caller endpoints (<c>WEBHOOK_ENDPOINTS</c>, comma separated <c>caller:url</c>): where a caller's events go
    /// when its request carries no <c>callbackUrl</c>. https, or http to a loopback host.
    /// </summary>
    public IDictionary<string, string> Endpoints { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How long an event is retried before it is marked dead (<c>WEBHOOK_MAX_AGE</c>, 24 h).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Timeout of one delivery attempt, connection included (5 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Delay before the first retry; it doubles per attempt, with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Cap of the retry delay (1 h).</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often each replica's dispatcher looks for due events.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claimed event is withheld from other replicas; longer than any attempt can take.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Events claimed (and delivered concurrently) per poll.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Whether this process runs a dispatcher (every replica does by default).</summary>
    public bool DispatcherEnabled { get; set; } = true;

    /// <summary>Allows receivers on loopback addresses (tests, local development). Off in production.</summary>
    public bool AllowLoopback { get; set; }

    /// <summary>Allows receivers on private, link-local and other internal addresses. Off in production.</summary>
    public bool AllowPrivateNetworks { get; set; }

    // Callers are API key names or JWT subjects (which may hold '|' and the like): anything but separators and spaces.
    [GeneratedRegex("^[^,:\\s]{1,128}\\z", RegexOptions.CultureInvariant)]
    internal static partial Regex CallerPattern();

    /// <summary>True when <see cref="Secrets"/> holds a signing secret for <paramref name="caller"/>.</summary>
    /// <param name="caller">The caller as named in <c>VALID_API_KEYS</c>, or a JWT subject.</param>
    /// <returns>Whether deliveries to this caller can be signed (a callback URL needs that).</returns>
    /// <exception cref="FormatException"><see cref="Secrets"/> is malformed (the options validator refuses that at start-up).</exception>
    public bool HasSecret(string caller) => ParseSecrets().ContainsKey(caller);

    /// <summary>The secrets per caller, in listed order; throws with a message naming the setting (never a secret).</summary>
    internal IReadOnlyDictionary<string, IReadOnlyList<string>> ParseSecrets()
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var position = 0;
        foreach (var raw in Secrets.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)))
        {
            position++;
            if (raw.Length == 0)
            {
                continue;
            }

            var separator = raw.IndexOf(':', StringComparison.Ordinal);
            if (separator <= 0 || !CallerPattern().IsMatch(raw[..separator].Trim()))
            {
                throw new FormatException($"WEBHOOK_SECRETS (HokusaiContracts:Webhooks:Secrets) entry {position}: expected caller:secret, the caller 1-128 characters without ',', ':' or spaces.");
            }

            var caller = raw[..separator].Trim();
            var secret = raw[(separator + 1)..].Trim();
            if (secret.Length < MinSecretLength)
            {
                throw new FormatException($"WEBHOOK_SECRETS (HokusaiContracts:Webhooks:Secrets) entry {position}: secrets must be at least {MinSecretLength} characters.");
            }

            if (!result.TryGetValue(caller, out var list))
            {
                result[caller] = list = [];
            }

            if (list.Count == MaxSecretsPerCaller)
            {
                throw new FormatException($"WEBHOOK_SECRETS (HokusaiContracts:Webhooks:Secrets): caller '{caller}' has more than {MaxSecretsPerCaller} secrets (two are valid at once while rotating).");
            }

            list.Add(secret);
        }

        return result.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal);
    }

    /// <summary>The validation failures of these settings (empty when valid).</summary>
    internal IEnumerable<string> Validate()
    {
        string? secretsError = null;
        try
        {
            ParseSecrets();
        }
        catch (FormatException ex)
        {
            secretsError = ex.Message;
        }

        if (secretsError is not null)
        {
            yield return secretsError;
        }

        foreach (var (caller, url) in Endpoints)
        {
            if (!CallerPattern().IsMatch(caller))
            {
                yield return "WEBHOOK_ENDPOINTS (HokusaiContracts:Webhooks:Endpoints): caller names are 1-128 characters without ',', ':' or spaces.";
            }
            else if (CheckUrl(url, allowHttpToLoopback: true) is { } problem)
            {
                yield return $"{HokusaiEnvironmentVariables.Describe("HokusaiContracts:Webhooks:Endpoints:" + caller)}: {problem}";
            }
        }

        if (MaxAge <= TimeSpan.Zero || MaxAge > TimeSpan.FromDays(30))
        {
            yield return "WEBHOOK_MAX_AGE (HokusaiContracts:Webhooks:MaxAge) must be positive and at most 30 days.";
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromSeconds(30))
        {
            yield return "HokusaiContracts:Webhooks:Timeout must be positive and at most 30 seconds.";
        }

        if (InitialRetryDelay <= TimeSpan.Zero || MaxRetryDelay < InitialRetryDelay)
        {
            yield return "HokusaiContracts:Webhooks:InitialRetryDelay must be positive and not above MaxRetryDelay.";
        }

        if (PollInterval <= TimeSpan.Zero || BatchSize is < 1 or > 256)
        {
            yield return "HokusaiContracts:Webhooks:PollInterval must be positive and BatchSize 1-256.";
        }

        if (LeaseDuration < Timeout + Timeout)
        {
            yield return "HokusaiContracts:Webhooks:LeaseDuration must be at least twice the delivery Timeout, so a claim outlives its attempt.";
        }
    }

    /// <summary>
    /// Why <paramref name="url"/> cannot be a webhook target, or null when it can: absolute https, or http to a
    /// loopback host when <paramref name="allowHttpToLoopback"/>; no credentials in the URL; an IP literal must not be
    /// private, loopback (unless http to loopback is allowed), link-local or a metadata address.
    /// </summary>
    public static string? CheckUrl(string? url, bool allowHttpToLoopback)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "must be an absolute URL of at most 2048 characters.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not contain credentials.";
        }

        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            return "must not contain a fragment.";
        }

        var loopbackHost = uri.IsLoopback;
        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            if (!(allowHttpToLoopback && loopbackHost))
            {
                return "must use https (http is accepted only for a loopback host in Development).";
            }
        }
        else if (uri.Scheme != Uri.UriSchemeHttps)
        {
            return "must use https.";
        }

        if (IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var address)
            && WebhookAddressPolicy.Classify(address) is { } kind
            && !(kind == WebhookAddressKind.Loopback && allowHttpToLoopback))
        {
            return $"must not point at a {WebhookAddressPolicy.Describe(kind)} address.";
        }

        return null;
    }
}
