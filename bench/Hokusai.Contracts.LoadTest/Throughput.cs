using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using Hokusai.Contracts;
using Hokusai.Contracts.Chain;
using Nethereum.ABI.FunctionEncoding.Attributes;
using Nethereum.Contracts;
using Nethereum.Contracts.MessageEncodingServices;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.Signer;

/// <summary>
/// Throughput on one anvil, side by side: the deploy + register + mint transactions of N models sent raw
/// from one key (explicit nonces, at most 64 unmined), then the service end to end (HTTP POST → completed)
/// in legacy and in factory mode. Prints deployments/s, the ratios to the raw rate, RPC requests per job
/// (the host's own RPC metric) and the host's RSS at idle and every 100 completed jobs.
/// </summary>
internal static class Throughput
{
    private const int RawWindow = 64;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly string User = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    public static async Task<int> RunAsync(int jobs, int warmup, int window, int pollMs, string hostDll, IReadOnlyList<string> heads, IReadOnlyList<string> modes)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Throughput: {jobs} models per run (after {warmup} untimed), one anvil (automine) reverted to its bootstrapped state before each run, {Environment.ProcessorCount} cores; service window MAX_IN_FLIGHT_PER_KEY={window}, BLOCK_POLL_INTERVAL_MS={pollMs}, heads {string.Join("/", heads)}; raw window {RawWindow}; host {hostDll}"));
        await using var chain = await DevChain.StartAsync(null, CancellationToken.None);

        // Every run starts from the chain as bootstrapped: anvil's work per request grows with the blocks it holds
        // (automine: one per transaction), so without the revert each run would pay for the ones before it.
        var fresh = (await RpcAsync(chain.RpcUrl, "evm_snapshot")).GetString()!;
        async Task FreshChainAsync()
        {
            if (!(await RpcAsync(chain.RpcUrl, "evm_revert", fresh)).GetBoolean())
            {
                throw new InvalidOperationException("evm_revert to the bootstrapped chain failed");
            }

            fresh = (await RpcAsync(chain.RpcUrl, "evm_snapshot")).GetString()!;
        }

        if (warmup > 0)
        {
            // The raw sender warms up too: its signing and encoding code is then compiled as the service's is.
            await RawAsync(chain, warmup);
        }

