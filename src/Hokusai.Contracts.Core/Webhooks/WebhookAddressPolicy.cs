using System.Net;
using System.Net.Sockets;

namespace Hokusai.Contracts.Webhooks;

/// <summary>Kinds of addresses a webhook must not reach (server-side request forgery).</summary>
internal enum WebhookAddressKind
{
    /// <summary>127.0.0.0/8, ::1.</summary>
    Loopback,
    /// <summary>10/8, 172.16/12, 192.168/16, 100.64/10 (shared), fc00::/7, and other non-routable ranges.</summary>
    Private,
    /// <summary>169.254/16 and fe80::/10.</summary>
    LinkLocal,
    /// <summary>Cloud instance metadata (169.254.169.254, fd00:ec2::254, 100.100.100.200).</summary>
    Metadata,
    /// <summary>0.0.0.0/8, ::, multicast, broadcast and reserved ranges.</summary>
    Unroutable,
}

/// <summary>
/// Decides which resolved addresses a delivery may connect to. The check runs on the addresses the
/// connection actually uses (in the connect callback), so a name that resolves differently later
/// (DNS rebinding) is caught too.
/// </summary>
internal static class WebhookAddressPolicy
{
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"),
        IPAddress.Parse("169.254.170.2"),
        IPAddress.Parse("fd00:ec2::254"),
        IPAddress.Parse("100.100.100.200"),
    ];

    /// <summary>The kind of a forbidden address, or null for a public one.</summary>
    public static WebhookAddressKind? Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (MetadataAddresses.Any(address.Equals))
        {
            return WebhookAddressKind.Metadata;
        }

        if (IPAddress.IsLoopback(address))
        {
            return WebhookAddressKind.Loopback;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b switch
            {
                [0, ..] => WebhookAddressKind.Unroutable,
                [10, ..] => WebhookAddressKind.Private,
                [100, >= 64 and <= 127, ..] => WebhookAddressKind.Private,
                [169, 254, ..] => WebhookAddressKind.LinkLocal,
                [172, >= 16 and <= 31, ..] => WebhookAddressKind.Private,
                [192, 0, 0, _] => WebhookAddressKind.Private,
                [192, 168, ..] => WebhookAddressKind.Private,
                [198, 18 or 19, ..] => WebhookAddressKind.Private,
                [>= 224, ..] => WebhookAddressKind.Unroutable,
                _ => null,
            };
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.Equals(IPAddress.IPv6Any) || address.IsIPv6Multicast)
            {
                return WebhookAddressKind.Unroutable;
            }

            if (address.IsIPv6LinkLocal)
            {
                return WebhookAddressKind.LinkLocal;
            }

            var b = address.GetAddressBytes();
            if ((b[0] & 0xFE) == 0xFC || address.IsIPv6SiteLocal)
            {
                return WebhookAddressKind.Private;
            }

            // NAT64 and 6to4 embed an IPv4 address: judge the embedded one.
            if (b is [0x00, 0x64, 0xFF, 0x9B, ..])
            {
                return Classify(new IPAddress(b.AsSpan(12, 4)));
            }

            if (b is [0x20, 0x02, ..])
            {
                return Classify(new IPAddress(b.AsSpan(2, 4)));
            }

            return null;
        }

        return WebhookAddressKind.Unroutable;
    }

    /// <summary>Whether <paramref name="address"/> may be connected to under these settings.</summary>
    public static bool IsAllowed(IPAddress address, bool allowLoopback, bool allowPrivateNetworks) => Classify(address) switch
    {
        null => true,
        WebhookAddressKind.Loopback => allowLoopback || allowPrivateNetworks,
        WebhookAddressKind.Metadata => false,
        _ => allowPrivateNetworks,
    };

    /// <summary>Words for a kind, for error messages.</summary>
    public static string Describe(WebhookAddressKind kind) => kind switch
    {
        WebhookAddressKind.Loopback => "loopback",
        WebhookAddressKind.Private => "private",
        WebhookAddressKind.LinkLocal => "link-local",
        WebhookAddressKind.Metadata => "cloud metadata",
        _ => "non-routable",
    };
}

/// <summary>A delivery refused because its target resolves to a forbidden address.</summary>
internal sealed class WebhookTargetRefusedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WebhookTargetRefusedException() : base("The webhook target is not allowed.") { }

    /// <summary>Creates the exception with a message.</summary>
    public WebhookTargetRefusedException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and cause.</summary>
    public WebhookTargetRefusedException(string message, Exception innerException) : base(message, innerException) { }
}
