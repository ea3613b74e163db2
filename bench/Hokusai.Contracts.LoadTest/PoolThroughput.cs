using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Hokusai.Contracts;
using Hokusai.Contracts.Testing;
using Nethereum.Contracts;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.Signer;
using Nethereum.Util;

/// <summary>
/// The signer pool end to end on one anvil (automine) and one Redis: R published-build host processes sharing K keys
/// (the deployer and anvil accounts granted <c>DEPLOYER_ROLE</c>), factory mode, N jobs POSTed round robin over the
/// hosts, timed from the first POST until every job is completed. <c>--keys K --replicas R</c> runs one shape;
/// without them the three shapes 1×1, 2×2 and 4×2 run in a row and print their ratio to one key. Raw factory sends
/// (<c>deployToken</c> signed and sent with explicit nonces, 16 unmined per key) from 1 and 2 keys show what the node
/// itself sustains.
/// </summary>
internal static class PoolThroughput
{
    private const string ApiKey = "pool-bench-key-0123456789abcdef";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly string User = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    public static async Task<int> RunAsync(int jobs, int? keys, int? replicas, string hostDll)
    {
        var shapes = keys is { } k && replicas is { } r ? [(k, r)] : new[] { (1, 1), (2, 2), (4, 2) };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Signer pool throughput: {jobs} jobs per shape, factory mode, one anvil (automine), one Redis, {Environment.ProcessorCount} cores, MAX_IN_FLIGHT_PER_KEY=16"));
        double? oneKey = null;
        foreach (var (keyCount, replicaCount) in shapes)
        {
            await using var redis = await RedisServer.StartAsync();
            await using var chain = await DevChain.StartAsync(null, CancellationToken.None);
            var pool = Keys(chain, keyCount);
            await GrantAsync(chain, pool);
            foreach (var rawKeys in keyCount == 1 ? new[] { 1 } : [1, keyCount])
            {
                var rawRate = await RawAsync(chain, pool.Take(rawKeys).ToList(), Math.Min(jobs, 400));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  raw deployToken sends from {rawKeys} key(s): {rawRate:0.0} deployments/s"));
            }

            var (completed, elapsed) = await ServiceAsync(chain, redis, pool, replicaCount, jobs, hostDll);
            var rate = completed / elapsed.TotalSeconds;
            oneKey ??= keyCount == 1 ? rate : null;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{keyCount} key(s) × {replicaCount} replica(s): {completed}/{jobs} completed in {elapsed.TotalSeconds:0.0} s = {rate:0.0} deployments/s{(oneKey is { } one ? $" = {rate / one:0.00}× one key" : string.Empty)}"));
        }

        return 0;
    }

    private static List<(string Address, string PrivateKey)> Keys(DevChain chain, int count)
    {
        // The deployer first; then anvil accounts 2.. (account 1 is the tokens' recipient).
        var keys = new List<(string, string)> { (chain.DeployerAddress, chain.DeployerPrivateKey) };
        keys.AddRange(chain.TestAccounts.Skip(1).Take(count - 1).Select(a => (a.Address, a.PrivateKey)));
        return keys.Count == count ? keys : throw new InvalidOperationException($"the dev chain has {keys.Count} usable keys, {count} asked");
    }

