using System.Globalization;
using System.Text;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Testing;

namespace ContractsApi.Tests.Replicas;

/// <summary>
/// Production's shape on loopback: one <c>redis-server</c>, one anvil dev chain with the registry and
/// manager deployed, and two published host processes sharing <c>REDIS_URL</c>, the chain settings and
/// one <c>DEPLOYER_PRIVATE_KEY</c>. Quotas stay at their defaults (5/hour, 20/day); tests spread their
/// deployments over many callers instead. The general request limit stays on (through Redis) but high
/// enough for status polling.
/// </summary>
public class ReplicaCluster : IAsyncLifetime
{
    private const int CallerCount = 100;
    private readonly PublishedApp _app = new();
    private readonly List<Caller> _callers = [];
    private readonly PublishedHost?[] _hosts = new PublishedHost?[2];
    private int _nextCaller;
    private int _nextModel;

    internal IRedisUnderTest Redis { get; private set; } = null!;

    /// <summary>Starts the Redis both hosts share.</summary>
    internal virtual async Task<IRedisUnderTest> StartRedisAsync() => new StandaloneRedis(await RedisServer.StartAsync());

    /// <summary>How fast a request must answer 503 while Redis is frozen or killed.</summary>
    internal virtual TimeSpan UnavailableWithin => TimeSpan.FromSeconds(1);

    /// <summary>Runs once the chain is up and before the hosts start (e.g. grants roles to more keys).</summary>
    internal virtual Task PrepareChainAsync() => Task.CompletedTask;

    /// <summary>Settings both hosts get on top of the common ones.</summary>
    internal virtual IReadOnlyDictionary<string, string> ExtraEnvironment { get; } = new Dictionary<string, string>();

    internal DevChain Chain { get; private set; } = null!;

    /// <summary>The RPC URL the hosts are given (the chain's own, unless a subclass puts something in front of it).</summary>
    internal virtual string HostRpcUrl => Chain.RpcUrl;

    /// <summary>Both hosts; a test that kills one calls <see cref="EnsureRunningAsync"/> to replace it.</summary>
    internal IReadOnlyList<PublishedHost> Hosts => _hosts.Select(h => h ?? throw new InvalidOperationException("host not started")).ToArray();

    internal ReplicaApi Api { get; } = new();

    /// <summary>A string unique to this test run, so model ids never meet earlier registrations.</summary>
    internal string RunId { get; } = Guid.NewGuid().ToString("N")[..6];

    internal string UserAddress => Chain.TestAccounts[0].Address;

    public async Task InitializeAsync()
    {
        var publish = _app.InitializeAsync();
        Redis = await StartRedisAsync();
        Chain = await DevChain.StartAsync(null, CancellationToken.None);
        await PrepareChainAsync();
        await publish;
        for (var i = 0; i < CallerCount; i++)
        {
            var name = "caller" + i.ToString("00", CultureInfo.InvariantCulture);
            _callers.Add(new Caller(name, $"replica-key-{name}-{RunId}-0123456789abcdef"));
        }

        await Task.WhenAll(Enumerable.Range(0, _hosts.Length).Select(StartHostAsync));
    }

    /// <summary>A caller no other test has used: its quota (5 per hour) is untouched.</summary>
    internal Caller NextCaller()
    {
        var index = Interlocked.Increment(ref _nextCaller) - 1;
        return index < _callers.Count ? _callers[index] : throw new InvalidOperationException($"more than {CallerCount} callers used");
    }

    /// <summary>A model id no earlier test (or run) has deployed.</summary>
    internal string NextModel(string tag) =>
        $"{tag}-{RunId}-{Interlocked.Increment(ref _nextModel).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Starts a fresh process in place of any host that has exited, and waits until both are ready.</summary>
    internal async Task EnsureRunningAsync()
    {
        var restarts = new List<Task>();
        for (var i = 0; i < _hosts.Length; i++)
        {
            if (_hosts[i] is { HasExited: true } dead)
            {
                await dead.DisposeAsync();
                _hosts[i] = null;
                restarts.Add(StartHostAsync(i));
            }
        }

        await Task.WhenAll(restarts);

        // Every host ready (Redis, chain and registry reachable), so a test never starts inside the
        // aftermath of the one before.
        await Task.WhenAll(_hosts.Select(h => h!.WaitForAsync("/health/ready", TimeSpan.FromSeconds(30))));
    }

