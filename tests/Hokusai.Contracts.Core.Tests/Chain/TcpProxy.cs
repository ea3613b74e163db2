using System.Net;
using System.Net.Sockets;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>
/// A TCP proxy on a free loopback port in front of a node. <see cref="Refuse"/> closes the listener and
/// every open connection, so new connections are refused (the node itself keeps its state);
/// <see cref="Accept"/> listens again on the same port. The port stays bound the whole time: while refusing,
/// a socket bound to it without listening makes the kernel refuse connections, and no other process on the
/// shared machine can take the port during a long outage.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _connections = [];
    private TcpListener? _listener;
    private Socket? _placeholder;
    private CancellationTokenSource _cts = new();

    public TcpProxy(Uri target)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = new IPEndPoint(IPAddress.Loopback, target.Port);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _listener = listener;
        _ = AcceptLoopAsync(listener, _cts.Token);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Starts listening (again).</summary>
    public void Accept()
    {
        lock (_lock)
        {
            if (_listener is not null)
            {
                return;
            }

            _cts = new CancellationTokenSource();
            _placeholder?.Dispose();
            _placeholder = null;
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _ = AcceptLoopAsync(listener, _cts.Token);
        }
    }

    /// <summary>Stops listening and drops every open connection: the RPC refuses connections.</summary>
    public void Refuse()
    {
        lock (_lock)
        {
            _cts.Cancel();
            if (_listener is not null)
            {
                _listener.Stop();
                _listener = null;
                _placeholder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                _placeholder.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                _placeholder.Bind(new IPEndPoint(IPAddress.Loopback, Port));
            }
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }

            _connections.Clear();
        }
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = PipeAsync(client, cancellationToken);
        }
    }

    private async Task PipeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var upstream = new TcpClient();
        lock (_lock)
        {
            _connections.Add(client);
            _connections.Add(upstream);
        }

        try
        {
            await upstream.ConnectAsync(_target, cancellationToken);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var a = client.GetStream().CopyToAsync(upstream.GetStream(), linked.Token);
            var b = upstream.GetStream().CopyToAsync(client.GetStream(), linked.Token);
            await Task.WhenAny(a, b);
            await linked.CancelAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Dropped by Refuse or by either side.
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(client);
                _connections.Remove(upstream);
            }

            client.Dispose();
            upstream.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Refuse();
        lock (_lock)
        {
            _placeholder?.Dispose();
            _placeholder = null;
        }

        _cts.Dispose();
        return ValueTask.CompletedTask;
    }
}
