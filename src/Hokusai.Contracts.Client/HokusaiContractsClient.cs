using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Client;

/// <summary>The typed client over an <see cref="HttpClient"/> from <c>IHttpClientFactory</c>.</summary>
internal sealed class HokusaiContractsClient(HttpClient http, IOptions<HokusaiContractsClientOptions> options, TimeProvider time) : IHokusaiContractsClient
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    private readonly HokusaiContractsClientOptions _options = options.Value;

    public async Task<DeploymentAccepted> SubmitAsync(CreateDeploymentRequest request, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = string.IsNullOrEmpty(idempotencyKey) ? Guid.NewGuid().ToString("N") : idempotencyKey;
        using var message = new HttpRequestMessage(HttpMethod.Post, "api/deployments")
        {
            Content = JsonContent.Create(request, options: WireJson.Options),
        };
        message.Headers.Add(IdempotencyKeyHeader, key);
        var (data, replayed) = await SendAsync<DeploymentAccepted>(message, cancellationToken).ConfigureAwait(false);
        return data with { Replayed = replayed, IdempotencyKey = key };
    }

    public async Task<DeploymentInfo> GetStatusAsync(Guid requestId, CancellationToken cancellationToken = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, $"api/deployments/{requestId:D}/status");
        return (await SendAsync<DeploymentInfo>(message, cancellationToken).ConfigureAwait(false)).Data;
    }

    public async Task<DeploymentList> ListAsync(DeploymentListQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new DeploymentListQuery();
        var url = new StringBuilder("api/deployments?page=")
            .Append(query.Page.ToString(CultureInfo.InvariantCulture))
            .Append("&limit=").Append(query.Limit.ToString(CultureInfo.InvariantCulture));
        if (query.Status is { } status)
        {
            url.Append("&status=").Append(WireEnumConverter<DeploymentState>.ToWire(status));
        }

        if (!string.IsNullOrEmpty(query.ModelId))
        {
            url.Append("&modelId=").Append(Uri.EscapeDataString(query.ModelId));
        }

        using var message = new HttpRequestMessage(HttpMethod.Get, url.ToString());
        return (await SendAsync<DeploymentList>(message, cancellationToken).ConfigureAwait(false)).Data;
    }

    public async Task<DeploymentInfo> CancelAsync(Guid requestId, CancellationToken cancellationToken = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"api/deployments/{requestId:D}/cancel");
        return (await SendAsync<DeploymentInfo>(message, cancellationToken).ConfigureAwait(false)).Data;
    }

    public async Task<DeploymentInfo> WaitForCompletionAsync(Guid requestId, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            TimeSpan wait;
            try
            {
                var info = await GetStatusAsync(requestId, cancellationToken).ConfigureAwait(false);
                if (info.Status.IsFinal())
                {
                    return info;
                }

                wait = _options.PollInterval;
            }
            catch (HokusaiApiException ex) when (ex.Retryable)
            {
                // 429 or 503 that outlasted the resilience pipeline: the server says when to come back.
                wait = ex.RetryAfter ?? _options.PollInterval;
            }

            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(T Data, bool Replayed)> SendAsync<T>(HttpRequestMessage message, CancellationToken cancellationToken)
        where T : class
    {
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        await AuthenticateAsync(message, cancellationToken).ConfigureAwait(false);
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw ToException(response, body);
        }

        var data = TryReadData<T>(body) ?? throw new HokusaiApiException(
            response.StatusCode,
            new DeploymentError { Code = "INVALID_RESPONSE", Message = "The answer is not the API's success envelope." },
            RequestIdOf(response));
        var replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true", StringComparer.OrdinalIgnoreCase);
        return (data, replayed);
    }

    private async ValueTask AuthenticateAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        if (_options.BearerTokenProvider is { } provider)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await provider(cancellationToken).ConfigureAwait(false));
        }
        else if (!string.IsNullOrEmpty(_options.BearerToken))
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.BearerToken);
        }
        else if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            message.Headers.Add("X-API-Key", _options.ApiKey);
        }
    }

    private static T? TryReadData<T>(byte[] body)
        where T : class
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("data", out var data)
                ? data.Deserialize<T>(WireJson.Options)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static HokusaiApiException ToException(HttpResponseMessage response, byte[] body)
    {
        DeploymentError? error = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var block)
                && block.ValueKind == JsonValueKind.Object)
            {
                error = block.Deserialize<DeploymentError>(WireJson.Options);
            }
        }
        catch (JsonException)
        {
            // Not the API's envelope (a proxy's page): described by its status below.
        }

        error ??= new DeploymentError
        {
            Code = "HTTP_" + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture),
            Message = response.ReasonPhrase,
            Retryable = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway
                or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
        };
        return new HokusaiApiException(response.StatusCode, error, RequestIdOf(response), RetryAfterOf(response));
    }

    private static string? RequestIdOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Request-Id", out var values) ? values.FirstOrDefault() : null;

    private static TimeSpan? RetryAfterOf(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }

        return retryAfter?.Date is { } date && response.Headers.Date is { } now ? date - now : null;
    }
}