    /// <summary>
    /// The host that owns the signer now, read from the lease key itself: its holder value starts with the
    /// owner's consumer name, <c>machine:pid:…</c>. Null when the lease is free or held by no live host.
    /// </summary>
    internal async Task<int?> SignerOwnerAsync(string? signer = null)
    {
        var holder = await RedisGetAsync("{hokusai:contracts}:signer:" + (signer ?? Chain.DeployerAddress).ToLowerInvariant() + ":lease");
        if (holder is null)
        {
            return null;
        }

        var pid = holder.Split(':')[1];
        for (var i = 0; i < _hosts.Length; i++)
        {
            if (_hosts[i] is { HasExited: false } host && AppProcessId(host).ToString(CultureInfo.InvariantCulture) == pid)
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>GET over plain RESP, so the tests read Redis without the code under test (on a cluster: from the node serving it).</summary>
    internal async Task<string?> RedisGetAsync(string key)
    {
        foreach (var port in Redis.Ports)
        {
            using var client = new System.Net.Sockets.TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            var keyBytes = Encoding.UTF8.GetByteCount(key);
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"*2\r\n$3\r\nGET\r\n${keyBytes}\r\n{key}\r\n"), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var header = await reader.ReadLineAsync(timeout.Token) ?? throw new IOException("no reply");
            switch (header)
            {
                case "$-1":
                    return null;
                case ['$', ..]:
                    return await reader.ReadLineAsync(timeout.Token);
                case ['-', 'M', 'O', 'V', 'E', 'D', ..]:
                    continue;
                default:
                    throw new IOException("unexpected reply " + header);
            }
        }

        throw new IOException("no node serves " + key);
    }

    /// <summary>Lines of both hosts' output that report a nonce conflict, from the given log offsets on.</summary>
    internal IReadOnlyList<string> NonceConflictLines(IReadOnlyList<int>? fromOffsets = null)
    {
        var lines = new List<string>();
        for (var i = 0; i < _hosts.Length; i++)
        {
            var output = _hosts[i]?.StdOut ?? string.Empty;
            var from = fromOffsets is null ? 0 : Math.Min(fromOffsets[i], output.Length);
            lines.AddRange(output[from..].Split('\n').Where(l =>
                l.Contains("nonce too low", StringComparison.OrdinalIgnoreCase)
                || l.Contains("NonceConflict", StringComparison.OrdinalIgnoreCase)
                || l.Contains("nonce conflict", StringComparison.OrdinalIgnoreCase)
                || l.Contains("replacement transaction underpriced", StringComparison.OrdinalIgnoreCase)));
        }

        return lines;
    }

    /// <summary>Current length of each host's output, to look only at what a test caused.</summary>
    internal IReadOnlyList<int> LogOffsets() => _hosts.Select(h => h?.StdOut.Length ?? 0).ToArray();

    /// <summary>The last lines of both hosts' output (without the polling's request lines), for failure messages.</summary>
    internal string Tail(int lines = 60)
    {
        var text = new StringBuilder();
        for (var i = 0; i < _hosts.Length; i++)
        {
            var output = (_hosts[i]?.StdOut ?? string.Empty).Split('\n')
                .Where(l => !l.Contains("\"RequestMethod\":\"GET\"", StringComparison.Ordinal));
            text.AppendLine(CultureInfo.InvariantCulture, $"--- host {i} (last {lines} lines)");
            foreach (var line in output.TakeLast(lines))
            {
                text.AppendLine(line);
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Why a request was answered as it was: the hosts' log lines carrying its request id (an unexpected error's
    /// exception is on its line), or the tail when it has none.
    /// </summary>
    internal string Explain(ApiResponse response)
    {
        if (!response.Headers.TryGetValue("X-Request-Id", out var requestId) || string.IsNullOrEmpty(requestId))
        {
            return Tail();
        }

        var text = new StringBuilder();
        for (var i = 0; i < _hosts.Length; i++)
        {
            foreach (var line in (_hosts[i]?.StdOut ?? string.Empty).Split('\n').Where(l => l.Contains(requestId, StringComparison.Ordinal)))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"host {i}: {line}");
            }
        }

        return text.Length > 0 ? text.ToString() : $"no log line carries request id {requestId}\n{Tail()}";
    }

    /// <summary>The app process (child of dumb-init) of a host, found through /proc.</summary>
    internal static int AppProcessId(PublishedHost host)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var status = File.ReadAllText(Path.Combine(dir, "status"));
                if (status.Contains($"\nPPid:\t{host.ProcessId}\n", StringComparison.Ordinal))
                {
                    return int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
            }
        }

        throw new InvalidOperationException($"no child of {host.ProcessId} found");
    }

