using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace ContractsApi.Tests;

/// <summary>
/// A rolling deploy as ECS does it, with a real SIGTERM: the published host on Redis and a chain with
/// slow blocks, under load with deployments in flight, is stopped; then a new process on the same
/// Redis and chain finishes what the first one parked, without deploying anything twice.
/// </summary>
[Collection(PublishedAppGroup.Name)]
public sealed class GracefulShutdownTests(PublishedApp app, ITestOutputHelper output)
{
    private sealed record Sample(string Kind, HttpStatusCode? Status, string? Error);

    [Fact]
    public async Task Sigterm_UnderLoadWithDeploymentInFlight_DrainsExitsZeroAndRestartFinishesWithoutRedeploying()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var chain = await DevChain.StartAsync(
            new DevChainOptions { AnvilPath = Repo.PathOf(DevChain.AnvilRelativePath.Split('/')), BlockTime = TimeSpan.FromSeconds(2) },
            CancellationToken.None);
        var environment = HostEnvironment.For(chain, new Dictionary<string, string>
        {
            ["REDIS_URL"] = redis.Url,
            ["QUOTA_PER_HOUR"] = "100",
            ["QUOTA_PER_DAY"] = "100",
            ["RATE_LIMIT_PER_MINUTE"] = "0",
            // Delay and grace together shorter than a job (three transactions, a block each), so the job
            // is normally parked mid-flight rather than finished.
            ["HokusaiContracts__Health__ShutdownDelay"] = "00:00:00.5",
            ["HokusaiContracts__Jobs__ShutdownGracePeriod"] = "00:00:01",
        });
        const string key = HostEnvironment.ApiKey;
        var user = chain.TestAccounts[0].Address;
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var jobs = new ConcurrentDictionary<string, string>(); // job id -> model id

