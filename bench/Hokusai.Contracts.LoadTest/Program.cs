using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Hokusai.Contracts;
using Hokusai.Contracts.Testing;

// Load run of the reference host on loopback: starts redis-server, an anvil dev chain and the built
// sample host as separate processes, then
//   1. one instance with Redis: N POSTs (distinct models) at bounded concurrency → accepted/s, p50, p99;
//   2. two instances on one Redis, one chain, one deployer key: D deployments split across both →
//      wall time until all are completed, deployments/s, and the deployer's nonce check.
// Usage: dotnet run -c Release --project bench/Hokusai.Contracts.LoadTest -- [--requests 2000] [--concurrency 32] [--deployments 40]
// Other modes (one per run):
//   --wrk [--duration 15]  wrk -t2 -c32 on POST /api/deployments and GET …/status of one host (signer lease held
//                          elsewhere, so only HTTP is measured): req/s, p50/p99 and the POST/GET ratio. Needs wrk
//                          (bench/http-load.sh installs it). With --local-lookup the host answers the registry lookup
//                          in process (no eth_call; a measurement of what a registry mirror saves, not a setting).
//   --throughput [--jobs 1000] [--warmup 200] [--window 16] [--poll-ms 50] [--heads poll,ws] [--modes legacy,factory]
//                          raw three-transaction sends vs the service end to end, once per head source and mode
//                          (ws: the host gets RPC_WS_URL, heads pushed over newHeads instead of polled).
//   --idle [60]            two idle replicas on one Redis: commands each sends per second, counted with MONITOR.
//   --throughput --pool [--jobs 1000] [--keys K --replicas R]
//                          the signer pool end to end: 1 key × 1 replica, 2 × 2 and 4 × 2 (or the one shape given),
//                          deployments/s and the ratio to one key, plus raw deployToken sends from 1 and K keys.
if (System.Environment.GetCommandLineArgs().Contains("--throughput") && (System.Environment.GetCommandLineArgs().Contains("--pool") || System.Environment.GetCommandLineArgs().Contains("--keys")))
{
    var given = System.Environment.GetCommandLineArgs();
    return await PoolThroughput.RunAsync(Option("--jobs", 1000), given.Contains("--keys") ? Option("--keys", 1) : null, given.Contains("--replicas") ? Option("--replicas", 1) : null, FindHost());
}

if (System.Environment.GetCommandLineArgs().Contains("--throughput"))
{
    var argv = System.Environment.GetCommandLineArgs();
    var modes = Array.IndexOf(argv, "--modes") is var m and >= 0 && m + 1 < argv.Length ? argv[m + 1].Split(',') : ["legacy", "factory"];
    var heads = Array.IndexOf(argv, "--heads") is var h and >= 0 && h + 1 < argv.Length ? argv[h + 1].Split(',') : ["poll"];
    return await Throughput.RunAsync(Option("--jobs", 1000), Option("--warmup", 200), Option("--window", 16), Option("--poll-ms", 50), FindHost(), heads, modes);
}

var requests = Option("--requests", 2000);
var concurrency = Option("--concurrency", 32);
var deployments = Option("--deployments", 40);
var warmup = Math.Min(100, requests / 10);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Hokusai.Contracts load run: {requests} POSTs at concurrency {concurrency}, then {deployments} deployments over 2 replicas; {Environment.ProcessorCount} cores"));

var hostDll = FindHost();
using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
var user = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // anvil account 1
if (System.Environment.GetCommandLineArgs().Contains("--wrk"))
{
    return await WrkAsync(Option("--duration", 15));
}

if (System.Environment.GetCommandLineArgs().Contains("--idle"))
{
    return await IdleAsync(Option("--idle", 60));
}

// 1. Accepted POSTs per second on one instance with Redis.
{
    await using var redis = await RedisServer.StartAsync();
    await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
    var caller = new Caller("load", "load-key-0123456789abcdef");
    await using var host = await Host.StartAsync(hostDll, HostEnvironment(redis, chain, [caller], new()
    {
        // One caller sends everything: its quotas and request limit are raised out of the way, but the
        // limiter and the quota script still run (in Redis) on every request.
        ["QUOTA_PER_HOUR"] = "1000000",
        ["QUOTA_PER_DAY"] = "1000000",
        ["RATE_LIMIT_PER_MINUTE"] = "1000000",
    }));

    var run = Guid.NewGuid().ToString("N")[..6];
    await PostManyAsync(host, caller, $"warm-{run}", warmup, concurrency);
    var (elapsed, latencies, statuses) = await PostManyAsync(host, caller, $"load-{run}", requests, concurrency);
    var accepted = statuses.Count(s => s == HttpStatusCode.Accepted);
    Array.Sort(latencies);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"one instance + Redis: {accepted}/{requests} accepted in {elapsed.TotalSeconds:0.00} s = {accepted / elapsed.TotalSeconds:0} accepted POSTs/s; latency p50 {Percentile(latencies, 0.50):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, max {latencies[^1]:0.0} ms"));
    if (accepted != requests)
    {
        Console.WriteLine("  non-202 answers: " + string.Join(", ", statuses.Where(s => s != HttpStatusCode.Accepted).GroupBy(s => s).Select(g => $"{(int)g.Key}×{g.Count()}")));
    }
}

