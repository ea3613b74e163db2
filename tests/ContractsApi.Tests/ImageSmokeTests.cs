using System.Diagnostics;
using System.Globalization;
using ContractsApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ContractsApi.Tests;

/// <summary>
/// A real image built and run with podman. No registry is reachable, so the base is assembled
/// from this machine's runtime (<c>image/make-local-base.sh</c>) and the Dockerfile's runtime stage is
/// applied to it verbatim, except the <c>apk add</c>/<c>adduser</c> step the base already covers and
/// <c>COPY --from=build</c>, which takes the published output instead.
/// </summary>
[Collection(PublishedAppGroup.Name)]
public sealed class ImageSmokeTests(PublishedApp app, DevChainFixture chain, ITestOutputHelper output) : IDisposable
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];
    private readonly string _context = Directory.CreateTempSubdirectory("hokusai-image-").FullName;
    private readonly List<string> _cleanup = [];

    private string BaseImage => $"localhost/hokusai-contracts-base:{_suffix}";

    private string Image => $"localhost/hokusai-contracts:{_suffix}";

    private string ContainerName => $"hokusai-contracts-{_suffix}";

    /// <summary>The Dockerfile's last stage, rebased onto the local base.</summary>
    internal static string RuntimeStage(string baseImage)
    {
        var lines = Repo.Read("Dockerfile").Split('\n');
        var last = Array.FindLastIndex(lines, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        var result = new List<string> { $"FROM {baseImage}" };
        var skipping = false;
        foreach (var line in lines.Skip(last + 1))
        {
            if (skipping || line.StartsWith("RUN apk add", StringComparison.Ordinal))
            {
                skipping = line.TrimEnd().EndsWith('\\');
                continue;
            }

            result.Add(line.StartsWith("COPY --from=build", StringComparison.Ordinal)
                ? line.Replace("COPY --from=build", "COPY", StringComparison.Ordinal).Replace(" /app ", " app/ ", StringComparison.Ordinal)
                : line);
        }

        return string.Join('\n', result);
    }

    private async Task<ShellResult> PodmanAsync(params string[] args)
    {
        return await Shell.RunAsync("podman", args, _context, new Dictionary<string, string?> { ["CONTAINERS_CONF"] = await ContainersConfAsync() }, TimeSpan.FromMinutes(3));
    }

    /// <summary>
    /// podman's settings for this test: the sandbox forbids raising rlimits, which podman does by default for
    /// every container; and Debian's podman brings crun, which refuses to start containers on a host with
    /// cgroups in hybrid mode ("crun: cgroups in hybrid mode not supported"), so runc (installed by
    /// <c>./dev test</c>) runs them, with plain cgroupfs since there may be no systemd.
    /// </summary>
    private async Task<string> ContainersConfAsync()
    {
        var conf = Path.Combine(_context, "containers.conf");
        if (!File.Exists(conf))
        {
            var text = "[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n";
            if (FindOnPath("runc") is { } runc)
            {
                text += $"runtime = \"runc\"\n\n[engine.runtimes]\nrunc = [\"{runc}\"]\n";
            }

            await File.WriteAllTextAsync(conf, text);
        }

        return conf;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    [Fact]
    public async Task Image_BuiltAndRun_HealthyAsAppuserUnderInitAndStopsCleanly()
    {
        var sw = Stopwatch.StartNew();
        var baseResult = await Shell.RunAsync("bash", [Repo.PathOf("tests", "ContractsApi.Tests", "image", "make-local-base.sh"), BaseImage], _context, timeout: TimeSpan.FromMinutes(3));
        Assert.True(baseResult.ExitCode == 0, baseResult.ToString());
        _cleanup.Add(BaseImage);

        await Shell.RunAsync("cp", ["-a", app.Directory, Path.Combine(_context, "app")]);
        await File.WriteAllTextAsync(Path.Combine(_context, "Containerfile"), RuntimeStage(BaseImage));
        var build = await PodmanAsync("build", "--format", "docker", "-q", "-t", Image, "-f", "Containerfile", ".");
        Assert.True(build.ExitCode == 0, build.ToString());
        _cleanup.Add(Image);
        var size = long.Parse((await PodmanAsync("image", "inspect", "--format", "{{.Size}}", Image)).StdOut.Trim(), CultureInfo.InvariantCulture);
        var baseSize = long.Parse((await PodmanAsync("image", "inspect", "--format", "{{.Size}}", BaseImage)).StdOut.Trim(), CultureInfo.InvariantCulture);
        output.WriteLine($"built in {sw.Elapsed.TotalSeconds:0.0} s; image {size / 1e6:0.0} MB (local glibc base {baseSize / 1e6:0.0} MB, app layer {(size - baseSize) / 1e6:0.0} MB)");

        // The chain listens on the host's loopback, which only host networking reaches; the
        // container then shares the host's ports too, so it gets free ones.
        var port = Repo.FreePort();
        var metricsPort = Repo.FreePort();
        var runArgs = new List<string> { "run", "-d", "--name", ContainerName, "--network", "host" };
        foreach (var (key, value) in chain.Environment(new Dictionary<string, string>
        {
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["METRICS_PORT"] = metricsPort.ToString(CultureInfo.InvariantCulture),
        }))
        {
            runArgs.AddRange(["-e", $"{key}={value}"]);
        }

        runArgs.Add(Image);
        var run = await PodmanAsync([.. runArgs]);
        Assert.True(run.ExitCode == 0, run.ToString());

        var healthy = false;
        var started = Stopwatch.StartNew();
        while (!healthy && started.Elapsed < TimeSpan.FromSeconds(60))
        {
            healthy = (await PodmanAsync("healthcheck", "run", ContainerName)).ExitCode == 0;
            if (!healthy)
            {
                await Task.Delay(250);
            }
        }

        output.WriteLine($"container healthy after {started.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(healthy, (await PodmanAsync("logs", ContainerName)).ToString());
        Assert.Equal("10001", (await PodmanAsync("exec", ContainerName, "id", "-u")).StdOut.Trim());
        Assert.StartsWith("/usr/bin/dumb-init", (await PodmanAsync("exec", ContainerName, "cat", "/proc/1/cmdline")).StdOut, StringComparison.Ordinal);
        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            // Ready means the container reached the chain and read the registry.
            using var ready = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/health/ready"));
            Assert.True(ready.StatusCode == System.Net.HttpStatusCode.OK, await ready.Content.ReadAsStringAsync());
        }

        var stopping = Stopwatch.StartNew();
        var stop = await PodmanAsync("stop", "-t", "30", ContainerName);
        output.WriteLine($"stopped in {stopping.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Equal("0", (await PodmanAsync("inspect", "--format", "{{.State.ExitCode}}", ContainerName)).StdOut.Trim());
        Assert.Contains("Application is shutting down", (await PodmanAsync("logs", ContainerName)).All, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromMinutes(10));
    }

    [Fact]
    public void RuntimeStage_KeepsTheDockerfilesUserPortsHealthcheckAndInit()
    {
        var stage = RuntimeStage("localhost/base:x");

        Assert.StartsWith("FROM localhost/base:x\n", stage, StringComparison.Ordinal);
        Assert.DoesNotContain("apk", stage, StringComparison.Ordinal);
        Assert.DoesNotContain("--from=build", stage, StringComparison.Ordinal);
        Assert.Contains("\nUSER appuser\n", stage, StringComparison.Ordinal);
        Assert.Contains("\nEXPOSE 3001 9091\n", stage, StringComparison.Ordinal);
        Assert.Contains("HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD " + ContainerContractTests.HealthcheckCommand(), stage, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"/usr/bin/dumb-init\", \"--\"]", stage, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        PodmanAsync("rm", "-f", "--ignore", ContainerName).GetAwaiter().GetResult();
        foreach (var image in Enumerable.Reverse(_cleanup))
        {
            PodmanAsync("rmi", "-f", image).GetAwaiter().GetResult();
        }

        Directory.Delete(_context, recursive: true);
    }
}
