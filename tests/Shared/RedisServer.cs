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
        var server = new RedisServer(FreePort(), password);
        await server.RestartAsync().ConfigureAwait(false);
        return server;
    }

    /// <summary>(Re)starts the server on the same port with an empty data set.</summary>
    public async Task RestartAsync()
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

        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        _paused = false;

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await PingAsync().ConfigureAwait(false))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"redis-server on port {Port} did not come up.");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
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
