using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>
/// SHA-256 (lower-case hex) of a canonical JSON form of a validated request: fixed property order,
/// defaults applied, address in checksum form, tags sorted by name. Two bodies that validate to the
/// same request hash the same, whatever their formatting or field order.
/// </summary>
internal static class RequestHasher
{
    public static string Hash(DeploymentRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("modelId", request.ModelId);
            writer.WriteString("userAddress", request.UserAddress);
            writer.WriteString("tokenName", request.TokenName);
            writer.WriteString("tokenSymbol", request.TokenSymbol);
            writer.WriteString("initialSupply", request.InitialSupply.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("performanceMetric", request.PerformanceMetric);
            if (request.Metadata is { } metadata)
            {
                writer.WriteStartObject("metadata");
                WriteOptional(writer, "description", metadata.Description);
                WriteOptional(writer, "website", metadata.Website);
                WriteOptional(writer, "whitepaper", metadata.Whitepaper);
                if (metadata.Tags is { } tags)
                {
                    writer.WriteStartObject("tags");
                    foreach (var (name, value) in tags.OrderBy(t => t.Key, StringComparer.Ordinal))
                    {
                        writer.WriteString(name, value);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            // Only when present, so hashes of requests without it are unchanged.
            WriteOptional(writer, "callbackUrl", request.CallbackUrl);
            writer.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
