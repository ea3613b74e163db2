using System.Net;
using System.Text;

namespace Hokusai.Contracts.Client.Tests;

/// <summary>Answers requests from a script and records what was sent.</summary>
internal sealed class ScriptedHandler(params Func<HttpRequestMessage, HttpResponseMessage>[] script) : HttpMessageHandler
{
    private int _next;

    public List<(HttpMethod Method, string Url, Dictionary<string, string> Headers, string? Body)> Requests { get; } = [];

    /// <summary>When set, each request's time on this clock is recorded in <see cref="Times"/>.</summary>
    public TimeProvider? Clock { get; init; }

    public List<DateTimeOffset> Times { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        lock (Requests)
        {
            Requests.Add((request.Method, request.RequestUri!.PathAndQuery, headers, body));
            if (Clock is not null)
            {
                Times.Add(Clock.GetUtcNow());
            }
        }

        var step = Math.Min(Interlocked.Increment(ref _next) - 1, script.Length - 1);
        return script[step](request);
    }

    public static HttpResponseMessage Json(HttpStatusCode status, string json, Action<HttpResponseMessage>? configure = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        configure?.Invoke(response);
        return response;
    }

    public static string Success(string data) =>
        "{\"success\":true,\"data\":" + data + ",\"meta\":{\"requestId\":\"r\",\"timestamp\":\"2026-01-02T03:04:05.000Z\",\"version\":\"1.0\"}}";

    public static string Failure(string code, bool retryable = false, string details = "null") =>
        "{\"success\":false,\"error\":{\"code\":\"" + code + "\",\"message\":\"m\",\"details\":" + details
        + ",\"suggestions\":[\"s\"],\"timestamp\":\"2026-01-02T03:04:05.000Z\",\"retryable\":" + (retryable ? "true" : "false") + "}}";

    public static string Status(string status, string step = "confirming") =>
        Success("{\"requestId\":\"0b0f5c44-58a3-4a27-9b6d-0e0f0b8f3d55\",\"status\":\"" + status + "\",\"progress\":50,\"currentStep\":\""
                + step + "\",\"lastUpdated\":\"2026-01-02T03:04:05.000Z\"}");
}
