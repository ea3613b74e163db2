using System.Text;
using Hokusai.Contracts.Client;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec-alice-0123456789abcdef";
    private const string OldSecret = "whsec-alice-old-0123456789ab";
    private const string Body = """{"eventId":"7b0c2f8e-0000-4000-8000-000000000001","type":"deployment.completed","data":{"status":"completed"}}""";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    [Fact]
    public void Verify_SignedByTheSender_Accepts()
    {
        var header = WebhookSigner.Header([Secret], Now, Body);

        Assert.Equal(WebhookSignatureFailure.None, new WebhookSignatureVerifier(Secret, _time).Verify(header, Body));
        Assert.Matches("^t=[0-9]+,v1=[0-9a-f]{64}$", header);
    }

    [Fact]
    public void Verify_TamperedBody_RejectsAsMismatch()
    {
        var header = WebhookSigner.Header([Secret], Now, Body);

        var tampered = Body.Replace("completed\"}", "failed\"}", StringComparison.Ordinal);

        Assert.Equal(WebhookSignatureFailure.SignatureMismatch, new WebhookSignatureVerifier(Secret, _time).Verify(header, tampered));
    }

    [Fact]
    public void Verify_TamperedTimestamp_RejectsAsMismatch()
    {
        var header = WebhookSigner.Header([Secret], Now, Body).Replace($"t={Now}", $"t={Now + 1}", StringComparison.Ordinal);

        Assert.Equal(WebhookSignatureFailure.SignatureMismatch, new WebhookSignatureVerifier(Secret, _time).Verify(header, Body));
    }

    [Fact]
    public void Verify_OlderThanFiveMinutes_RejectsAsStale()
    {
        var header = WebhookSigner.Header([Secret], Now, Body);
        var verifier = new WebhookSignatureVerifier(Secret, _time);

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(WebhookSignatureFailure.None, verifier.Verify(header, Body));
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(WebhookSignatureFailure.TimestampOutOfTolerance, verifier.Verify(header, Body));
    }

    [Fact]
    public void Verify_WrongSecret_RejectsAsMismatch()
    {
        var header = WebhookSigner.Header(["someone-else-secret-0123"], Now, Body);

        Assert.Equal(WebhookSignatureFailure.SignatureMismatch, new WebhookSignatureVerifier(Secret, _time).Verify(header, Body));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=abc")]
    [InlineData("t=123")]
    [InlineData("t=abc,v1=00")]
    public void Verify_MalformedHeader_RejectsAsMalformed(string? header) =>
        Assert.Equal(WebhookSignatureFailure.Malformed, new WebhookSignatureVerifier(Secret, _time).Verify(header, Body));

    [Fact]
    public void Verify_RotationWithTwoSecrets_AcceptsEitherSide()
    {
        // The sender signs with both while rotating; a receiver on the old secret and one on the new both accept.
        var header = WebhookSigner.Header([Secret, OldSecret], Now, Body);

        Assert.Equal(2, header.Split(",v1=").Length - 1);
        Assert.True(new WebhookSignatureVerifier(OldSecret, _time).IsValid(header, Body));
        Assert.True(new WebhookSignatureVerifier(Secret, _time).IsValid(header, Body));
        // A receiver holding both accepts a delivery signed with only the new one.
        Assert.True(new WebhookSignatureVerifier([OldSecret, Secret], _time).IsValid(WebhookSigner.Header([Secret], Now, Body), Body));
    }

    [Fact]
    public void Compute_KnownVector_MatchesHmacOfTimestampDotBody()
    {
        // HMAC-SHA256("key", "1700000000.{}") computed independently of the signer.
        using var hmac = new System.Security.Cryptography.HMACSHA256(Encoding.UTF8.GetBytes("key"));
        var expected = Convert.ToHexStringLower(hmac.ComputeHash(Encoding.UTF8.GetBytes("1700000000.{}")));

        Assert.Equal(expected, WebhookSigner.Compute("key", 1_700_000_000, "{}"));
    }
}