        var (anvil0, own0) = (ProcessStats.CpuMilliseconds(chain.ProcessId), ProcessStats.OwnCpuMilliseconds());
        var raw = await RawAsync(chain, jobs);
        var (anvilRaw, ownRaw) = ((ProcessStats.CpuMilliseconds(chain.ProcessId) - anvil0) / jobs, (ProcessStats.OwnCpuMilliseconds() - own0) / jobs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw three-transaction sends: {jobs} models in {raw.TotalSeconds:0.00} s = {jobs / raw.TotalSeconds:0.0} deployments/s; CPU per deployment: anvil {anvilRaw:0.0} ms, sender {ownRaw:0.0} ms"));
        var rawRate = jobs / raw.TotalSeconds;

        foreach (var (mode, webSocket) in heads.SelectMany(h => modes.Select(m => (m, h == "ws"))))
        {
            await FreshChainAsync();
            var result = await ServiceAsync(chain, hostDll, mode, jobs, warmup, window, pollMs, webSocket);
            var rate = result.Completed / result.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"service {mode}, heads {(webSocket ? "ws" : "polled")}: {result.Completed}/{jobs} completed ({result.Failed} failed) in {result.Elapsed.TotalSeconds:0.00} s = {rate:0.0} deployments/s = {rate / rawRate:0.00}× raw; RPC requests per job {result.RpcPerJob:0.0}; RSS idle {result.IdleRss / 1048576.0:0} MiB, after {result.Completed} jobs {result.Rss[^1] / 1048576.0:0} MiB ({(double)result.Rss[^1] / result.IdleRss:0.00}× idle)"));
            // Everything on the machine's cores per completed job: when their sum per second nears the core count,
            // CPU, not waiting on the chain, is what bounds the rate.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  CPU per job: host {result.HostCpuMs:0.0} ms, anvil {result.AnvilCpuMs:0.0} ms, load generator {result.BenchCpuMs:0.0} ms; {(result.HostCpuMs + result.AnvilCpuMs + result.BenchCpuMs) * rate / 1000:0.00} of {Environment.ProcessorCount} cores busy"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  start to ready {result.ReadyAfter.TotalMilliseconds:0} ms; first POST after start {result.FirstPost.TotalMilliseconds:0.0} ms"));
            Console.WriteLine("  RSS every 100 jobs (MiB): " + string.Join(" ", result.Rss.Select(r => (r / 1048576.0).ToString("0", CultureInfo.InvariantCulture))));
        }

        return 0;
    }

    // ---- raw sends ----------------------------------------------------------------------------

    private sealed class TokenDeployment() : ContractDeploymentMessage(Bytecode())
    {
        [Parameter("string", "name_", 1)] public string Name { get; set; } = "";
        [Parameter("string", "symbol_", 2)] public string Symbol { get; set; } = "";
        [Parameter("address", "controller_", 3)] public string Controller { get; set; } = "";
    }

    [Function("registerModel")]
    private sealed class RegisterModel : FunctionMessage
    {
        [Parameter("string", "modelId", 1)] public string ModelId { get; set; } = "";
        [Parameter("address", "token", 2)] public string Token { get; set; } = "";
        [Parameter("string", "performanceMetric", 3)] public string PerformanceMetric { get; set; } = "";
    }

    [Function("mintTokens")]
    private sealed class MintTokens : FunctionMessage
    {
        [Parameter("string", "modelId", 1)] public string ModelId { get; set; } = "";
        [Parameter("address", "to", 2)] public string To { get; set; } = "";
        [Parameter("uint256", "amount", 3)] public BigInteger Amount { get; set; }
    }

    private static string Bytecode()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, "contracts", "artifacts", "HokusaiToken.json");
            if (File.Exists(file))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                return doc.RootElement.GetProperty("bytecode").GetString()!;
            }
        }

        throw new FileNotFoundException("contracts/artifacts/HokusaiToken.json not found above " + AppContext.BaseDirectory);
    }

    private static async Task<TimeSpan> RawAsync(DevChain chain, int jobs)
    {
        var key = new EthECKey(chain.DeployerPrivateKey);
        var from = chain.DeployerAddress;
        var run = Guid.NewGuid().ToString("N")[..6];
        string Deploy(int i) => new DeploymentMessageEncodingService<TokenDeployment>().GetDeploymentData(new TokenDeployment { Name = $"Raw {run} {i}", Symbol = "RAW", Controller = chain.TokenManagerAddress });
        string Register(int i, string token) => new RegisterModel { ModelId = $"raw-{run}-{i}", Token = token, PerformanceMetric = "accuracy" }.GetCallData().ToHex(true);
        string Mint(int i) => new MintTokens { ModelId = $"raw-{run}-{i}", To = User, Amount = 1000 }.GetCallData().ToHex(true);

        // Gas limits as the service sets them (estimate × 1.2), estimated once on a first model sent and mined.
        var nonce = await CountAsync(chain.RpcUrl, from, "pending");
        var baseFee = JsonRpcQuantity((await RpcAsync(chain.RpcUrl, "eth_getBlockByNumber", "latest", false)).GetProperty("baseFeePerGas"));
        var tip = BigInteger.Parse("1000000000", CultureInfo.InvariantCulture);
        var maxFee = (baseFee * 2) + tip;
        var deployGas = await EstimateAsync(chain.RpcUrl, from, null, Deploy(0));
        var probeToken = Nethereum.Util.ContractUtils.CalculateContractAddress(from, nonce);
        await SendAsync(chain.RpcUrl, Sign(key, chain.ChainId, nonce++, null, Deploy(-1), deployGas, tip, maxFee));
        var registerGas = await EstimateAsync(chain.RpcUrl, from, chain.ModelRegistryAddress, Register(-1, probeToken));
        await SendAsync(chain.RpcUrl, Sign(key, chain.ChainId, nonce++, chain.ModelRegistryAddress, Register(-1, probeToken), registerGas, tip, maxFee));
        var mintGas = await EstimateAsync(chain.RpcUrl, from, chain.TokenManagerAddress, Mint(-1));

        var sw = Stopwatch.StartNew();
        var mined = await CountAsync(chain.RpcUrl, from, "latest");
        for (var i = 0; i < jobs; i++)
        {
            var token = Nethereum.Util.ContractUtils.CalculateContractAddress(from, nonce);
            foreach (var (to, data, gas) in new[] { ((string?)null, Deploy(i), deployGas), (chain.ModelRegistryAddress, Register(i, token), registerGas), (chain.TokenManagerAddress, Mint(i), mintGas) })
            {
                while (nonce - mined >= RawWindow)
                {
                    // A short pause between reads: reading the count in a tight loop takes anvil's time from mining.
                    await Task.Delay(2);
                    mined = await CountAsync(chain.RpcUrl, from, "latest");
                }

                await SendAsync(chain.RpcUrl, Sign(key, chain.ChainId, nonce++, to, data, gas, tip, maxFee));
            }
        }

        while (mined < nonce)
        {
            await Task.Delay(2);
            mined = await CountAsync(chain.RpcUrl, from, "latest");
        }

        return sw.Elapsed;
    }

    private static string Sign(EthECKey key, long chainId, BigInteger nonce, string? to, string data, BigInteger gas, BigInteger tip, BigInteger maxFee) =>
        new Transaction1559Signer().SignTransaction(key, new Transaction1559(chainId, nonce, tip, maxFee, gas, to, BigInteger.Zero, data, null));

    private static async Task<BigInteger> EstimateAsync(string url, string from, string? to, string data)
    {
        var call = new Dictionary<string, string?> { ["from"] = from, ["data"] = data };
        if (to is not null)
        {
            call["to"] = to;
        }

        return ((JsonRpcQuantity(await RpcAsync(url, "eth_estimateGas", call)) * 12) + 9) / 10;
    }

    private static async Task SendAsync(string url, string raw) => await RpcAsync(url, "eth_sendRawTransaction", "0x" + raw.Replace("0x", "", StringComparison.Ordinal));

    private static async Task<BigInteger> CountAsync(string url, string address, string tag) => JsonRpcQuantity(await RpcAsync(url, "eth_getTransactionCount", address, tag));

    internal static BigInteger JsonRpcQuantity(JsonElement value) => BigInteger.Parse("0" + value.GetString()![2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    internal static async Task<JsonElement> RpcAsync(string url, string method, params object?[] parameters)
    {
        using var response = await Http.PostAsJsonAsync(url, new { jsonrpc = "2.0", id = 1, method, @params = parameters });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.TryGetProperty("error", out var error)
            ? throw new InvalidOperationException($"{method}: {error}")
            : body.GetProperty("result").Clone();
    }

    // ---- the service end to end ---------------------------------------------------------------

    private sealed record ServiceResult(int Completed, int Failed, TimeSpan Elapsed, double RpcPerJob, long IdleRss, IReadOnlyList<long> Rss, TimeSpan ReadyAfter, TimeSpan FirstPost, double HostCpuMs, double AnvilCpuMs, double BenchCpuMs);

    private static async Task<ServiceResult> ServiceAsync(DevChain chain, string hostDll, string mode, int jobs, int warmup, int window, int pollMs, bool webSocket)
    {
        const string Key = "throughput-key-0123456789abcdef";
        var environment = new Dictionary<string, string>
        {
            ["RPC_URL"] = chain.RpcUrl,
            ["CHAIN_ID"] = chain.ChainId.ToString(CultureInfo.InvariantCulture),
            ["MODEL_REGISTRY_ADDRESS"] = chain.ModelRegistryAddress,
            ["TOKEN_MANAGER_ADDRESS"] = chain.TokenManagerAddress,
            ["DEPLOYER_PRIVATE_KEY"] = chain.DeployerPrivateKey,
            ["VALID_API_KEYS"] = "bench:" + Key,
            ["DEPLOYMENT_MODE"] = mode,
            ["MAX_IN_FLIGHT_PER_KEY"] = window.ToString(CultureInfo.InvariantCulture),
            ["BLOCK_POLL_INTERVAL_MS"] = pollMs.ToString(CultureInfo.InvariantCulture),
            ["QUOTA_PER_HOUR"] = "1000000",
            ["QUOTA_PER_DAY"] = "1000000",
            ["RATE_LIMIT_PER_MINUTE"] = "1000000",
            ["LOG_LEVEL"] = "warn",
        };
        if (webSocket)
        {
            // anvil serves WebSocket on its HTTP port.
            environment["RPC_WS_URL"] = "ws://127.0.0.1:" + new Uri(chain.RpcUrl).Port.ToString(CultureInfo.InvariantCulture);
        }

        var started = Stopwatch.StartNew();
        await using var host = await Host.StartAsync(hostDll, environment);
        var readyAfter = started.Elapsed;
        await Task.Delay(1000);
        var idle = ProcessStats.RssBytes(host.ProcessId);
        var run = Guid.NewGuid().ToString("N")[..6];

        // The first POST after start on its own: what a cold process (JIT or ReadyToRun code) costs a caller.
        var firstWatch = Stopwatch.StartNew();
        var firstId = await PostAsync(host, Key, $"{mode}-{run}-first");
        var firstPost = firstWatch.Elapsed;
        await BatchAsync(host, Key, [firstId], $"{mode}-{run}-first", 0, null);
        if (warmup > 0)
        {
            // Not timed: a service runs for days, and its first minute is spent compiling hot code in the background
            // (tiered JIT), CPU the machine's two cores then lack.
            await BatchAsync(host, Key, [], $"{mode}-{run}-warm", warmup, null);
        }

        var cpu0 = (Host: ProcessStats.CpuMilliseconds(host.ProcessId), Anvil: ProcessStats.CpuMilliseconds(chain.ProcessId), Bench: ProcessStats.OwnCpuMilliseconds());
        var rpcBefore = await RpcRequestsAsync(host);
        var methodsBefore = await RpcRequestsByMethodAsync(host);
        var rss = new List<long>();
        var sw = Stopwatch.StartNew();
        var (completed, failed) = await BatchAsync(host, Key, [], $"{mode}-{run}", jobs, rss);
        var elapsed = sw.Elapsed;
        var done = Math.Max(1, completed + failed);
        var cpu = (Host: (ProcessStats.CpuMilliseconds(host.ProcessId) - cpu0.Host) / done, Anvil: (ProcessStats.CpuMilliseconds(chain.ProcessId) - cpu0.Anvil) / done, Bench: (ProcessStats.OwnCpuMilliseconds() - cpu0.Bench) / done);
        var rpcAfter = await RpcRequestsAsync(host);
        var methodsAfter = await RpcRequestsByMethodAsync(host);
        Console.WriteLine("  RPC requests per job by method: " + string.Join(", ", methodsAfter
            .Select(m => (m.Key, PerJob: (m.Value - methodsBefore.GetValueOrDefault(m.Key)) / jobs))
            .Where(m => m.PerJob >= 0.05)
            .OrderByDescending(m => m.PerJob)
            .Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key} {m.PerJob:0.0}"))));
        await Task.Delay(2000);
        rss.Add(ProcessStats.RssBytes(host.ProcessId));
        return new ServiceResult(completed, failed, elapsed, (rpcAfter - rpcBefore) / (double)jobs, idle, rss, readyAfter, firstPost, cpu.Host, cpu.Anvil, cpu.Bench);
    }

    /// <summary>
    /// POSTs <paramref name="count"/> models (32 at a time) and waits until they and <paramref name="already"/> are
    /// final; adds the host's RSS to <paramref name="rss"/> every 100 final jobs when given.
    /// </summary>
    private static async Task<(int Completed, int Failed)> BatchAsync(Host host, string key, Guid[] already, string prefix, int count, List<long>? rss)
    {
        var ids = new Guid[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                ids[i] = await PostAsync(host, key, $"{prefix}-{i}");
            }
        }));

        // Jobs finish roughly in submission order: poll the 32 oldest unfinished ones, so the load generator
        // does not compete with the host for the machine's cores.
        var open = new List<Guid>([.. already, .. ids]);
        var completed = 0;
        var failed = 0;
        var sw = Stopwatch.StartNew();
        while (open.Count > 0 && sw.Elapsed < TimeSpan.FromMinutes(15))
        {
            var batch = open.Take(32).ToArray();
            var states = await Task.WhenAll(batch.Select(id => StatusAsync(host, key, id)));
            for (var k = 0; k < batch.Length; k++)
            {
                if (states[k] is "completed" or "failed" or "cancelled")
                {
                    open.Remove(batch[k]);
                    if (states[k] == "completed")
                    {
                        completed++;
                    }
                    else
                    {
                        failed++;
                    }

                    if (rss is not null && (completed + failed) % 100 == 0)
                    {
                        rss.Add(ProcessStats.RssBytes(host.ProcessId));
                    }
                }
            }

            if (open.Count > 0)
            {
                await Task.Delay(50);
            }
        }

        return (completed, failed);
    }

    private static async Task<Guid> PostAsync(Host host, string key, string modelId)
    {
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, host.BaseAddress + "api/deployments")
            {
                Content = JsonContent.Create(new { modelId, userAddress = User, initialSupply = "1000" }),
            };
            request.Headers.Add("X-API-Key", key);
            using var response = await Http.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                return Guid.Parse(body.GetProperty("data").GetProperty("requestId").GetString()!);
            }

            if (response.StatusCode != HttpStatusCode.TooManyRequests && response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                throw new InvalidOperationException($"POST {modelId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }

            await Task.Delay(100);
        }
    }

    internal static async Task<string?> StatusAsync(Host host, string key, Guid id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, host.BaseAddress + $"api/deployments/{id}/status");
        request.Headers.Add("X-API-Key", key);
        using var response = await Http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("data").GetProperty("status").GetString();
    }

    /// <summary>HTTP requests the host sent to the RPC (its rpc duration histogram's counts; a JSON-RPC batch is one).</summary>
    private static async Task<double> RpcRequestsAsync(Host host)
    {
        var text = await Http.GetStringAsync(host.MetricsAddress);
        return text.Split('\n')
            .Where(l => l.StartsWith("hokusai_contracts_rpc_duration_seconds_count", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>The same counts by <c>rpc_method</c> (a batch is one request, named "batch").</summary>
    private static async Task<Dictionary<string, double>> RpcRequestsByMethodAsync(Host host)
    {
        var text = await Http.GetStringAsync(host.MetricsAddress);
        var counts = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').Where(l => l.StartsWith("hokusai_contracts_rpc_duration_seconds_count", StringComparison.Ordinal)))
        {
            var start = line.IndexOf("rpc_method=\"", StringComparison.Ordinal);
            if (start < 0)
            {
                continue;
            }

            start += "rpc_method=\"".Length;
            var method = line[start..line.IndexOf('"', start)];
            counts[method] = counts.GetValueOrDefault(method) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }

        return counts;
    }
}
