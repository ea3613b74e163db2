using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Hokusai.Contracts.Client;

/// <summary>Why a delivery's signature was rejected.</summary>
public enum WebhookSignatureFailure
{
    /// <summary>The signature is valid.</summary>
    None,
    /// <summary>No <c>Hokusai-Signature</c> header, or one without <c>t=</c> and <c>v1=</c>.</summary>
    Malformed,
    /// <summary>The timestamp is further from now than the tolerance (a replay, or a badly wrong clock).</summary>
    TimestampOutOfTolerance,
    /// <summary>No <c>v1</c> matches the body under any of the secrets (tampered body, wrong secret).</summary>
    SignatureMismatch,
}

/// <summary>
/// Verifies a webhook delivery from Hokusai.Contracts: the <c>Hokusai-Signature</c> header
/// (<c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c>, possibly several <c>v1</c> while the sender
/// rotates secrets) against the raw request body. Deliveries whose timestamp is more than
/// <see cref="Tolerance"/> (5 minutes) from now are rejected, so a captured delivery cannot be replayed.
/// De-duplicate on <c>Hokusai-Event-Id</c>: a delivery may arrive more than once.
/// </summary>
public sealed class WebhookSignatureVerifier
{
    /// <summary>The header carrying the signature.</summary>
    public const string SignatureHeader = "Hokusai-Signature";

    /// <summary>The header carrying the event id.</summary>
    public const string EventIdHeader = "Hokusai-Event-Id";

    private readonly byte[][] _secrets;
    private readonly TimeProvider _time;

    /// <summary>A verifier accepting signatures made with any of <paramref name="secrets"/> (two while rotating).</summary>
    /// <param name="secrets">Your signing secret(s).</param>
    /// <param name="timeProvider">The clock; the system clock by default.</param>
    /// <param name="tolerance">Largest accepted distance between the signature's time and now (5 minutes by default).</param>
    public WebhookSignatureVerifier(IEnumerable<string> secrets, TimeProvider? timeProvider = null, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _secrets = secrets.Where(s => !string.IsNullOrEmpty(s)).Select(Encoding.UTF8.GetBytes).ToArray();
        if (_secrets.Length == 0)
        {
            throw new ArgumentException("At least one secret is needed.", nameof(secrets));
        }

        _time = timeProvider ?? TimeProvider.System;
        Tolerance = tolerance ?? TimeSpan.FromMinutes(5);
    }

    /// <summary>A verifier for one secret.</summary>
    public WebhookSignatureVerifier(string secret, TimeProvider? timeProvider = null, TimeSpan? tolerance = null)
        : this([secret], timeProvider, tolerance)
    {
    }

    /// <summary>Largest accepted distance between the signature's timestamp and now.</summary>
    public TimeSpan Tolerance { get; }

    /// <summary>Checks <paramref name="signatureHeader"/> against the raw <paramref name="body"/>.</summary>
    public WebhookSignatureFailure Verify(string? signatureHeader, string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Verify(signatureHeader, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>Checks <paramref name="signatureHeader"/> against the raw body bytes exactly as received.</summary>
    public WebhookSignatureFailure Verify(string? signatureHeader, ReadOnlySpan<byte> body)
    {
        if (!TryParse(signatureHeader, out var timestamp, out var signatures))
        {
            return WebhookSignatureFailure.Malformed;
        }

        var age = _time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(timestamp, -62135596800L, 253402300799L));
        if (age.Duration() > Tolerance)
        {
            return WebhookSignatureFailure.TimestampOutOfTolerance;
        }

        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        foreach (var secret in _secrets)
        {
            var expected = HMACSHA256.HashData(secret, message);
            foreach (var candidate in signatures)
            {
                if (CryptographicOperations.FixedTimeEquals(expected, candidate))
                {
                    return WebhookSignatureFailure.None;
                }
            }
        }

        return WebhookSignatureFailure.SignatureMismatch;
    }

    /// <summary>True when the delivery is authentic and fresh.</summary>
    public bool IsValid(string? signatureHeader, string body) => Verify(signatureHeader, body) == WebhookSignatureFailure.None;

    private static bool TryParse(string? header, out long timestamp, out List<byte[]> signatures)
    {
        timestamp = 0;
        signatures = [];
        if (string.IsNullOrWhiteSpace(header))
        {
            return false;
        }

        var hasTimestamp = false;
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal))
            {
                hasTimestamp = long.TryParse(part.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out timestamp);
            }
            else if (part.StartsWith("v1=", StringComparison.Ordinal) && part.Length == 3 + 64)
            {
                try
                {
                    signatures.Add(Convert.FromHexString(part.AsSpan(3)));
                }
                catch (FormatException)
                {
                    // A malformed entry counts as absent; another may still match.
                }
            }
        }

        return hasTimestamp && signatures.Count > 0;
    }
}
