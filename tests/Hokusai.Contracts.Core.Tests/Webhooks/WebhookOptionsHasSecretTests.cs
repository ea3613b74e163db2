using Hokusai.Contracts.Webhooks;

namespace Hokusai.Contracts.Tests.Webhooks;

public sealed class WebhookOptionsHasSecretTests
{
    [Fact]
    public void HasSecret_CallerListedInSecrets_TrueOthersFalse()
    {
        var options = new WebhookOptions();
        options.Secrets.Add("alice:0123456789abcdef, bob|svc:fedcba9876543210");

        Assert.True(options.HasSecret("alice"));
        Assert.True(options.HasSecret("bob|svc"));
        Assert.False(options.HasSecret("carol"));
    }
}