// 2. Two replicas, one Redis, one chain, one deployer key, default quotas (5 per caller per hour).
{
    await using var redis = await RedisServer.StartAsync();
    await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
    var callers = Enumerable.Range(0, (deployments + 4) / 5).Select(i => new Caller($"c{i}", $"replica-key-{i:000}-0123456789abcdef")).ToArray();
    var env = HostEnvironment(redis, chain, callers, new() { ["RATE_LIMIT_PER_MINUTE"] = "1000000" });
    await using var a = await Host.StartAsync(hostDll, env);
    await using var b = await Host.StartAsync(hostDll, env);
    var hosts = new[] { a, b };
    var nonceBefore = await TransactionCountAsync(chain);

    var run = Guid.NewGuid().ToString("N")[..6];
    var sw = Stopwatch.StartNew();
    var posts = await Task.WhenAll(Enumerable.Range(0, deployments).Select(i =>
        PostAsync(hosts[i % 2], callers[i % callers.Length], $"replica-{run}-{i}")));
    var acceptedIn = sw.Elapsed;
    var ids = posts.Where(p => p.Status == HttpStatusCode.Accepted).Select(p => p.JobId!.Value).ToHashSet();
    var final = new Dictionary<Guid, JsonElement>();
    var deadline = TimeSpan.FromMinutes(3);
    while (final.Count < ids.Count && sw.Elapsed < deadline)
    {
        await Task.Delay(100);
        foreach (var caller in callers)
        {
            foreach (var job in await ListAsync(hosts[final.Count % 2], caller))
            {
                var id = Guid.Parse(job.GetProperty("requestId").GetString()!);
                if (ids.Contains(id) && job.GetProperty("status").GetString() is "completed" or "failed" or "cancelled")
                {
                    final[id] = job;
                }
            }
        }
    }

    var wall = sw.Elapsed;
    var completed = final.Values.Count(j => j.GetProperty("status").GetString() == "completed");
    var reported = final.Values.Sum(j => j.TryGetProperty("tokenDetails", out var t)
        ? (t.TryGetProperty("transactionHash", out _) ? 1 : 0) + (t.TryGetProperty("registryTransactionHash", out _) ? 1 : 0) + (t.TryGetProperty("mintTransactionHash", out _) ? 1 : 0)
        : 0);
    var sent = await TransactionCountAsync(chain) - nonceBefore;
    var conflicts = hosts.Sum(h => h.Output.Split('\n').Count(l => l.Contains("nonce too low", StringComparison.OrdinalIgnoreCase) || l.Contains("nonce conflict", StringComparison.OrdinalIgnoreCase)));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"two replicas: {ids.Count}/{deployments} accepted in {acceptedIn.TotalMilliseconds:0} ms; {completed} completed in {wall.TotalSeconds:0.00} s = {completed / wall.TotalSeconds:0.0} deployments/s; deployer sent {sent} transactions, jobs report {reported}; nonce conflicts logged: {conflicts}"));
}

return 0;

