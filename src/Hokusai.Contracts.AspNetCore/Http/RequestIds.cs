using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>The <c>X-Request-Id</c> of a request: a sane incoming value is echoed, otherwise one is generated.</summary>
internal static class RequestIds
{
    public const string HeaderName = "X-Request-Id";

    private const int MaxLength = 128;
    private static readonly object ItemKey = new();
    private static readonly object DefaultsKey = new();
    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:");

    /// <summary>The request's id; assigns one (and the response header) on first use.</summary>
    public static string Get(HttpContext context)
    {
        if (context.Items.TryGetValue(ItemKey, out var existing) && existing is string id)
        {
            return id;
        }

        id = IsSane(context.Request.Headers[HeaderName].ToString())
            ? context.Request.Headers[HeaderName].ToString()
            : Guid.NewGuid().ToString();
        context.Items[ItemKey] = id;
        context.TraceIdentifier = id;

        // Set when the response starts: error handling clears headers set earlier.
        context.Response.OnStarting(static state =>
        {
            var (ctx, value) = ((HttpContext, string))state;
            ctx.Response.Headers[HeaderName] = value;
            return Task.CompletedTask;
        }, (context, id));
        return id;
    }

    /// <summary>
    /// The headers every response of the API carries: <c>X-Request-Id</c>, and <c>Cache-Control: no-store</c>
    /// unless a handler chose otherwise (responses hold per-caller data that no shared cache may keep).
    /// Safe to call more than once per request.
    /// </summary>
    public static string ApplyResponseDefaults(HttpContext context)
    {
        var id = Get(context);
        if (context.Items.TryAdd(DefaultsKey, true))
        {
            context.Response.OnStarting(static state =>
            {
                var response = ((HttpContext)state).Response;
                if (string.IsNullOrEmpty(response.Headers.CacheControl))
                {
                    response.Headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            }, context);
        }

        return id;
    }

    /// <summary>Only short ids of safe characters are echoed, so headers and logs cannot be injected into.</summary>
    internal static bool IsSane(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= MaxLength && !value.AsSpan().ContainsAnyExcept(Allowed);
}
