using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Hokusai.Contracts.Webhooks;

/// <summary>
/// Signs deliveries: <c>Hokusai-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c>, one
/// <c>v1</c> per valid secret. The timestamp is signed with the body, so a captured delivery cannot be replayed
/// after the receiver's tolerance (5 minutes) has passed.
/// </summary>
internal static class WebhookSigner
{
    /// <summary>The signature header.</summary>
    public const string SignatureHeader = "Hokusai-Signature";

    /// <summary>The event id header, for de-duplication.</summary>
    public const string EventIdHeader = "Hokusai-Event-Id";

    /// <summary>The event type header.</summary>
    public const string EventTypeHeader = "Hokusai-Event-Type";

    /// <summary>The lower-case hex HMAC-SHA256 of <c>"{timestamp}.{body}"</c>.</summary>
    public static string Compute(string secret, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(body);
        var message = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "." + body);
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>The header value for <paramref name="body"/> signed at <paramref name="timestamp"/> with each secret.</summary>
    public static string Header(IEnumerable<string> secrets, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var builder = new StringBuilder("t=").Append(timestamp.ToString(CultureInfo.InvariantCulture));
        foreach (var secret in secrets)
        {
            builder.Append(",v1=").Append(Compute(secret, timestamp, body));
        }

        return builder.ToString();
    }
}