// wrk on one host: POST (distinct models) then GET status of one job, same host, same run.
async Task<int> WrkAsync(int seconds)
{
    // Measurement only: the registry lookup answered in process (no eth_call), to size what the mirror saves.
    var localLookup = System.Environment.GetCommandLineArgs().Contains("--local-lookup");
    await using var redis = await RedisServer.StartAsync();
    await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
    var caller = new Caller("wrk", "wrk-key-0123456789abcdef0123");
    // The signer lease is held by "someone else", so this host only serves HTTP and never signs.
    await RedisCliAsync(redis, "SET", "{hokusai:contracts}:signer:" + chain.DeployerAddress.ToLowerInvariant() + ":lease", "elsewhere|1", "PX", "86400000");
    await using var host = await Host.StartAsync(hostDll, HostEnvironment(redis, chain, [caller], new Dictionary<string, string>
    {
        ["QUOTA_PER_HOUR"] = "1000000",
        ["QUOTA_PER_DAY"] = "1000000",
        ["RATE_LIMIT_PER_MINUTE"] = "1000000",
        ["LOG_LEVEL"] = "warn",
    }.Concat(localLookup ? LocalLookupEnvironment() : []).ToDictionary()));
    if (localLookup && !host.Output.Contains("registry lookup answered locally", StringComparison.Ordinal))
    {
        Console.WriteLine("--local-lookup: the host did not load the local lookup:\n" + host.Output);
        return 1;
    }

    var (status, jobId) = await PostAsync(host, caller, "wrk-status-" + Guid.NewGuid().ToString("N")[..8]);
    if (status != HttpStatusCode.Accepted)
    {
        Console.WriteLine("could not create the job to poll: " + status);
        return 1;
    }

    // Redis commands per POST, counted with MONITOR around 200 sequential POSTs (the limiter's periodic sync and
    // the waiting lease check included; nothing else runs: this host never owns the signer).
    {
        var monitorStart = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-p", redis.Port.ToString(CultureInfo.InvariantCulture), "monitor" })
        {
            monitorStart.ArgumentList.Add(arg);
        }

        var seen = new List<string>();
        using var monitor = Process.Start(monitorStart)!;
        monitor.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (seen) { seen.Add(e.Data); } } };
        monitor.BeginOutputReadLine();
        await Task.Delay(500);
        var counted = "count-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 200; i++)
        {
            await PostAsync(host, caller, $"{counted}-{i}");
        }

        await Task.Delay(1_000); // the limiter's last sync
        monitor.Kill();
        await monitor.WaitForExitAsync();
        string[] lines;
        lock (seen)
        {
            lines = [.. seen];
        }

        var sent = lines.Where(l => l.Contains(" [0 127.0.0.1:", StringComparison.Ordinal)).Select(l => l.Split('"')[1].ToUpperInvariant()).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"200 POSTs sent {sent.Length} Redis commands = {sent.Length / 200.0:0.00} per POST ({string.Join(", ", sent.GroupBy(c => c).Select(g => $"{g.Key}×{g.Count()}"))})"));
    }

    var script = Path.Combine(Path.GetTempPath(), $"hokusai-wrk-{Guid.NewGuid():N}.lua");
    await File.WriteAllTextAsync(script, $$"""
        -- Every request a model id of its own: the run's tag (the first script argument), the thread, a counter.
        local threads = 0
        local counter = 0
        function setup(thread)
          threads = threads + 1
          thread:set("tid", threads)
        end
        function init(args) prefix = "w" .. args[1] .. "-" .. tid .. "-" end
        request = function()
          counter = counter + 1
          local body = '{"modelId":"' .. prefix .. counter .. '","userAddress":"{{user}}"}'
          return wrk.format("POST", "/api/deployments", {["Content-Type"] = "application/json", ["X-API-Key"] = "{{caller.Key}}"}, body)
        end
        """);
    try
    {
        var statusUrl = new Uri(host.BaseAddress, $"api/deployments/{jobId}/status").ToString();
        string[] common = ["-t2", "-c32", "--latency"];
        string[] keyHeader = ["-H", "X-API-Key: " + caller.Key];
        string Tag() => Guid.NewGuid().ToString("N")[..10];
        // Warm-up long enough for tiered compilation to finish the accept path on a loaded machine (3 s left POST
        // code at its instrumented tier while the later GET run profited from the shared pipeline already optimised).
        await WrkRunAsync([.. common, "-d6s", "-s", script, host.BaseAddress.ToString(), "--", Tag()]); // warm-up
        await WrkRunAsync([.. common, "-d3s", .. keyHeader, statusUrl]);
        // CPU time per request of the host, Redis and wrk itself (all on the same cores): what each request costs.
        async Task<((double Rps, string P50, string P99, long Errors, double WrkCpuMs) Run, double HostUs, double RedisUs)> MeasuredAsync(string[] args)
        {
            var host0 = ProcessStats.CpuMilliseconds(host.ProcessId);
            var redis0 = ProcessStats.CpuMilliseconds(redis.ProcessId!.Value);
            var run = await WrkRunAsync(args);
            var requests = run.Rps * seconds;
            return (run, (ProcessStats.CpuMilliseconds(host.ProcessId) - host0) * 1000 / requests, (ProcessStats.CpuMilliseconds(redis.ProcessId!.Value) - redis0) * 1000 / requests);
        }

        var post = await MeasuredAsync([.. common, $"-d{seconds}s", "-s", script, host.BaseAddress.ToString(), "--", Tag()]);
        var get = await MeasuredAsync([.. common, $"-d{seconds}s", .. keyHeader, statusUrl]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrk -t2 -c32, {seconds} s each, one host: POST {post.Run.Rps:0} req/s (p50 {post.Run.P50}, p99 {post.Run.P99}, non-2xx {post.Run.Errors}); GET status {get.Run.Rps:0} req/s (p50 {get.Run.P50}, p99 {get.Run.P99}, non-2xx {get.Run.Errors}); POST = {100 * post.Run.Rps / get.Run.Rps:0} % of GET status"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"CPU per request: POST host {post.HostUs:0} µs, Redis {post.RedisUs:0} µs, wrk {post.Run.WrkCpuMs * 1000 / (post.Run.Rps * seconds):0} µs; GET status host {get.HostUs:0} µs, Redis {get.RedisUs:0} µs, wrk {get.Run.WrkCpuMs * 1000 / (get.Run.Rps * seconds):0} µs"));
        if (post.Run.Errors + get.Run.Errors > 0)
        {
            // Non-2xx answers: show what the host logged about them (warnings and up), so a run says why.
            Console.WriteLine("host log (last lines):\n" + string.Join('\n', host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(8)));
        }

        return 0;
    }
    finally
    {
        File.Delete(script);
    }
}

