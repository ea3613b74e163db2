using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hokusai.Contracts.Redis;

/// <summary>The JSON form of stored jobs: camelCase, big integers as decimal strings.</summary>
internal static class RedisJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new BigIntegerStringConverter() },
    };

    public static string Serialize(DeploymentJob job) => JsonSerializer.Serialize(job, Options);

    public static DeploymentJob Deserialize(string json) =>
        JsonSerializer.Deserialize<DeploymentJob>(json, Options) ?? throw new JsonException("A stored job is empty.");

    private sealed class BigIntegerStringConverter : JsonConverter<BigInteger>
    {
        public override BigInteger Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString(),
                JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
                _ => throw new JsonException("Expected a number or a decimal string."),
            };
            return BigInteger.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new JsonException("Expected an integer.");
        }

        public override void Write(Utf8JsonWriter writer, BigInteger value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
    }
}
