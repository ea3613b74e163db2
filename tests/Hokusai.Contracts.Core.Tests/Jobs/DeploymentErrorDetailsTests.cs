using System.Text.Json;

namespace Hokusai.Contracts.Core.Tests.Jobs;

public sealed class DeploymentErrorDetailsTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void Deserialize_LegacyPlainTextDetails_ReadsAsReasonObject()
    {
        const string Stored = """{"code":"DEPLOYMENT_FAILED","message":"m","details":"registry=none, token=0xabc","suggestions":[],"timestamp":"2026-01-02T03:04:05+00:00","retryable":false}""";

        var error = JsonSerializer.Deserialize<DeploymentError>(Stored, Web)!;

        Assert.Equal("registry=none, token=0xabc", error.Details!["reason"]);
    }

    [Fact]
    public void RoundTrip_ObjectDetails_StayAnObject()
    {
        var error = new DeploymentError
        {
            Code = ErrorCodes.TransactionReverted,
            Message = "m",
            Details = new Dictionary<string, string> { ["revertReason"] = "ZeroAddress" },
            Timestamp = DateTimeOffset.UnixEpoch,
        };

        var json = JsonSerializer.Serialize(error, Web);
        var back = JsonSerializer.Deserialize<DeploymentError>(json, Web)!;

        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(json).RootElement.GetProperty("details").ValueKind);
        Assert.Equal("ZeroAddress", back.Details!["revertReason"]);
    }
}