static Dictionary<string, string> LocalLookupEnvironment()
{
    var dll = Path.Combine(AppContext.BaseDirectory, "Hokusai.Contracts.LocalLookup.dll");
    return new()
    {
        ["DOTNET_STARTUP_HOOKS"] = dll,
        ["ASPNETCORE_HOSTINGSTARTUPASSEMBLIES"] = Path.GetFileNameWithoutExtension(dll),
    };
}

async Task<(double Rps, string P50, string P99, long Errors, double WrkCpuMs)> WrkRunAsync(string[] args)
{
    // Through bash, whose `times` reports the CPU time wrk used (wrk shares the cores with what it measures).
    var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    psi.ArgumentList.Add("-c");
    psi.ArgumentList.Add("wrk \"$@\"; times");
    psi.ArgumentList.Add("wrk");
    foreach (var arg in args)
    {
        psi.ArgumentList.Add(arg);
    }

    using var process = Process.Start(psi) ?? throw new InvalidOperationException("bash did not start");
    var text = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    if (!text.Contains("Requests/sec:", StringComparison.Ordinal))
    {
        throw new InvalidOperationException("wrk failed (bench/http-load.sh installs it): " + text);
    }

    // `times` prints the shell's then its children's "user system" as e.g. 0m1.234s 0m0.567s.
    var children = text.TrimEnd().Split('\n').Last().Split(' ', StringSplitOptions.RemoveEmptyEntries);
    double Seconds(string value) => double.Parse(value[..value.IndexOf('m', StringComparison.Ordinal)], CultureInfo.InvariantCulture) * 60
        + double.Parse(value[(value.IndexOf('m', StringComparison.Ordinal) + 1)..^1], CultureInfo.InvariantCulture);
    var wrkCpuMs = (Seconds(children[0]) + Seconds(children[1])) * 1000;
    string Line(string start) => text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(start, StringComparison.Ordinal)) ?? string.Empty;
    var rps = double.Parse(Line("Requests/sec:").Split(':', StringSplitOptions.TrimEntries)[1], CultureInfo.InvariantCulture);
    var errors = Line("Non-2xx or 3xx responses:") is { Length: > 0 } non2xx ? long.Parse(non2xx.Split(':', StringSplitOptions.TrimEntries)[1], CultureInfo.InvariantCulture) : 0;
    return (rps, Line("50%").Split(' ', StringSplitOptions.RemoveEmptyEntries).Last(), Line("99%").Split(' ', StringSplitOptions.RemoveEmptyEntries).Last(), errors, wrkCpuMs);
}

