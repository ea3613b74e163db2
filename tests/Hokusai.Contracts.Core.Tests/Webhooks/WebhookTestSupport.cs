using System.Text.Json;
using Hokusai.Contracts.Client;
using Hokusai.Contracts.Core.Tests.Jobs;
using Hokusai.Contracts.Testing;
using Hokusai.Contracts.Webhooks;

namespace Hokusai.Contracts.Core.Tests.Webhooks;

internal static class WebhookTestSupport
{
    public const string AliceSecret = "whsec-alice-0123456789abcdef";

    /// <summary>Fast retries and polling for tests with a real receiver; loopback receivers allowed.</summary>
    public static void FastWebhooks(HokusaiContractsOptions o)
    {
        o.Webhooks.Secrets.Add("alice:" + AliceSecret);
        o.Webhooks.AllowLoopback = true;
        o.Webhooks.PollInterval = TimeSpan.FromMilliseconds(20);
        o.Webhooks.InitialRetryDelay = TimeSpan.FromMilliseconds(100);
        o.Webhooks.MaxRetryDelay = TimeSpan.FromMilliseconds(400);
        o.Webhooks.Timeout = TimeSpan.FromSeconds(5);
        o.Webhooks.LeaseDuration = TimeSpan.FromSeconds(30);
        o.Quotas.PerHour = 1000;
        o.Quotas.PerDay = 1000;
    }

    public static DeploymentSubmission Submission(string model, string callbackUrl) =>
        EngineHarness.Submission(model) with { Request = EngineHarness.Request(model) with { CallbackUrl = callbackUrl } };

    /// <summary>Asserts the delivery is signed with <paramref name="secret"/> now and returns its parsed body.</summary>
    public static JsonElement AssertSigned(WebhookReceiver.Delivery delivery, string secret = AliceSecret)
    {
        Assert.Equal(WebhookSignatureFailure.None, new WebhookSignatureVerifier(secret).Verify(delivery.Signature, delivery.Body));
        using var document = JsonDocument.Parse(delivery.Body);
        var root = document.RootElement.Clone();
        Assert.Equal(delivery.EventId, root.GetProperty("eventId").GetString());
        return root;
    }
}
