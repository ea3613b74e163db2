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

    public static async Task<(JsonDocument? Document, IResult? Error)> ReadAsync(HttpContext context, CancellationToken cancellationToken)
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

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return (null, TooLarge(context));
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return (null, ApiResults.Validation(context, "body", "A JSON body is required."));
        }

        try
        {
            var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = 16 });
            return (document, null);
        }
        catch (JsonException)
        {
            return (null, ApiResults.Validation(context, "body", "The body is not well-formed JSON."));
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