    private static async Task GrantAsync(DevChain chain, IEnumerable<(string Address, string PrivateKey)> keys)
    {
        var role = Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(Encoding.ASCII.GetBytes("DEPLOYER_ROLE")));
        var selector = Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(Encoding.ASCII.GetBytes("grantRole(bytes32,address)")).AsSpan(0, 4));
        foreach (var (address, _) in keys.Skip(1))
        {
            var data = "0x" + selector + role + address[2..].ToLowerInvariant().PadLeft(64, '0');
            var hash = (await Throughput.RpcAsync(chain.RpcUrl, "eth_sendTransaction", new Dictionary<string, string> { ["from"] = chain.DeployerAddress, ["to"] = chain.TokenManagerAddress, ["data"] = data })).GetString()!;
            while ((await Throughput.RpcAsync(chain.RpcUrl, "eth_getTransactionReceipt", hash)).ValueKind != JsonValueKind.Object)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary><paramref name="count"/> deployToken calls split over the keys, each key sending its share with explicit nonces.</summary>
    private static async Task<double> RawAsync(DevChain chain, List<(string Address, string PrivateKey)> keys, int count)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var baseFee = Throughput.JsonRpcQuantity((await Throughput.RpcAsync(chain.RpcUrl, "eth_getBlockByNumber", "latest", false)).GetProperty("baseFeePerGas"));
        var tip = BigInteger.Parse("1000000000", CultureInfo.InvariantCulture);
        var maxFee = (baseFee * 4) + tip;
        string Data(string id) => new Deploy { ModelId = id, Name = "Raw " + id, Symbol = "RAW", PerformanceMetric = "accuracy", Recipient = User, InitialSupply = 1000 }.GetCallData().ToHex(true);
        var gas = (Throughput.JsonRpcQuantity(await Throughput.RpcAsync(chain.RpcUrl, "eth_estimateGas", new Dictionary<string, string> { ["from"] = keys[0].Address, ["to"] = chain.TokenManagerAddress, ["data"] = Data($"probe-{run}") })) * 15) / 10;

        var sw = Stopwatch.StartNew();
        await Task.WhenAll(keys.Select(async (key, k) =>
        {
            var signer = new EthECKey(key.PrivateKey);
            var nonce = Throughput.JsonRpcQuantity(await Throughput.RpcAsync(chain.RpcUrl, "eth_getTransactionCount", key.Address, "pending"));
            var mined = nonce;
            var end = nonce + (count / keys.Count);
            while (nonce < end)
            {
                while (nonce - mined >= 16)
                {
                    // A short pause between reads: a tight loop of counts would compete with the sends for the node.
                    await Task.Delay(5);
                    mined = Throughput.JsonRpcQuantity(await Throughput.RpcAsync(chain.RpcUrl, "eth_getTransactionCount", key.Address, "latest"));
                }

                var raw = new Transaction1559Signer().SignTransaction(signer, new Transaction1559(chain.ChainId, nonce, tip, maxFee, gas, chain.TokenManagerAddress, BigInteger.Zero, Data($"raw-{run}-{k}-{nonce}"), null));
                await Throughput.RpcAsync(chain.RpcUrl, "eth_sendRawTransaction", "0x" + raw.Replace("0x", "", StringComparison.Ordinal));
                nonce++;
            }

            while (mined < end)
            {
                await Task.Delay(5);
                mined = Throughput.JsonRpcQuantity(await Throughput.RpcAsync(chain.RpcUrl, "eth_getTransactionCount", key.Address, "latest"));
            }
        }));
        return count / keys.Count * keys.Count / sw.Elapsed.TotalSeconds;
    }

    private static async Task<(int Completed, TimeSpan Elapsed)> ServiceAsync(DevChain chain, RedisServer redis, List<(string Address, string PrivateKey)> keys, int replicas, int jobs, string hostDll)
    {
        var env = new Dictionary<string, string>
        {
            ["REDIS_URL"] = redis.Url,
            ["RPC_URL"] = chain.RpcUrl,
            ["CHAIN_ID"] = chain.ChainId.ToString(CultureInfo.InvariantCulture),
            ["MODEL_REGISTRY_ADDRESS"] = chain.ModelRegistryAddress,
            ["TOKEN_MANAGER_ADDRESS"] = chain.TokenManagerAddress,
            ["DEPLOYER_PRIVATE_KEY"] = keys[0].PrivateKey,
            ["DEPLOYMENT_MODE"] = "factory",
            ["VALID_API_KEYS"] = "bench:" + ApiKey,
            ["MAX_IN_FLIGHT_PER_KEY"] = "16",
            ["BLOCK_POLL_INTERVAL_MS"] = "50",
            ["QUOTA_PER_HOUR"] = "1000000",
            ["QUOTA_PER_DAY"] = "1000000",
            ["RATE_LIMIT_PER_MINUTE"] = "1000000",
            ["SIGNER_LEASE_TTL"] = "3",
            ["SIGNER_LEASE_RENEW_INTERVAL"] = "1",
            ["LOG_LEVEL"] = "warn",
        };
        if (keys.Count > 1)
        {
            env["DEPLOYER_PRIVATE_KEYS"] = string.Join(',', keys.Skip(1).Select(k => k.PrivateKey));
        }

        var hosts = new List<Host>();
        try
        {
            for (var i = 0; i < replicas; i++)
            {
                hosts.Add(await Host.StartAsync(hostDll, env));
            }

            // Every key owned and the share settled (each replica about keys/replicas) before the clock starts.
            await SettledAsync(redis, keys, replicas);

            var run = Guid.NewGuid().ToString("N")[..6];
            var sw = Stopwatch.StartNew();
            var ids = new (Guid Id, Host Host)[jobs];
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < jobs)
                {
                    var host = hosts[i % hosts.Count];
                    ids[i] = (await PostAsync(host, $"pool-{run}-{i}"), host);
                }
            }));

            var open = ids.ToList();
            var completed = 0;
            while (open.Count > 0 && sw.Elapsed < TimeSpan.FromMinutes(20))
            {
                var batch = open.Take(32).ToArray();
                var states = await Task.WhenAll(batch.Select(j => Throughput.StatusAsync(j.Host, ApiKey, j.Id)));
                for (var k = 0; k < batch.Length; k++)
                {
                    if (states[k] is "completed" or "failed" or "cancelled")
                    {
                        open.Remove(batch[k]);
                        completed += states[k] == "completed" ? 1 : 0;
                    }
                }

                if (open.Count > 0)
                {
                    await Task.Delay(50);
                }
            }

            return (completed, sw.Elapsed);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static async Task SettledAsync(RedisServer redis, List<(string Address, string PrivateKey)> keys, int replicas)
    {
        var share = (keys.Count + replicas - 1) / replicas;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            var holders = new List<string>();
            foreach (var (address, _) in keys)
            {
                var value = await RedisGetAsync(redis.Port, "{hokusai:contracts}:signer:" + address.ToLowerInvariant() + ":lease");
                if (value is not null)
                {
                    holders.Add(value[..value.LastIndexOf(':')]);
                }
            }

            if (holders.Count == keys.Count && holders.GroupBy(h => h).All(g => g.Count() <= share) && holders.Distinct().Count() == Math.Min(replicas, keys.Count))
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the keys were not shared out within 60 s");
    }

    private static async Task<string?> RedisGetAsync(int port, string key)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes($"*2\r\n$3\r\nGET\r\n${Encoding.UTF8.GetByteCount(key)}\r\n{key}\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var header = await reader.ReadLineAsync() ?? string.Empty;
        return header.StartsWith('$') && header != "$-1" ? await reader.ReadLineAsync() : null;
    }

    private static async Task<Guid> PostAsync(Host host, string modelId)
    {
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, host.BaseAddress + "api/deployments")
            {
                Content = JsonContent.Create(new { modelId, userAddress = User, initialSupply = "1000" }),
            };
            request.Headers.Add("X-API-Key", ApiKey);
            // A 503 whose script still ran (its answer timed out) is then answered with the same job on retry.
            request.Headers.Add("Idempotency-Key", modelId);
            using var response = await Http.SendAsync(request);
            if (response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK)
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

    private sealed class Deploy : FunctionMessage
    {
        [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("string", "modelId", 1)] public string ModelId { get; set; } = "";
        [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("string", "name", 2)] public string Name { get; set; } = "";
        [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("string", "symbol", 3)] public string Symbol { get; set; } = "";
        [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("string", "performanceMetric", 4)] public string PerformanceMetric { get; set; } = "";
        [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("address", "recipient", 5)] public string Recipient { get; set; } = "";
        [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("uint256", "initialSupply", 6)] public BigInteger InitialSupply { get; set; }
    }
}
