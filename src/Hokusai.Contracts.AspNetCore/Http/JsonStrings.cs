using System.Text.Json;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>Reads JSON strings of a request body that may not be valid Unicode.</summary>
internal static class JsonStrings
{
    /// <summary>
    /// The string value, or null with a field error when it is not valid Unicode (a lone surrogate escape such as
    /// <c>\ud800</c>, or bytes that are not UTF-8): <see cref="JsonElement.GetString"/> throws on those, and the
    /// body is the caller's fault, not the server's.
    /// </summary>
    internal static string? SafeString(JsonElement value, string field, List<FieldError> errors)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            errors.Add(new FieldError(field, $"{field} must be valid Unicode text (no lone surrogates or invalid UTF-8)."));
            return null;
        }
    }
}
