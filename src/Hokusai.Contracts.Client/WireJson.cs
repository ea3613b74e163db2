using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hokusai.Contracts.Client;

/// <summary>Serializer settings of the wire: camelCase, snake_case enum values.</summary>
internal static class WireJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}

/// <summary>
/// Reads and writes an enum as its snake_case wire value. A value this client does not know reads as the
/// enum's zero member instead of failing, so a newer server's step or status never breaks an older client.
/// </summary>
internal sealed class WireEnumConverter<T> : JsonConverter<T>
    where T : struct, Enum
{
    private static readonly Dictionary<string, T> s_byWire = Enum.GetValues<T>()
        .ToDictionary(v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()), v => v, StringComparer.Ordinal);

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && s_byWire.TryGetValue(reader.GetString()!, out var value) ? value : default;

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        writer.WriteStringValue(ToWire(value));

    public static string ToWire(T value) => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
}
