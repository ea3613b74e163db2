using System.Net;
using Hokusai.Contracts.Webhooks;

namespace Hokusai.Contracts.Core.Tests.Webhooks;

public sealed class WebhookAddressPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", nameof(WebhookAddressKind.Loopback))]
    [InlineData("127.8.9.10", nameof(WebhookAddressKind.Loopback))]
    [InlineData("::1", nameof(WebhookAddressKind.Loopback))]
    [InlineData("10.1.2.3", nameof(WebhookAddressKind.Private))]
    [InlineData("172.16.0.1", nameof(WebhookAddressKind.Private))]
    [InlineData("172.31.255.255", nameof(WebhookAddressKind.Private))]
    [InlineData("192.168.1.1", nameof(WebhookAddressKind.Private))]
    [InlineData("100.64.0.1", nameof(WebhookAddressKind.Private))]
    [InlineData("fd12:3456::1", nameof(WebhookAddressKind.Private))]
    [InlineData("169.254.1.1", nameof(WebhookAddressKind.LinkLocal))]
    [InlineData("fe80::1", nameof(WebhookAddressKind.LinkLocal))]
    [InlineData("169.254.169.254", nameof(WebhookAddressKind.Metadata))]
    [InlineData("fd00:ec2::254", nameof(WebhookAddressKind.Metadata))]
    [InlineData("::ffff:169.254.169.254", nameof(WebhookAddressKind.Metadata))]
    [InlineData("::ffff:10.0.0.1", nameof(WebhookAddressKind.Private))]
    [InlineData("0.0.0.0", nameof(WebhookAddressKind.Unroutable))]
    [InlineData("224.0.0.1", nameof(WebhookAddressKind.Unroutable))]
    [InlineData("64:ff9b::a00:1", nameof(WebhookAddressKind.Private))]
    public void Classify_InternalAddress_IsForbidden(string address, string kind)
    {
        Assert.Equal(Enum.Parse<WebhookAddressKind>(kind), WebhookAddressPolicy.Classify(IPAddress.Parse(address)));
        Assert.False(WebhookAddressPolicy.IsAllowed(IPAddress.Parse(address), allowLoopback: false, allowPrivateNetworks: false));
    }

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:4700:4700::1111")]
    public void Classify_PublicAddress_IsAllowed(string address)
    {
        Assert.Null(WebhookAddressPolicy.Classify(IPAddress.Parse(address)));
        Assert.True(WebhookAddressPolicy.IsAllowed(IPAddress.Parse(address), false, false));
    }

    [Fact]
    public void IsAllowed_Settings_LoopbackOnlyWhenAllowedAndMetadataNever()
    {
        Assert.True(WebhookAddressPolicy.IsAllowed(IPAddress.Loopback, allowLoopback: true, allowPrivateNetworks: false));
        Assert.False(WebhookAddressPolicy.IsAllowed(IPAddress.Parse("10.0.0.1"), allowLoopback: true, allowPrivateNetworks: false));
        Assert.True(WebhookAddressPolicy.IsAllowed(IPAddress.Parse("10.0.0.1"), allowLoopback: false, allowPrivateNetworks: true));
        Assert.False(WebhookAddressPolicy.IsAllowed(IPAddress.Parse("169.254.169.254"), allowLoopback: true, allowPrivateNetworks: true));
    }

    [Theory]
    [InlineData("https://hooks.example.com/hokusai", false, true)]
    [InlineData("http://hooks.example.com/hokusai", false, false)]
    [InlineData("http://hooks.example.com/hokusai", true, false)]
    [InlineData("http://127.0.0.1:8080/h", true, true)]
    [InlineData("http://localhost:8080/h", true, true)]
    [InlineData("http://127.0.0.1:8080/h", false, false)]
    [InlineData("https://127.0.0.1/h", false, false)]
    [InlineData("https://169.254.169.254/latest/meta-data", true, false)]
    [InlineData("https://10.0.0.5/h", false, false)]
    [InlineData("https://[fe80::1]/h", false, false)]
    [InlineData("https://user:pass@hooks.example.com/h", false, false)]
    [InlineData("ftp://hooks.example.com/h", false, false)]
    [InlineData("not a url", false, false)]
    public void CheckUrl_Url_AcceptsOnlyHttpsToPublicHosts(string url, bool developmentLoopback, bool accepted) =>
        Assert.Equal(accepted, WebhookOptions.CheckUrl(url, developmentLoopback) is null);
}
