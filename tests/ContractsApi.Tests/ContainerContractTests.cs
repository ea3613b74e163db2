using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContractsApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ContractsApi.Tests;

/// <summary>
/// The image's runtime contract without a container engine: the published app under the same init,
/// as a non-root user, answering the Dockerfile's own HEALTHCHECK command, exiting 0 on SIGTERM.
/// </summary>
[Collection(PublishedAppGroup.Name)]
public sealed partial class ContainerContractTests(PublishedApp app, DevChainFixture chain, ITestOutputHelper output)
{
    /// <summary>The shell command of the Dockerfile's HEALTHCHECK, exactly as the image runs it.</summary>
    internal static string HealthcheckCommand()
    {
        var line = Repo.Read("Dockerfile").Split('\n').Single(l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        var match = HealthcheckPattern().Match(line);
        Assert.True(match.Success, line);
        return match.Groups["cmd"].Value;
    }

    private static Task<ShellResult> RunHealthcheckAsync(int port) =>
        Shell.RunAsync("sh", ["-c", HealthcheckCommand()], environment: new Dictionary<string, string?> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) }, timeout: TimeSpan.FromSeconds(10));

    [Fact]
    public async Task PublishedHost_UnderInitAsNonRoot_PassesHealthcheckAndExitsZeroOnSigterm()
    {
        await using var host = PublishedHost.Start(app.Directory, chain.Environment());
        var startup = await host.WaitForAsync("/health/ready");
        output.WriteLine($"startup to /health/ready 200: {startup.TotalMilliseconds:0} ms; app RSS idle: {host.AppRssBytes() / (1024 * 1024)} MiB");

        if (PublishedHost.DropsPrivileges)
        {
            Assert.Equal(65534, AppUid(host.ProcessId));
        }
        else
        {
            Assert.NotEqual(0, AppUid(host.ProcessId));
        }

        var healthy = await RunHealthcheckAsync(host.Port);
        Assert.True(healthy.ExitCode == 0, healthy.ToString());

        var sw = Stopwatch.StartNew();
        host.Signal(PublishedHost.SigTerm);
        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"SIGTERM to exit: {sw.ElapsedMilliseconds} ms");

        Assert.True(exit == 0, $"exit {exit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none within 30 s"}\n{host.StdOut}\n{host.StdErr}");
        Assert.Contains("Application is shutting down", host.StdOut, StringComparison.Ordinal);
        var unhealthy = await RunHealthcheckAsync(host.Port);
        Assert.NotEqual(0, unhealthy.ExitCode);
    }

    [Fact]
    public async Task PublishedHost_Stdout_IsCompactJsonLines()
    {
        await using var host = PublishedHost.Start(app.Directory, chain.Environment(new Dictionary<string, string> { ["LOG_LEVEL"] = "debug" }));
        await host.WaitForAsync("/health");
        using (var client = new HttpClient { BaseAddress = host.BaseAddress })
        {
            using var _ = await client.GetAsync("/health");
        }

        host.Signal();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var lines = host.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            Assert.True(doc.RootElement.TryGetProperty("@t", out _), line);
        }

        var request = lines.Select(l => JsonDocument.Parse(l).RootElement)
            .First(e => e.TryGetProperty("RequestPath", out var p) && p.GetString() == "/health" && e.TryGetProperty("StatusCode", out _));
        Assert.True(request.TryGetProperty("RequestId", out _));
        Assert.True(request.TryGetProperty("@tr", out _));
    }

    [Fact]
    public async Task PublishedHost_InvalidLogLevel_FailsStartupNamingTheVariable()
    {
        await using var host = PublishedHost.Start(app.Directory, chain.Environment(new Dictionary<string, string> { ["LOG_LEVEL"] = "loud" }));

        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(exit);
        Assert.NotEqual(0, exit);
        Assert.Contains("LOG_LEVEL", host.StdOut + host.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublishedHost_Metrics_OnMetricsPortOnly()
    {
        await using var host = PublishedHost.Start(app.Directory, chain.Environment());
        await host.WaitForAsync("/health");
        using var client = new HttpClient();

        using var metrics = await client.GetAsync(new Uri(host.MetricsAddress, "/metrics"));
        var text = await metrics.Content.ReadAsStringAsync();
        using var onApiPort = await client.GetAsync(new Uri(host.BaseAddress, "/metrics"));
        using var apiOnMetricsPort = await client.GetAsync(new Uri(host.MetricsAddress, "/health"));

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("# TYPE hokusai_contracts_jobs_in_flight", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, onApiPort.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, apiOnMetricsPort.StatusCode);
    }

    [Fact]
    public async Task PublishedHost_BoundedLoadOnHealthEndpoints_AllAnswered()
    {
        await using var host = PublishedHost.Start(app.Directory, chain.Environment());
        await host.WaitForAsync("/health/ready");
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        async Task<(double P50, double P99, int Failed)> LoadAsync(string path, HttpStatusCode expected, int total, int concurrency)
        {
            var latencies = new double[total];
            var failed = 0;
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < total)
                {
                    var sw = Stopwatch.StartNew();
                    using var response = await client.GetAsync(path);
                    latencies[i] = sw.Elapsed.TotalMilliseconds;
                    if (response.StatusCode != expected)
                    {
                        if (Interlocked.Increment(ref failed) == 1)
                        {
                            output.WriteLine($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                        }
                    }
                }
            }));
            Array.Sort(latencies);
            return (latencies[total / 2], latencies[(int)(total * 0.99) - 1], failed);
        }

        var live = await LoadAsync("/health", HttpStatusCode.OK, 2000, 16);
        var ready = await LoadAsync("/health/ready", HttpStatusCode.OK, 2000, 16);
        output.WriteLine($"/health p50 {live.P50:0.00} ms p99 {live.P99:0.00} ms; /health/ready p50 {ready.P50:0.00} ms p99 {ready.P99:0.00} ms; app RSS after load: {host.AppRssBytes() / (1024 * 1024)} MiB");

        Assert.Equal(0, live.Failed);
        Assert.Equal(0, ready.Failed);
    }

    private static int AppUid(int initPid)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var status = File.ReadAllText(Path.Combine(dir, "status"));
                if (status.Contains($"\nPPid:\t{initPid}\n", StringComparison.Ordinal))
                {
                    var uid = status.Split('\n').First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                    return int.Parse(uid.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
            }
        }

        throw new InvalidOperationException("the app process under the init was not found");
    }

    [GeneratedRegex(@"^HEALTHCHECK (?:--\w+=\S+ )+CMD (?<cmd>.+)$")]
    private static partial Regex HealthcheckPattern();
}