// Two idle replicas (one owns the signer, one waits for it): Redis commands each sends, over a MONITOR window.
async Task<int> IdleAsync(int seconds)
{
    await using var redis = await RedisServer.StartAsync();
    await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
    var env = HostEnvironment(redis, chain, [new Caller("idle", "idle-key-0123456789abcdef")], new() { ["LOG_LEVEL"] = "warn" });
    await using var a = await Host.StartAsync(hostDll, env);
    await using var b = await Host.StartAsync(hostDll, env);
    await Task.Delay(TimeSpan.FromSeconds(5)); // past start-up: lease taken, workers waiting

    var psi = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var arg in new[] { "-p", redis.Port.ToString(CultureInfo.InvariantCulture), "monitor" })
    {
        psi.ArgumentList.Add(arg);
    }

    var lines = new List<string>();
    using var monitor = Process.Start(psi)!;
    monitor.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
    monitor.BeginOutputReadLine();
    await Task.Delay(TimeSpan.FromSeconds(seconds));
    monitor.Kill();
    await monitor.WaitForExitAsync();

    // Which connection belongs to which replica: the process that owns the client's local port.
    var owners = await ConnectionOwnersAsync(redis.Port);
    string[] snapshot;
    lock (lines)
    {
        snapshot = [.. lines];
    }

    var sent = snapshot.Where(l => l.Contains(" [0 127.0.0.1:", StringComparison.Ordinal)).ToArray();
    var scripted = snapshot.Count(l => l.Contains(" [0 lua]", StringComparison.Ordinal));
    foreach (var (host, name) in new[] { (a, "replica A"), (b, "replica B") })
    {
        var mine = sent.Where(l => owners.TryGetValue(l.Split("127.0.0.1:")[1].Split(']')[0], out var pid) && pid == host.ProcessId).ToArray();
        var commands = mine.Select(l => l.Split('"')[1].ToUpperInvariant()).GroupBy(c => c).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}×{g.Count()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {mine.Length} commands in {seconds} s = {mine.Length / (double)seconds:0.00}/s ({string.Join(", ", commands)})"));
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"both: {sent.Length} commands sent ({sent.Length / (double)seconds:0.00}/s), {scripted} run inside scripts"));
    return 0;
}

static async Task<Dictionary<string, int>> ConnectionOwnersAsync(int redisPort)
{
    var psi = new ProcessStartInfo("ss", ["-tnpH", "dst", "127.0.0.1:" + redisPort.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true, UseShellExecute = false };
    using var process = Process.Start(psi)!;
    var text = await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
    var owners = new Dictionary<string, int>(StringComparer.Ordinal);
    foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var local = parts.FirstOrDefault(p => p.StartsWith("127.0.0.1:", StringComparison.Ordinal));
        var pid = line.Split("pid=").ElementAtOrDefault(1)?.Split(',')[0];
        if (local is not null && int.TryParse(pid, CultureInfo.InvariantCulture, out var id))
        {
            owners[local["127.0.0.1:".Length..]] = id;
        }
    }

    return owners;
}

static async Task RedisCliAsync(RedisServer redis, params string[] args)
{
    var psi = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true };
    psi.ArgumentList.Add("-p");
    psi.ArgumentList.Add(redis.Port.ToString(CultureInfo.InvariantCulture));
    foreach (var arg in args)
    {
        psi.ArgumentList.Add(arg);
    }

    using var process = Process.Start(psi)!;
    await process.StandardOutput.ReadToEndAsync();
    await process.WaitForExitAsync();
}

async Task<(TimeSpan Elapsed, double[] LatenciesMs, HttpStatusCode[] Statuses)> PostManyAsync(Host host, Caller caller, string prefix, int count, int parallel)
{
    var latencies = new double[count];
    var statuses = new HttpStatusCode[count];
    var next = -1;
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < count)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await PostAsync(host, caller, $"{prefix}-{i}");
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            statuses[i] = result.Status;
        }
    }));
    return (sw.Elapsed, latencies, statuses);
}

async Task<(HttpStatusCode Status, Guid? JobId)> PostAsync(Host host, Caller caller, string modelId)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, host.BaseAddress + "api/deployments")
    {
        Content = JsonContent.Create(new { modelId, userAddress = user }),
    };
    request.Headers.Add("X-API-Key", caller.Key);
    using var response = await http.SendAsync(request);
    if (response.StatusCode != HttpStatusCode.Accepted)
    {
        return (response.StatusCode, null);
    }

    var body = await response.Content.ReadFromJsonAsync<JsonElement>();
    return (response.StatusCode, Guid.Parse(body.GetProperty("data").GetProperty("requestId").GetString()!));
}

