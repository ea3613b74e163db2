using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>Reads a bounded JSON body, answering 415, 413 or 400 in the error envelope when it cannot.</summary>
internal static class JsonBodyReader
{
    /// <summary>Largest accepted body: a valid request is well under 4 KiB.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public static async Task<(JsonDocument? Document, JsonHttpResult<ApiFailure>? Error)> ReadAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (!IsJson(context.Request.ContentType))
        {
            return (null, ApiResults.Error(context, StatusCodes.Status415UnsupportedMediaType, ErrorCodes.UnsupportedMediaType,
                "The body must be JSON (Content-Type: application/json)."));
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return (null, TooLarge(context));
        }

        // One pooled buffer per request (sized from Content-Length when sent), not a stream plus a chunk array:
        // the accept path is allocation-bound under load. ParseValue copies what the document keeps (Parse would keep
        // the buffer), so the buffer goes back to the pool at once; reading on after the value rejects trailing data.
        var length = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(context.Request.ContentLength is > 0 and var declared ? (int)declared : 4096);
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length > MaxBodyBytes)
                {
                    return (null, TooLarge(context));
                }

                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxBodyBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            if (length == 0)
            {
                return (null, ApiResults.Validation(context, "body", "A JSON body is required."));
            }

            try
            {
                var reader = new Utf8JsonReader(buffer.AsSpan(0, length), new JsonReaderOptions { MaxDepth = 16 });
                var document = JsonDocument.ParseValue(ref reader);
                if (reader.Read())
                {
                    // Unreachable in practice: content after the value makes Read throw; kept so nothing trails.
                    document.Dispose();
                    return (null, ApiResults.Validation(context, "body", "The body is not well-formed JSON."));
                }

                return (document, null);
            }
            catch (JsonException)
            {
                return (null, ApiResults.Validation(context, "body", "The body is not well-formed JSON."));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static JsonHttpResult<ApiFailure> TooLarge(HttpContext context) =>
        ApiResults.Validation(context, "body", $"The body must be at most {MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge);

    internal static bool IsJson(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType) || !mediaType.MediaType.HasValue)
        {
            return false;
        }

        var type = mediaType.MediaType.Value!;
        return type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }
}