    private async Task StartHostAsync(int index)
    {
        var env = new Dictionary<string, string>
        {
            ["REDIS_URL"] = Redis.Url,
            ["RPC_URL"] = HostRpcUrl,
            ["CHAIN_ID"] = Chain.ChainId.ToString(CultureInfo.InvariantCulture),
            ["MODEL_REGISTRY_ADDRESS"] = Chain.ModelRegistryAddress,
            ["TOKEN_MANAGER_ADDRESS"] = Chain.TokenManagerAddress,
            ["DEPLOYER_PRIVATE_KEY"] = Chain.DeployerPrivateKey,
            ["VALID_API_KEYS"] = string.Join(',', _callers.Select(c => c.Name + ":" + c.Key)),
            ["RATE_LIMIT_PER_MINUTE"] = "1000000",
            ["LOG_LEVEL"] = "info",
        };
        foreach (var (name, value) in ExtraEnvironment)
        {
            env[name] = value;
        }

        var host = PublishedHost.Start(_app.Directory, env);
        _hosts[index] = host;
        await host.WaitForAsync("/health/ready", TimeSpan.FromSeconds(60));
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }

        Api.Dispose();
        if (Chain is not null)
        {
            await Chain.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        await _app.DisposeAsync();
    }
}

/// <summary>An API caller: its identity and key.</summary>
internal sealed record Caller(string Name, string Key);

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReplicaGroup : ICollectionFixture<ReplicaCluster>
{
    public const string Name = "two replicas";
}

/// <summary>
/// The same shape on a three-master Redis Cluster (AOF, fsync always), with a short signer lease
/// (<c>SIGNER_LEASE_TTL=3</c>, renewed every second) so the handover pause after a kill is measured too.
/// "Redis" in the scenarios is the master serving the store's hash tag.
/// </summary>
public sealed class ClusterReplicaCluster : ReplicaCluster
{
    internal override async Task<IRedisUnderTest> StartRedisAsync()
    {
        var cluster = await RedisCluster.StartAsync();
        return new ClusteredRedis(cluster, await cluster.MasterOfAsync("{hokusai:contracts}:queue"));
    }

    // A killed master is not refused at once by the client as a lone server is: the request waits out the
    // operation timeout (750 ms); measured 1.2–1.3 s end to end on the loaded test machine.
    internal override TimeSpan UnavailableWithin => TimeSpan.FromSeconds(2);

    internal override IReadOnlyDictionary<string, string> ExtraEnvironment { get; } = new Dictionary<string, string>
    {
        ["SIGNER_LEASE_TTL"] = "3",
        ["SIGNER_LEASE_RENEW_INTERVAL"] = "1",
    };
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterReplicaGroup : ICollectionFixture<ClusterReplicaCluster>
{
    public const string Name = "two replicas on a Redis Cluster";
}

/// <summary>The Redis the replica scenarios freeze, kill and restart.</summary>
internal interface IRedisUnderTest : IAsyncDisposable
{
    string Url { get; }

    IReadOnlyList<int> Ports { get; }

    Task PauseAsync();

    Task ResumeAsync();

    Task StopAsync();

    /// <summary>Starts it again on the same port(s): empty for the standalone test server, from AOF for the cluster.</summary>
    Task RestartAsync();
}

internal sealed class StandaloneRedis(RedisServer server) : IRedisUnderTest
{
    public string Url => server.Url;

    public IReadOnlyList<int> Ports => [server.Port];

    public Task PauseAsync() => server.PauseAsync();

    public Task ResumeAsync() => server.ResumeAsync();

    public Task StopAsync() => server.StopAsync();

    public Task RestartAsync() => server.RestartAsync();

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

internal sealed class ClusteredRedis(RedisCluster cluster, int master) : IRedisUnderTest
{
    public string Url => cluster.Url;

    public IReadOnlyList<int> Ports => cluster.Ports;

    public Task PauseAsync() => cluster.PauseAsync(master);

    public Task ResumeAsync() => cluster.ResumeAsync(master);

    public Task StopAsync() => cluster.KillAsync(master);

    public Task RestartAsync() => cluster.StartAsync(master);

    public ValueTask DisposeAsync() => cluster.DisposeAsync();
}

/// <summary>
/// Two replicas whose RPC goes through a TCP proxy in front of anvil (so the RPC can refuse connections while the
/// chain keeps its state), with a 3 s signer lease so a handover fits inside an outage.
/// </summary>
public sealed class OutageReplicaCluster : ReplicaCluster
{
    private Hokusai.Contracts.Tests.Chain.TcpProxy? _proxy;

    internal Hokusai.Contracts.Tests.Chain.TcpProxy Proxy => _proxy ??= new Hokusai.Contracts.Tests.Chain.TcpProxy(new Uri(Chain.RpcUrl));

    internal override string HostRpcUrl => Proxy.Url;

    internal override IReadOnlyDictionary<string, string> ExtraEnvironment { get; } = new Dictionary<string, string>
    {
        ["SIGNER_LEASE_TTL"] = "3",
        ["SIGNER_LEASE_RENEW_INTERVAL"] = "1",
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OutageReplicaGroup : ICollectionFixture<OutageReplicaCluster>
{
    public const string Name = "two replicas behind a refusing RPC";
}
