using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Webhooks;

/// <summary>The outcome of one delivery attempt.</summary>
/// <param name="StatusCode">The receiver's HTTP status, when it answered.</param>
/// <param name="Error">Why the attempt failed, when it did.</param>
/// <param name="ResponseBody">The start of the response body, at most <see cref="WebhookSender.MaxStoredBodyBytes"/> bytes.</param>
/// <param name="Refused">The target resolves to a forbidden address: retrying cannot help.</param>
internal sealed record WebhookAttemptResult(int? StatusCode, string? Error, string? ResponseBody, bool Refused = false)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>
/// Sends one signed delivery through the named <see cref="IHttpClientFactory"/> client. That client follows no
/// redirects, uses no proxy or cookies, and connects only to addresses <see cref="WebhookAddressPolicy"/> allows,
/// checked on the addresses actually dialled.
/// </summary>
internal sealed class WebhookSender(IHttpClientFactory clients, IOptions<HokusaiContractsOptions> options)
{
    public const string ClientName = "Hokusai.Contracts.Webhooks";
    public const int MaxStoredBodyBytes = 1024;

    public async Task<WebhookAttemptResult> SendAsync(WebhookEvent webhookEvent, IReadOnlyList<string> secrets, long timestamp, CancellationToken cancellationToken)
    {
        var settings = options.Value.Webhooks;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, webhookEvent.Url)
        {
            Content = new StringContent(webhookEvent.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation(WebhookSigner.SignatureHeader, WebhookSigner.Header(secrets, timestamp, webhookEvent.Payload));
        request.Headers.TryAddWithoutValidation(WebhookSigner.EventIdHeader, webhookEvent.Id.ToString("D"));
        request.Headers.TryAddWithoutValidation(WebhookSigner.EventTypeHeader, webhookEvent.Type);
        request.Headers.UserAgent.ParseAdd("Hokusai-Webhooks/1.0");

        try
        {
            var client = clients.CreateClient(ClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var body = await ReadPrefixAsync(response, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return new WebhookAttemptResult(status, status is >= 200 and < 300 ? null : $"The receiver answered {status}.", body);
        }
        catch (Exception ex) when (Find<WebhookTargetRefusedException>(ex) is { } refused)
        {
            return new WebhookAttemptResult(null, refused.Message, null, Refused: true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WebhookAttemptResult(null, $"No answer within {settings.Timeout.TotalSeconds:0.#} s.", null);
        }
        catch (HttpRequestException ex)
        {
            return new WebhookAttemptResult(null, "Could not reach the receiver: " + (ex.InnerException?.Message ?? ex.Message), null);
        }
    }

    /// <summary>The handler behind the named client: no redirects, no proxy, address policy at connect time.</summary>
    public static SocketsHttpHandler CreateHandler(WebhookOptions settings) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = settings.Timeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, settings, cancellationToken),
    };

    internal static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, WebhookOptions settings, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endPoint.Host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endPoint.Host, cancellationToken).ConfigureAwait(false);

        // Every resolved address must be allowed: a name that mixes public and internal answers is refused.
        foreach (var address in addresses)
        {
            if (!WebhookAddressPolicy.IsAllowed(address, settings.AllowLoopback, settings.AllowPrivateNetworks))
            {
                var kind = WebhookAddressPolicy.Classify(address)!.Value;
                throw new WebhookTargetRefusedException(
                    $"Refused: {endPoint.Host} resolves to a {WebhookAddressPolicy.Describe(kind)} address.");
            }
        }

        if (addresses.Length == 0)
        {
            throw new HttpRequestException($"{endPoint.Host} did not resolve.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<string?> ReadPrefixAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxStoredBodyBytes];
            var length = 0;
            while (length < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return length == 0 ? null : Encoding.UTF8.GetString(buffer, 0, length);
        }
    }

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }
}