        await using var first = PublishedHost.Start(app.Directory, environment);
        await first.WaitForAsync("/health/ready");
        using var client = new HttpClient { BaseAddress = first.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var inFlight = await Api.DeployAsync(client, key, $"shutdown-{suffix}-0", user);
        jobs[inFlight] = $"shutdown-{suffix}-0";
        await Api.WaitForAsync(client, key, inFlight, s => s.GetProperty("status").GetString() == "processing", TimeSpan.FromSeconds(30));

        // Load from eight clients, each on its own connection, until the signal. It is bounded by time rather
        // than by a count: a count runs out before the signal on a fast machine and lasts past it on a slow one.
        // Only three requests are POSTs, so the chain never holds more than a few unmined transactions.
        var samples = new ConcurrentBag<Sample>();
        var signalled = 0;
        var posts = 0;
        var outstanding = 0;
        var loadClock = Stopwatch.StartNew();
        using var loadClient = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = first.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var load = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; Volatile.Read(ref signalled) == 0 && loadClock.Elapsed < TimeSpan.FromSeconds(60); i++)
            {
                var model = $"shutdown-{suffix}-{i + 1}";
                var (kind, request) = (worker, i % 3) switch
                {
                    (0, 0) when Interlocked.Increment(ref posts) <= 3 => ("POST", Api.Request(HttpMethod.Post, "/api/deployments", key, Api.Body(model, user))),
                    (_, 1) => ("status", Api.Request(HttpMethod.Get, $"/api/deployments/{inFlight}/status", key)),
                    _ => ("health", new HttpRequestMessage(HttpMethod.Get, "/health")),
                };
                using (request)
                {
                    Interlocked.Increment(ref outstanding);
                    try
                    {
                        using var response = await loadClient.SendAsync(request);
                        var text = await response.Content.ReadAsStringAsync();
                        if (kind == "POST" && response.StatusCode == HttpStatusCode.Accepted)
                        {
                            jobs[JsonDocument.Parse(text).RootElement.GetProperty("data").GetProperty("requestId").GetString()!] = model;
                        }

                        samples.Add(new Sample(kind, response.StatusCode, null));
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        samples.Add(new Sample(kind, null, ex.Message));
                    }
                    finally
                    {
                        Interlocked.Decrement(ref outstanding);
                    }
                }
            }
        })).ToArray();

        // At least a second of load and at least 50 answered requests before the signal, however slow the machine.
        await Task.Delay(1000);
        while (samples.Count < 50 && loadClock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        var readyBefore = await GetStatusAsync(first.BaseAddress, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, readyBefore);

        // The load stops right after the signal: every request sent before it (and the few started in
        // between) must get a complete response.
        // The signal goes out while requests are outstanding; between two requests of every worker at once is
        // a short moment, so look again until one is (a busy machine may deschedule all eight workers for a while).
        var spin = Stopwatch.StartNew();
        while (Volatile.Read(ref outstanding) == 0 && spin.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Yield();
        }

        var sw = Stopwatch.StartNew();
        var inFlightAtSignal = Volatile.Read(ref outstanding);
        first.Signal(PublishedHost.SigTerm);
        Volatile.Write(ref signalled, 1);
        // The signal travels through the init to the runtime's handler: probe until readiness changes.
        HttpStatusCode? readyAfter;
        do
        {
            readyAfter = await GetStatusAsync(first.BaseAddress, "/health/ready");
        }
        while (readyAfter == HttpStatusCode.OK && sw.Elapsed < TimeSpan.FromSeconds(5));
        var readyAfterMs = sw.Elapsed.TotalMilliseconds;
        await Task.WhenAll(load);
        var exit = await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var exitMs = sw.Elapsed.TotalMilliseconds;

        var failed = samples.Where(s => s.Error is not null || s.Status is not (HttpStatusCode.OK or HttpStatusCode.Accepted)).ToList();
        output.WriteLine($"requests under load: {samples.Count} ({samples.Count(s => s.Kind == "POST")} POST, {inFlightAtSignal} in flight at the signal), failed: {failed.Count}; /health/ready after SIGTERM: {(int?)readyAfter} at {readyAfterMs:0} ms; exit {exit} after {exitMs:0} ms");
        Assert.True(exit == 0, $"exit {exit?.ToString(CultureInfo.InvariantCulture) ?? "none within 30 s"}\n{first.StdOut}\n{first.StdErr}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyAfter);
        Assert.True(readyAfterMs < 1000, $"readiness turned {readyAfter} only after {readyAfterMs:0} ms");
        Assert.True(failed.Count == 0, string.Join('\n', failed.Take(10)));
        Assert.True(samples.Count >= 50, $"only {samples.Count} requests were sent under load");
        Assert.True(inFlightAtSignal > 0, "no request was in flight when the signal was sent");
        var firstLog = Lines(first.StdOut).Where(l => l.Contains(inFlight, StringComparison.Ordinal)).ToList();
        var parked = firstLog.Any(l => l.Contains("parked", StringComparison.Ordinal));
        var finished = firstLog.Any(l => l.Contains("completed: token", StringComparison.Ordinal));
        output.WriteLine($"in-flight job {(parked ? "parked" : finished ? "finished" : "neither parked nor finished")} by the stopping host");
        Assert.True(parked || finished, first.StdOut);

        // A new task on the same Redis and chain.
        await using var second = PublishedHost.Start(app.Directory, environment);
        await second.WaitForAsync("/health/ready");
        using var client2 = new HttpClient { BaseAddress = second.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var expectedNonce = 5L; // the dev chain's own set-up: registry, manager, minter and deployer roles, registrar
        using var reader = new NethereumChainClient(Options(chain), NullLoggerFactory.Instance, TimeProvider.System);
        foreach (var (jobId, modelId) in jobs)
        {
            var done = await Api.WaitForCompletedAsync(client2, key, jobId, TimeSpan.FromSeconds(90));
            Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
            var details = done.GetProperty("tokenDetails");
            var token = details.GetProperty("tokenAddress").GetString();
            Assert.Equal(token, await reader.GetRegisteredTokenAsync(modelId, CancellationToken.None), StringComparer.OrdinalIgnoreCase);
            // Distinct hashes: factory mode reports its one transaction in all three fields.
            expectedNonce += new[] { "transactionHash", "registryTransactionHash", "mintTransactionHash" }
                .Select(p => details.TryGetProperty(p, out var hash) && hash.ValueKind == JsonValueKind.String ? hash.GetString() : null)
                .Where(h => h is not null).Distinct().Count();
        }

        var nonce = await Api.TransactionCountAsync(chain.RpcUrl, chain.DeployerAddress);
        output.WriteLine($"jobs: {jobs.Count}; deployer transactions: {nonce} (expected {expectedNonce})");
        Assert.Equal(expectedNonce, nonce);
        if (parked)
        {
            // The parked job continued from its stored step in the new process.
            Assert.Contains(Lines(second.StdOut), l => l.Contains(inFlight, StringComparison.Ordinal) && l.Contains("completed: token", StringComparison.Ordinal));
        }
    }

    private static ChainOptions Options(DevChain chain)
    {
        var options = new HokusaiContractsOptions();
        chain.ApplyTo(options);
        return options.Chain;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static async Task<HttpStatusCode?> GetStatusAsync(Uri baseAddress, string path)
    {
        // A fresh connection, as a load balancer's probe makes.
        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
