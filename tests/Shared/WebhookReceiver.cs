using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hokusai.Contracts.Testing;

/// <summary>
/// A real HTTP receiver for webhook tests: an <see cref="HttpListener"/> on a free loopback port that records every
/// delivery (headers and raw body), answers with a status chosen per request, and tracks how many requests for one
/// event id are in progress at once. It can be stopped (connections refused) and started again on the same port.
/// Compile it into a test project with <c>&lt;Compile Include="../Shared/WebhookReceiver.cs" /&gt;</c>.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<Delivery> _deliveries = new();
    private readonly ConcurrentDictionary<string, int> _inFlight = new();
    private HttpListener? _listener;
    private Task? _loop;
    private int _arrivals;
    private int _maxConcurrentPerEvent;

    private WebhookReceiver(int port) => Port = port;

    /// <summary>One request as received.</summary>
    public sealed record Delivery(string? EventId, string? Signature, string? EventType, string Body, DateTimeOffset ReceivedAt, int AnsweredWith);

    public int Port { get; }

    /// <summary>The URL to give as a callback.</summary>
    public string Url => $"http://127.0.0.1:{Port}/hooks";

    /// <summary>Chooses the status for the n-th request to arrive (0-based); 200 by default.</summary>
    public Func<int, int> Respond { get; set; } = _ => 200;

    /// <summary>How long each request is held before it is answered.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>How long the n-th request to arrive is held; <see cref="Delay"/> when unset.</summary>
    public Func<int, TimeSpan>? DelayFor { get; set; }

    /// <summary>Sent as <c>Location</c> with every 3xx answer.</summary>
    public string? RedirectTo { get; set; }

    /// <summary>Requests that have arrived (answered or not).</summary>
    public int Arrivals => Volatile.Read(ref _arrivals);

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<Delivery> Deliveries => [.. _deliveries];

    /// <summary>The most requests for one event id that were ever in progress at the same time.</summary>
    public int MaxConcurrentPerEvent => Volatile.Read(ref _maxConcurrentPerEvent);

    public static WebhookReceiver Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            var receiver = new WebhookReceiver(FreePort());
            try
            {
                receiver.Listen();
                return receiver;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                // The port was taken between choosing and binding it: choose again.
            }
        }
    }

    /// <summary>Stops listening: connections are refused until <see cref="Resume"/>.</summary>
    public async Task StopAsync()
    {
        var listener = _listener;
        _listener = null;
        if (listener is not null)
        {
            listener.Stop();
            listener.Close();
        }

        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Resume() => Listen();

    /// <summary>Waits until <paramref name="condition"/> holds over the deliveries, or fails after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<Delivery>> WaitForAsync(Func<IReadOnlyList<Delivery>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var current = Deliveries;
            if (condition(current))
            {
                return current;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Receiver: {what} did not happen within {timeout.TotalSeconds:0} s; {current.Count} deliveries received.");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private void Listen()
    {
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        _listener = listener;
        _loop = Task.Run(() => AcceptLoopAsync(listener));
    }

    private async Task AcceptLoopAsync(HttpListener listener)
    {
        var handlers = new List<Task>();
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            handlers.Add(Task.Run(() => HandleAsync(context)));
        }

        await Task.WhenAll(handlers).ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var eventId = context.Request.Headers["Hokusai-Event-Id"];
        var key = eventId ?? string.Empty;
        var concurrent = _inFlight.AddOrUpdate(key, 1, (_, n) => n + 1);
        int seen;
        while ((seen = Volatile.Read(ref _maxConcurrentPerEvent)) < concurrent
            && Interlocked.CompareExchange(ref _maxConcurrentPerEvent, concurrent, seen) != seen)
        {
        }

        var index = Interlocked.Increment(ref _arrivals) - 1;
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync().ConfigureAwait(false);
            var delay = DelayFor?.Invoke(index) ?? Delay;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay).ConfigureAwait(false);
            }

            var status = Respond(index);
            _deliveries.Enqueue(new Delivery(eventId, context.Request.Headers["Hokusai-Signature"], context.Request.Headers["Hokusai-Event-Type"], body, DateTimeOffset.UtcNow, status));
            context.Response.StatusCode = status;
            if (status is >= 300 and < 400 && RedirectTo is { } location)
            {
                context.Response.RedirectLocation = location;
            }

            var answer = Encoding.UTF8.GetBytes(status is >= 200 and < 300 ? "ok" : new string('x', 4096));
            await context.Response.OutputStream.WriteAsync(answer).ConfigureAwait(false);
            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The listener was stopped mid-request: the sender sees a failure and retries.
        }
        finally
        {
            _inFlight.AddOrUpdate(key, 0, (_, n) => n - 1);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