async Task<JsonElement[]> ListAsync(Host host, Caller caller)
{
    using var request = new HttpRequestMessage(HttpMethod.Get, host.BaseAddress + "api/deployments?limit=100");
    request.Headers.Add("X-API-Key", caller.Key);
    using var response = await http.SendAsync(request);
    if (!response.IsSuccessStatusCode)
    {
        return [];
    }

    var body = await response.Content.ReadFromJsonAsync<JsonElement>();
    return body.GetProperty("data").GetProperty("deployments").EnumerateArray().Select(e => e.Clone()).ToArray();
}

async Task<long> TransactionCountAsync(DevChain chain)
{
    using var response = await http.PostAsJsonAsync(chain.RpcUrl, new { jsonrpc = "2.0", id = 1, method = "eth_getTransactionCount", @params = new[] { chain.DeployerAddress, "pending" } });
    var body = await response.Content.ReadFromJsonAsync<JsonElement>();
    return Convert.ToInt64(body.GetProperty("result").GetString(), 16);
}

static Dictionary<string, string> HostEnvironment(RedisServer redis, DevChain chain, IEnumerable<Caller> callers, Dictionary<string, string> extra)
{
    var env = new Dictionary<string, string>
    {
        ["REDIS_URL"] = redis.Url,
        ["RPC_URL"] = chain.RpcUrl,
        ["CHAIN_ID"] = chain.ChainId.ToString(CultureInfo.InvariantCulture),
        ["MODEL_REGISTRY_ADDRESS"] = chain.ModelRegistryAddress,
        ["TOKEN_MANAGER_ADDRESS"] = chain.TokenManagerAddress,
        ["DEPLOYER_PRIVATE_KEY"] = chain.DeployerPrivateKey,
        ["VALID_API_KEYS"] = string.Join(',', callers.Select(c => c.Name + ":" + c.Key)),
        ["LOG_LEVEL"] = "info",
    };
    foreach (var (k, v) in extra)
    {
        env[k] = v;
    }

    return env;
}

static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(sorted.Length * p) - 1, 0, sorted.Length - 1)];

static int Option(string name, int fallback)
{
    var args = System.Environment.GetCommandLineArgs();
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static string FindHost()
{
    // HOKUSAI_HOST_DLL: another build of the host, e.g. a ReadyToRun publish, to compare start-up.
    if (System.Environment.GetEnvironmentVariable("HOKUSAI_HOST_DLL") is { Length: > 0 } chosen)
    {
        return File.Exists(chosen) ? chosen : throw new FileNotFoundException("HOKUSAI_HOST_DLL does not exist", chosen);
    }

    var configuration = AppContext.BaseDirectory.Replace('\\', '/').Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var dll = Path.Combine(dir.FullName, "samples", "ContractsApi", "bin", configuration, "net10.0", "ContractsApi.dll");
        if (File.Exists(dll))
        {
            return dll;
        }
    }

    throw new FileNotFoundException("Build samples/ContractsApi first (it is a build dependency of this project).");
}

internal sealed record Caller(string Name, string Key);

/// <summary>The built sample host as a child process on free loopback ports; only this process is ever killed.</summary>
internal sealed class Host : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private Host(Process process, int port, int metricsPort)
    {
        _process = process;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        MetricsAddress = new Uri($"http://127.0.0.1:{metricsPort}/metrics");
    }

    public Uri BaseAddress { get; }

    public Uri MetricsAddress { get; }

    public int ProcessId => _process.Id;

    public string Output { get { lock (_output) { return _output.ToString(); } } }

    public static async Task<Host> StartAsync(string dll, IReadOnlyDictionary<string, string> environment)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var name in new[] { "REDIS_URL", "RPC_URL", "RPC_URLS", "VALID_API_KEYS", "JWT_SECRET", "JWT_AUTHORITY", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT" })
        {
            psi.Environment.Remove(name);
        }

        psi.Environment["PORT"] = port.ToString(CultureInfo.InvariantCulture);
        // The gen0 budget the image and `./dev run` set (README, Container: garbage collector), unless the caller chose one.
        psi.Environment.TryAdd("DOTNET_GCgen0size", "0x1000000");
        var metricsPort = FreePort();
        psi.Environment["METRICS_PORT"] = metricsPort.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var host = new Host(process, port, metricsPort);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (host._output) { host._output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (host._output) { host._output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("host exited:\n" + host.Output);
            }

            try
            {
                using var response = await probe.GetAsync(new Uri(host.BaseAddress, "health/ready"));
                if (response.IsSuccessStatusCode)
                {
                    return host;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await host.DisposeAsync();
        throw new TimeoutException("host not ready within 60 s:\n" + host.Output);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
