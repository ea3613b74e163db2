using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hokusai.Contracts.Testing;

/// <summary>
/// A throwaway Redis Cluster of three masters (Debian <c>redis-server</c> with <c>cluster-enabled yes</c>) on free
/// loopback ports, created with <c>redis-cli --cluster create</c>. Every node persists with AOF
/// (<c>appendfsync always</c>), so a master killed and restarted keeps every write it answered. Only the processes
/// started here are ever signalled or killed (by their own PIDs). Compile it into a test project with
/// <c>&lt;Compile Include="../Shared/RedisCluster.cs" Link="Shared/RedisCluster.cs" /&gt;</c>.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly Node[] _nodes;
    private readonly string _directory;

    private RedisCluster(Node[] nodes, string directory)
    {
        _nodes = nodes;
        _directory = directory;
    }

    /// <summary>The nodes' ports.</summary>
    public IReadOnlyList<int> Ports => _nodes.Select(n => n.Port).ToArray();

    /// <summary>A StackExchange.Redis configuration string naming every node.</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <summary>The <c>REDIS_URL</c> form: one node; the client discovers the others.</summary>
    public string Url => $"redis://127.0.0.1:{_nodes[0].Port}";

    /// <summary>Starts three masters and joins them into one cluster covering all 16384 slots.</summary>
    public static async Task<RedisCluster> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("hokusai-redis-cluster-").FullName;
        var nodes = new Node[3];
        var cluster = new RedisCluster(nodes, directory);
        try
        {
            for (var i = 0; i < nodes.Length; i++)
            {
                // The free ports are released before redis-server binds them: a server started in parallel can take
                // one first, and would then answer for this node. Such a port is given up for another.
                string? failure = null;
                for (var attempt = 0; attempt < Node.StartAttempts; attempt++)
                {
                    var node = new Node(FreeClusterPort(nodes.Take(i).Select(n => n.Port)), Path.Combine(directory, "node" + i));
                    if (Directory.Exists(node.Directory))
                    {
                        Directory.Delete(node.Directory, recursive: true);
                    }

                    Directory.CreateDirectory(node.Directory);
                    failure = await node.TryStartAsync().ConfigureAwait(false);
                    if (failure is null)
                    {
                        nodes[i] = node;
                        break;
                    }
                }

                if (nodes[i] is null)
                {
                    throw new InvalidOperationException($"cluster node {i} did not come up on any of {Node.StartAttempts} free ports; last: {failure}");
                }
            }

            var create = new List<string> { "--cluster", "create" };
            create.AddRange(nodes.Select(n => $"127.0.0.1:{n.Port}"));
            create.AddRange(["--cluster-replicas", "0", "--cluster-yes"]);
            var (code, text) = await RunAsync("redis-cli", create).ConfigureAwait(false);
            if (code != 0)
            {
                throw new InvalidOperationException("redis-cli --cluster create failed: " + text);
            }

            await cluster.WaitHealthyAsync().ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The index of the master serving <paramref name="key"/>'s slot.</summary>
    public async Task<int> MasterOfAsync(string key)
    {
        var (_, slotText) = await RunAsync("redis-cli", ["-p", _nodes[0].Port.ToString(CultureInfo.InvariantCulture), "CLUSTER", "KEYSLOT", key]).ConfigureAwait(false);
        var slot = int.Parse(slotText.Trim(), CultureInfo.InvariantCulture);
        var (_, nodesText) = await RunAsync("redis-cli", ["-p", _nodes[0].Port.ToString(CultureInfo.InvariantCulture), "CLUSTER", "NODES"]).ConfigureAwait(false);
        foreach (var line in nodesText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            var port = int.Parse(parts[1].Split('@')[0].Split(':')[1], CultureInfo.InvariantCulture);
            foreach (var range in parts.Skip(8))
            {
                var bounds = range.Split('-');
                var low = int.Parse(bounds[0], CultureInfo.InvariantCulture);
                var high = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : low;
                if (slot >= low && slot <= high)
                {
                    return Array.FindIndex(_nodes, n => n.Port == port);
                }
            }
        }

        throw new InvalidOperationException($"no master serves slot {slot}");
    }

    /// <summary>Freezes a node (SIGSTOP).</summary>
    public Task PauseAsync(int node) => _nodes[node].SignalAsync("-STOP");

    /// <summary>Resumes a frozen node (SIGCONT).</summary>
    public Task ResumeAsync(int node) => _nodes[node].SignalAsync("-CONT");

    /// <summary>Kills a node (SIGKILL: no shutdown, no final fsync beyond what AOF already did).</summary>
    public Task KillAsync(int node) => _nodes[node].KillAsync();

    /// <summary>Starts a killed node again on its port, from its AOF and cluster configuration, and waits for the cluster.</summary>
    public async Task StartAsync(int node)
    {
        await _nodes[node].StartAsync().ConfigureAwait(false);
        await WaitHealthyAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until every node reports <c>cluster_state:ok</c>.</summary>
    public async Task WaitHealthyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var healthy = true;
            foreach (var node in _nodes)
            {
                var (code, text) = await RunAsync("redis-cli", ["-p", node.Port.ToString(CultureInfo.InvariantCulture), "CLUSTER", "INFO"]).ConfigureAwait(false);
                healthy &= code == 0 && text.Contains("cluster_state:ok", StringComparison.Ordinal);
            }

            if (healthy)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the Redis cluster did not become healthy within 60 s");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Where(n => n is not null))
        {
            await node.KillAsync().ConfigureAwait(false);
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException(file + " did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }

    /// <summary>A free port whose cluster bus port (+10000) is free too.</summary>
    private static int FreeClusterPort(IEnumerable<int> taken)
    {
        var used = taken.ToHashSet();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (port >= 55535 || used.Contains(port) || used.Contains(port + 10000) || used.Contains(port - 10000))
            {
                continue;
            }

            try
            {
                using var bus = new TcpListener(IPAddress.Loopback, port + 10000);
                bus.Start();
                bus.Stop();
                return port;
            }
            catch (SocketException)
            {
                // Bus port taken: try another.
            }
        }

        throw new InvalidOperationException("no free port pair for a cluster node");
    }

    private sealed class Node(int port, string directory)
    {
        private Process? _process;

        public int Port { get; } = port;

        public string Directory { get; } = directory;

        // Ports (or restarts on the same port) tried before a start gives up.
        public const int StartAttempts = 5;

        /// <summary>Starts the node again on its port; a listener holding the port for a moment is waited out.</summary>
        public async Task StartAsync()
        {
            if (await RedisServer.RetryOnSamePortAsync(TryStartAsync).ConfigureAwait(false) is { } failure)
            {
                throw new InvalidOperationException($"redis-server (cluster node) could not be started on port {Port}: {failure}");
            }
        }

        /// <summary>
        /// Starts redis-server on <see cref="Port"/> and waits until it answers as our own process (its
        /// <c>INFO server</c> process_id). Returns null once it does, or why not after killing ours.
        /// </summary>
        public async Task<string?> TryStartAsync()
        {
            var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Directory };
            foreach (var arg in new[]
            {
                "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--protected-mode", "no",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                "--dir", Directory, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            })
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;

            return await RedisServer.AwaitOwnServerAsync(process, "redis-server (cluster node)", Port, PingAsync, ServerProcessIdAsync, KillAsync, () => string.Empty).ConfigureAwait(false);
        }

        /// <summary>The <c>process_id</c> the server on <see cref="Port"/> reports, or null when it does not answer.</summary>
        private async Task<int?> ServerProcessIdAsync()
        {
            var (code, text) = await RunAsync("redis-cli", ["-p", Port.ToString(CultureInfo.InvariantCulture), "INFO", "server"]).ConfigureAwait(false);
            var match = System.Text.RegularExpressions.Regex.Match(text, @"(?m)^process_id:(\d+)\r?$");
            return code == 0 && match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        }

        public async Task KillAsync()
        {
            if (_process is not { } process)
            {
                return;
            }

            _process = null;
            if (!process.HasExited)
            {
                await SignalAsync(process.Id, "-CONT").ConfigureAwait(false);
                process.Kill();
                await process.WaitForExitAsync().ConfigureAwait(false);
            }

            process.Dispose();
        }

        public Task SignalAsync(string signal) =>
            _process is { HasExited: false } process ? SignalAsync(process.Id, signal) : Task.CompletedTask;

        private static async Task SignalAsync(int pid, string signal)
        {
            using var kill = Process.Start("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }

        private async Task<bool> PingAsync()
        {
            try
            {
                using var client = new TcpClient();
                using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token).ConfigureAwait(false);
                var stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes("PING\r\n"), timeout.Token).ConfigureAwait(false);
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                return false;
            }
        }
    }
}
