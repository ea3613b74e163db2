using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>The <c>X-Request-Id</c> of a request: a sane incoming value is echoed, otherwise one is generated.</summary>
internal static class RequestIds
{
    public const string HeaderName = "X-Request-Id";

    private const int MaxLength = 128;
    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:");

    /// <summary>The request's id; assigns one (and the response header) on first use.</summary>
    public static string Get(HttpContext context) => State(context).Id;

    /// <summary>
    /// The headers every response of the API carries: <c>X-Request-Id</c>, and <c>Cache-Control: no-store</c>
    /// unless a handler chose otherwise (responses hold per-caller data that no shared cache may keep).
    /// Safe to call more than once per request.
    /// </summary>
    public static string ApplyResponseDefaults(HttpContext context)
    {
        var state = State(context);
        state.NoStore = true;
        return state.Id;
    }

    /// <summary>Only short ids of safe characters are echoed, so headers and logs cannot be injected into.</summary>
    internal static bool IsSane(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= MaxLength && !value.AsSpan().ContainsAnyExcept(Allowed);

    // One object per request in the feature collection (no Items dictionary, one response callback): every
    // request of the API, GET or POST, passes here.
    private static RequestIdFeature State(HttpContext context)
    {
        if (context.Features.Get<RequestIdFeature>() is { } existing)
        {
            return existing;
        }

        var incoming = context.Request.Headers[HeaderName].ToString();
        var state = new RequestIdFeature(IsSane(incoming) ? incoming : Guid.NewGuid().ToString(), context);
        context.Features.Set(state);
        context.TraceIdentifier = state.Id;

        // Set when the response starts: error handling clears headers set earlier.
        context.Response.OnStarting(static s => ((RequestIdFeature)s).OnStarting(), state);
        return state;
    }

    private sealed class RequestIdFeature(string id, HttpContext context)
    {
        public string Id { get; } = id;

        public bool NoStore { get; set; }

        public Task OnStarting()
        {
            var headers = context.Response.Headers;
            headers[HeaderName] = Id;
            if (NoStore && string.IsNullOrEmpty(headers.CacheControl))
            {
                headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        }
    }
}
