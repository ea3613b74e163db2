using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Hokusai.Contracts.Client;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Client.Tests;

/// <summary>The verifier against the service's signer, over arbitrary bodies, secrets and clock offsets.</summary>
public sealed class WebhookSignatureProperties
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static Arbitrary<string> Secrets() =>
        Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789-_".ToCharArray()).ArrayOf(24).Select(c => new string(c)).ToArbitrary();

    [Property(MaxTest = 200)]
    public bool Verify_SignedWithinTolerance_Accepts(NonNull<string> body, int offsetSeconds)
    {
        var secret = "whsec-property-0123456789";
        var offset = Math.Abs(offsetSeconds % 300);
        var header = WebhookSigner.Header([secret], Now.ToUnixTimeSeconds() - offset, body.Get);

        return new WebhookSignatureVerifier(secret, new FakeTimeProvider(Now)).Verify(header, body.Get) == WebhookSignatureFailure.None;
    }

    [Property(MaxTest = 200)]
    public Property Verify_AnyChangedCharacter_Rejects(NonEmptyString body, PositiveInt position, char replacement)
    {
        var original = body.Get;
        var index = position.Get % original.Length;
        var tampered = original[..index] + replacement + original[(index + 1)..];
        var header = WebhookSigner.Header(["whsec-property-0123456789"], Now.ToUnixTimeSeconds(), original);
        var verifier = new WebhookSignatureVerifier("whsec-property-0123456789", new FakeTimeProvider(Now));

        return (verifier.Verify(header, tampered) == WebhookSignatureFailure.SignatureMismatch).When(tampered != original);
    }

    [Property(MaxTest = 100)]
    public Property Verify_OtherSecret_Rejects() =>
        Prop.ForAll(Secrets(), Secrets(), (signing, verifying) =>
        {
            var header = WebhookSigner.Header([signing], Now.ToUnixTimeSeconds(), "{}");
            var outcome = new WebhookSignatureVerifier(verifying, new FakeTimeProvider(Now)).Verify(header, "{}");
            return (outcome == WebhookSignatureFailure.SignatureMismatch).When(signing != verifying);
        });

    [Property(MaxTest = 100)]
    public bool Verify_OutsideTolerance_RejectsAsStale(PositiveInt extraSeconds, bool future)
    {
        var skew = 301 + (extraSeconds.Get % 100_000);
        var timestamp = Now.ToUnixTimeSeconds() + (future ? skew : -skew);
        var header = WebhookSigner.Header(["whsec-property-0123456789"], timestamp, "{}");

        return new WebhookSignatureVerifier("whsec-property-0123456789", new FakeTimeProvider(Now)).Verify(header, "{}")
            == WebhookSignatureFailure.TimestampOutOfTolerance;
    }
}
