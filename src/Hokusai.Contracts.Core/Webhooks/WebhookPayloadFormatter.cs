using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Hokusai.Contracts.Webhooks;

/// <summary>
/// Writes an event's body: <c>{"eventId","type","createdAt","data":{status payload},"meta":{"version"}}</c>, where
/// <c>data</c> is what <c>GET /api/deployments/{id}/status</c> answers. The HTTP package replaces this default
/// with one that reuses the status route's own mapping, so the two cannot drift apart.
/// </summary>
public interface IWebhookPayloadFormatter
{
    /// <summary>The JSON body of <paramref name="type"/> with id <paramref name="eventId"/> about <paramref name="job"/>.</summary>
    string Format(Guid eventId, string type, DateTimeOffset createdAt, DeploymentJob job);
}

/// <summary>The default formatter (hosts without the HTTP package): the status payload's fields, written directly.</summary>
internal sealed class DefaultWebhookPayloadFormatter : IWebhookPayloadFormatter
{
    public string Format(Guid eventId, string type, DateTimeOffset createdAt, DeploymentJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            WriteHeader(w, eventId, type, createdAt);
            w.WriteStartObject("data");
            w.WriteString("requestId", job.Id);
            w.WriteString("status", job.Status.ToWireValue());
            w.WriteNumber("progress", Math.Clamp(job.Progress, 0, 100));
            w.WriteString("currentStep", job.Step.ToWireValue());
            if (job.StepDetail is { } detail)
            {
                w.WriteString("stepDetail", detail);
            }

            w.WriteString("lastUpdated", Timestamp(job.UpdatedAt));
            if (job.TokenDetails is { } t)
            {
                w.WriteStartObject("tokenDetails");
                w.WriteString("tokenAddress", t.TokenAddress);
                w.WriteString("tokenName", t.TokenName);
                w.WriteString("tokenSymbol", t.TokenSymbol);
                w.WriteString("transactionHash", t.TransactionHash);
                w.WriteString("registryTransactionHash", t.RegistryTransactionHash);
                if (t.MintTransactionHash is { } mint)
                {
                    w.WriteString("mintTransactionHash", mint);
                }

                w.WriteNumber("blockNumber", t.BlockNumber);
                w.WriteString("gasUsed", t.GasUsed);
                w.WriteString("gasPrice", t.GasPrice);
                w.WriteString("deploymentTime", Timestamp(t.DeploymentTime));
                w.WriteString("network", t.Network);
                w.WriteNumber("chainId", t.ChainId);
                w.WriteEndObject();
            }

            if (job.Error is { } e)
            {
                w.WriteStartObject("error");
                w.WriteString("code", e.Code);
                w.WriteString("message", e.Message);
                // Always an object, as in the API's error envelope: {} when there is nothing to add.
                w.WriteStartObject("details");
                foreach (var (name, value) in e.Details ?? new Dictionary<string, string>())
                {
                    w.WriteString(name, value);
                }

                w.WriteEndObject();

                w.WriteStartArray("suggestions");
                foreach (var suggestion in e.Suggestions)
                {
                    w.WriteStringValue(suggestion);
                }

                w.WriteEndArray();
                w.WriteString("timestamp", Timestamp(e.Timestamp));
                w.WriteBoolean("retryable", e.Retryable);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            WriteFooter(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Opens the body and writes <c>eventId</c>, <c>type</c>, <c>createdAt</c>.</summary>
    internal static void WriteHeader(Utf8JsonWriter writer, Guid eventId, string type, DateTimeOffset createdAt)
    {
        writer.WriteStartObject();
        writer.WriteString("eventId", eventId);
        writer.WriteString("type", type);
        writer.WriteString("createdAt", Timestamp(createdAt));
    }

    /// <summary>Writes <c>meta</c> and closes the body.</summary>
    internal static void WriteFooter(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("meta");
        writer.WriteString("version", "1.0");
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The API's timestamp form (JavaScript's <c>toISOString()</c>).</summary>
    internal static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
