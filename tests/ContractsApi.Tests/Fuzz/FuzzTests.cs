using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ContractsApi.Tests.EndToEnd;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts.Testing;
using Xunit.Abstractions;

namespace ContractsApi.Tests.Fuzz;

/// <summary>
/// Hostile input against the real host (the reference Program on Kestrel, Redis store and queue, a dev
/// chain): at least 10,000 generated requests per run over parallel connections. Every response is
/// below 500, carries X-Request-Id, and an app-level error has the error envelope; afterwards the host
/// is healthy. <c>FUZZ_SEED</c> replays a run and <c>FUZZ_REQUESTS</c> changes its size; the seed is
/// printed, and every failure names it with the request's index.
/// </summary>
[Collection(FuzzGroup.Name)]
public sealed class FuzzTests(DevChainFixture fixture, ITestOutputHelper output)
{
    private const string JwtSecret = "fuzz-jwt-secret-0123456789abcdef0123456789";
    private const int Concurrency = 16;

    [Fact]
    public async Task GeneratedHostileRequests_NoServerErrorEnvelopeOnEveryErrorHostHealthy()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), CultureInfo.InvariantCulture, out var fixedSeed) ? fixedSeed : Random.Shared.Next();
        var count = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_REQUESTS"), CultureInfo.InvariantCulture, out var n) ? n : 10_000;
        output.WriteLine($"fuzz seed {seed} (replay with FUZZ_SEED={seed}), {count} requests");

        await using var redis = await RedisServer.StartAsync();
        await using var host = new ComposedHost(fixture.Chain, new Dictionary<string, string>
        {
            ["REDIS_URL"] = redis.Url,
            ["JWT_SECRET"] = JwtSecret,
            ["ALLOWED_ORIGINS"] = "https://app.hokus.ai",
            ["HokusaiContracts:Quotas:PerHour"] = "1000000",
            ["HokusaiContracts:Quotas:PerDay"] = "1000000",
            ["HokusaiContracts:Quotas:RequestsPerMinute"] = "0",
            // The suite is about hostile input, not a slow dependency: on a loaded shared machine a Redis call
            // can outlast the production 750 ms bound and answer a (correct) 503. The outage bounds have their
            // own tests (RedisOutageTests, the replica tests).
            ["HokusaiContracts:Redis:OperationTimeout"] = "00:00:05",
        });
        using var apiClient = host.CreateApiClient();
        var baseAddress = apiClient.BaseAddress!;
        var warmup = Stopwatch.StartNew();
        while (true)
        {
            using var probe = await apiClient.GetAsync(new Uri("/health/ready", UriKind.Relative));
            if (probe.IsSuccessStatusCode || warmup.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.True(probe.IsSuccessStatusCode, "the host never became ready: " + await probe.Content.ReadAsStringAsync());
                break;
            }

            await Task.Delay(100);
        }

        // A few real jobs for the generator to aim at; valid bodies only ever use this small model pool,
        // so the run deploys at most a handful of tokens whatever the seed.
        var pool = Enumerable.Range(0, 8).Select(i => $"fuzz-{seed & 0xffff:x4}-{i}").ToList();
        var addresses = fixture.Chain.TestAccounts.Select(a => a.Address).ToList();
        var jobs = new List<Guid>();
        foreach (var model in pool.Take(2))
        {
            using var response = await apiClient.PostAsync(new Uri("/api/deployments", UriKind.Relative), new StringContent(Api.Body(model, addresses[0]), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            jobs.Add(Guid.Parse(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data").GetProperty("requestId").GetString()!));
        }

        var generator = new RequestGenerator(seed, new RequestGenerator.Credentials(ComposedHost.ApiKey, JwtSecret, addresses, pool, jobs));
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Concurrency,
            AllowAutoRedirect = false,
            // Latin-1 header values are legal HTTP; the default handler refuses to send them.
            RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var statuses = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<string>();
        var sw = Stopwatch.StartNew();

        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (index, ct) =>
        {
            using var request = generator.Create(index, baseAddress);
            var what = $"seed {seed} request {index}: {request.Method} {Shorten(request.RequestUri!.PathAndQuery)}";
            try
            {
                using var response = await client.SendAsync(request, ct);
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                if (IsKestrelRejection(request, response, body))
                {
                    // Kestrel refuses a path holding an encoded NUL before any application code runs;
                    // nothing can add a request id or envelope there. Counted apart, allowed only for that.
                    statuses.AddOrUpdate(KestrelRejection, 1, (_, c) => c + 1);
                    return;
                }

                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, c) => c + 1);
                if (Check(request, response, body) is { } problem)
                {
                    failures.Enqueue($"{what} -> {(int)response.StatusCode}: {problem}; body {Shorten(Encoding.UTF8.GetString(body))}");
                }
            }
            catch (HttpRequestException ex)
            {
                // The server closing a connection on a request it rejects at the protocol level is not an
                // answer the application could have written; it is counted, and must stay rare.
                statuses.AddOrUpdate(0, 1, (_, c) => c + 1);
                if (ex.InnerException is not IOException)
                {
                    failures.Enqueue($"{what} -> no response: {ex.Message}");
                }
            }
        });
        sw.Stop();

        var table = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key switch { 0 => "closed", KestrelRejection => "400 by Kestrel (encoded NUL in path)", _ => s.Key.ToString(CultureInfo.InvariantCulture) }}: {s.Value}"));
        output.WriteLine($"{count} requests in {sw.Elapsed.TotalSeconds:0.0} s ({count / sw.Elapsed.TotalSeconds:0} req/s); statuses {table}");
        Assert.True(failures.IsEmpty, $"fuzz seed {seed}: {failures.Count} failures (replay with FUZZ_SEED={seed}):\n{string.Join('\n', failures.Take(20))}");
        Assert.True(statuses.GetValueOrDefault(0) <= count / 100, $"fuzz seed {seed}: {statuses.GetValueOrDefault(0)} connections closed without an answer");

        // Still healthy and serving.
        using var live = await apiClient.GetAsync(new Uri("/health", UriKind.Relative));
        using var ready = await apiClient.GetAsync(new Uri("/health/ready", UriKind.Relative));
        using var list = await apiClient.GetAsync(new Uri("/api/deployments", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.True(ready.StatusCode == HttpStatusCode.OK, $"fuzz seed {seed}: readiness {await ready.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        // The fuzzed requests may have cancelled the seeded jobs; a fresh deployment must still go through.
        var after = await Api.DeployAsync(apiClient, ComposedHost.ApiKey, $"fuzz-after-{seed & 0xffff:x4}-{Guid.NewGuid():N}"[..40], addresses[1]);
        var job = await Api.WaitForAsync(apiClient, ComposedHost.ApiKey, after, s => s.GetProperty("status").GetString() is "completed" or "failed" or "cancelled", TimeSpan.FromSeconds(90));
        Assert.True(job.GetProperty("status").GetString() == "completed", $"fuzz seed {seed}: {job}");
    }

    private const int KestrelRejection = 1400;

    private static bool IsKestrelRejection(HttpRequestMessage request, HttpResponseMessage response, byte[] body) =>
        response.StatusCode == HttpStatusCode.BadRequest && body.Length == 0 && !response.Headers.Contains("X-Request-Id")
        && request.RequestUri!.AbsolutePath.Contains("%00", StringComparison.Ordinal);

    /// <summary>Why a response breaks the contract, or null.</summary>
    internal static string? Check(HttpRequestMessage request, HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return "server error";
        }

        if (!response.Headers.Contains("X-Request-Id"))
        {
            return "no X-Request-Id";
        }

        if (status < 400 || request.Method == HttpMethod.Head)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (!root.TryGetProperty("success", out var success) || success.ValueKind != JsonValueKind.False
                || !root.TryGetProperty("error", out var error)
                || error.GetProperty("code").ValueKind != JsonValueKind.String
                || error.GetProperty("message").ValueKind != JsonValueKind.String
                || error.GetProperty("details").ValueKind != JsonValueKind.Object
                || error.GetProperty("suggestions").ValueKind != JsonValueKind.Array
                || error.GetProperty("timestamp").ValueKind != JsonValueKind.String
                || error.GetProperty("retryable").ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return "not the error envelope";
            }

            return null;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "not the error envelope";
        }
    }

    private static string Shorten(string text) => text.Length <= 160 ? text : text[..160] + "…";
}

/// <summary>
/// The fuzz run saturates both cores for a few seconds; it runs alone, after the parallel collections, so it
/// neither slows timing-sensitive tests nor is slowed by them. It gets an anvil of its own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzGroup : ICollectionFixture<DevChainFixture>
{
    public const string Name = "fuzz";
}
