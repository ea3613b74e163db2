using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hokusai.Contracts.Testing;

/// <summary>
/// A throwaway <c>redis-server</c> on a free loopback port, without persistence. Only the process started
/// here is ever signalled or killed (by its own PID). Compile it into a test project with
/// <c>&lt;Compile Include="../Shared/RedisServer.cs" Link="Shared/RedisServer.cs" /&gt;</c>.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    // Ports (or restarts on the same port) tried before a start gives up.
    private const int StartAttempts = 5;

    private Process? _process;
    private bool _paused;

    private RedisServer(int port, string? password)
    {
        Port = port;
        Password = password;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>PID of the running server, or null while stopped.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>The password the server requires (<c>--requirepass</c>), or null for none.</summary>
    public string? Password { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string ConnectionString => Password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={Password}";

    /// <summary>The <c>REDIS_URL</c> form.</summary>
    public string Url => Password is null ? $"redis://127.0.0.1:{Port}" : $"redis://default:{Uri.EscapeDataString(Password)}@127.0.0.1:{Port}";

    /// <summary>Starts a server on a free port and waits until it answers PING.</summary>
    /// <param name="password">When set, the server requires it (<c>--requirepass</c>).</param>
    public static async Task<RedisServer> StartAsync(string? password = null)
    {
        // The free port is released before redis-server binds it, so a server started in parallel (or any other
        // listener) can take it first. Ours then exits with "address in use", and a PING may well be answered by the
        // other server: two test classes would share one server, and one's Pause or Stop would hit the other's tests.
        // Only a server that reports our process's id is accepted; otherwise another port is tried.
        string? failure = null;
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            var server = new RedisServer(FreePort(), password);
            failure = await server.TryStartAsync().ConfigureAwait(false);
            if (failure is null)
            {
                return server;
            }
        }

        throw new InvalidOperationException($"redis-server did not come up on any of {StartAttempts} free ports; last: {failure}");
    }

    /// <summary>(Re)starts the server on the same port with an empty data set.</summary>
    public async Task RestartAsync()
    {
        // The port was free while the server was stopped: a short-lived listener (another test probing for a free
        // port) may hold it for a moment, so ours is started again a few times before giving up.
        if (await RetryOnSamePortAsync(TryStartAsync).ConfigureAwait(false) is { } failure)
        {
            throw new InvalidOperationException($"redis-server could not be restarted on port {Port}: {failure}");
        }
    }

    /// <summary>
    /// Runs <paramref name="tryStart"/> up to <see cref="StartAttempts"/> times with a growing pause between tries;
    /// null once it succeeds, else its last failure. For a start that must keep its port (a restart, a cluster node).
    /// </summary>
    /// <summary>
    /// Waits (up to 30 s) until the server answering <paramref name="port"/> is <paramref name="process"/> itself (its
    /// <c>INFO server</c> process_id): null then. When another server answers, or ours exits, stops ours and says why;
    /// a port taken by a parallel start must not make two tests share one server.
    /// </summary>
    internal static async Task<string?> AwaitOwnServerAsync(
        Process process, string what, int port, Func<Task<bool>> ping, Func<Task<int?>> answeringProcessId, Func<Task> stop, Func<string> output)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (await ping().ConfigureAwait(false))
            {
                var answering = await answeringProcessId().ConfigureAwait(false);
                if (answering == process.Id && !process.HasExited)
                {
                    return null;
                }

                if (answering is not null)
                {
                    var ours = process.Id;
                    await stop().ConfigureAwait(false);
                    return $"port {port} is answered by another redis-server (pid {answering}), not ours (pid {ours})";
                }
            }

            if (process.HasExited)
            {
                await stop().ConfigureAwait(false);
                return $"{what} on port {port} exited: {output()}";
            }

            if (DateTime.UtcNow > deadline)
            {
                await stop().ConfigureAwait(false);
                throw new InvalidOperationException($"{what} on port {port} did not come up within 30 s: {output()}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    internal static async Task<string?> RetryOnSamePortAsync(Func<Task<string?>> tryStart)
    {
        string? failure = null;
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            if (attempt > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt)).ConfigureAwait(false);
            }

            failure = await tryStart().ConfigureAwait(false);
            if (failure is null)
            {
                return null;
            }
        }

        return failure;
    }

    /// <summary>
    /// Starts redis-server on <see cref="Port"/> and waits until it answers as our own process. Returns null once it
    /// does, or why not (the process exited, or another process answers on the port) after stopping ours.
    /// </summary>
    private async Task<string?> TryStartAsync()
    {
        await StopAsync().ConfigureAwait(false);
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--protected-mode", "no" })
        {
            start.ArgumentList.Add(arg);
        }

        if (Password is not null)
        {
            start.ArgumentList.Add("--requirepass");
            start.ArgumentList.Add(Password);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed (apt-get install redis-server).", ex);
        }

        // The last lines redis-server wrote, to say why it exited ("Address already in use").
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Keep(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is { } line)
            {
                output.Enqueue(line);
                while (output.Count > 20)
                {
                    output.TryDequeue(out _);
                }
            }
        }

        process.OutputDataReceived += Keep;
        process.ErrorDataReceived += Keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        _paused = false;

        return await AwaitOwnServerAsync(process, "redis-server", Port, PingAsync, ServerProcessIdAsync, StopAsync, () => string.Join(" | ", output)).ConfigureAwait(false);
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open but nothing is answered.</summary>
    public Task PauseAsync()
    {
        _paused = true;
        return SignalAsync("-STOP");
    }

    /// <summary>Resumes a paused server (SIGCONT).</summary>
    public Task ResumeAsync()
    {
        _paused = false;
        return SignalAsync("-CONT");
    }

    /// <summary>Kills the server process and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        if (!process.HasExited)
        {
            if (_paused)
            {
                await SignalAsync(process.Id, "-CONT").ConfigureAwait(false);
            }

            process.Kill();
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        process.Dispose();
        _paused = false;
    }

    /// <summary>True when the server answers PING within half a second.</summary>
    public async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            var command = Password is null ? "PING\r\n" : $"AUTH {Password}\r\nPING\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command), timeout.Token).ConfigureAwait(false);
            var buffer = new byte[64];
            var received = string.Empty;
            while (!received.Contains("+PONG", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                received += Encoding.ASCII.GetString(buffer, 0, read);
                if (read == 0 || received.StartsWith('-') || received.Contains("\r\n-", StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The <c>process_id</c> the server on <see cref="Port"/> reports (<c>INFO server</c>), or null when it does not answer.</summary>
    private async Task<int?> ServerProcessIdAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            var command = Password is null ? "INFO server\r\n" : $"AUTH {Password}\r\nINFO server\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command), timeout.Token).ConfigureAwait(false);
            var buffer = new byte[4096];
            var received = new StringBuilder();
            while (true)
            {
                var text = received.ToString();
                if (text.StartsWith('-') || text.Contains("\r\n-", StringComparison.Ordinal))
                {
                    return null;
                }

                // The line is complete once its CRLF arrived.
                var match = System.Text.RegularExpressions.Regex.Match(text, @"\nprocess_id:(\d+)\r\n");
                if (match.Success)
                {
                    return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                }

                var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return null;
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private Task SignalAsync(string signal) =>
        _process is { HasExited: false } process ? SignalAsync(process.Id, signal) : Task.CompletedTask;

    private static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync().ConfigureAwait(false);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
