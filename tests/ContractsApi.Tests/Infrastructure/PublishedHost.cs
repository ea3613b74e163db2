using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ContractsApi.Tests.Infrastructure;

/// <summary>
/// The reference host as the container runs it: the published output started with <c>dotnet</c>
/// under <c>dumb-init</c> as PID-1 stand-in, as an unprivileged user (<c>nobody</c> via
/// <c>setpriv</c> when the tests run as root), with the environment given. Captures stdout and
/// stderr, waits for <c>/health</c>, and delivers real signals.
/// </summary>
internal sealed partial class PublishedHost : IAsyncDisposable
{
    public const int SigTerm = BackgroundProcess.SigTerm;

    private readonly BackgroundProcess _process;

    private PublishedHost(BackgroundProcess process, int port, int metricsPort)
    {
        _process = process;
        Port = port;
        MetricsPort = metricsPort;
    }

    public int Port { get; }

    public int MetricsPort { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public Uri MetricsAddress => new($"http://127.0.0.1:{MetricsPort}");

    /// <summary>Standard output so far (the JSON log lines).</summary>
    public string StdOut => _process.StdOut;

    /// <summary>Standard error so far.</summary>
    public string StdErr => _process.StdErr;

    /// <summary>The uid the host runs as: 65534 (nobody) when the tests run as root, else the current user.</summary>
    public static bool DropsPrivileges => geteuid() == 0;

    /// <summary>Starts the published app in <paramref name="publishDir"/> on fresh ports with <paramref name="environment"/> added.</summary>
    public static PublishedHost Start(string publishDir, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = Repo.FreePort();
        var metricsPort = Repo.FreePort();
        while (metricsPort == port)
        {
            metricsPort = Repo.FreePort();
        }

        var command = new List<string>();
        if (DropsPrivileges)
        {
            command.AddRange(["--reuid=65534", "--regid=65534", "--clear-groups", "--", "dumb-init", "--"]);
        }
        else
        {
            command.Add("--");
        }

        command.AddRange(["dotnet", Path.Combine(publishDir, "ContractsApi.dll")]);

        // A container-like environment: what the image sets plus the test's values. HOME and TMPDIR are ones the
        // unprivileged user can write to.
        var settings = new Dictionary<string, string>
        {
            ["HOME"] = "/tmp",
            ["TMPDIR"] = "/tmp",
            ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["METRICS_PORT"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            settings[k] = v;
        }

        var process = BackgroundProcess.Start(DropsPrivileges ? "setpriv" : "dumb-init", command, publishDir, settings);
        return new PublishedHost(process, port, metricsPort);
    }

    /// <summary>Polls <paramref name="path"/> until it answers 200; returns the time it took.</summary>
    public async Task<TimeSpan> WaitForAsync(string path = "/health", TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = timeout ?? TimeSpan.FromSeconds(60);
        while (sw.Elapsed < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"host exited with {_process.ExitCode} before {path} answered.\n{StdOut}\n{StdErr}");
            }

            try
            {
                using var response = await client.GetAsync(path);
                if (response.IsSuccessStatusCode)
                {
                    return sw.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{path} did not answer 200 within {deadline}.\n{StdOut}\n{StdErr}");
    }

    /// <summary>Sends a real signal (SIGTERM by default) to the init process, which forwards it to the app.</summary>
    public void Signal(int signal = SigTerm) => _process.Signal(signal);

    /// <summary>Waits for the process to exit; returns its exit code, or null on timeout.</summary>
    public Task<int?> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>The app's process id (the init's dotnet child), from /proc.</summary>
    public int AppProcessId()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(dir, "status"));
                if (text.Contains($"\nPPid:\t{_process.Id}\n", StringComparison.Ordinal) && text.Contains("Name:\tdotnet", StringComparison.Ordinal))
                {
                    return int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        throw new InvalidOperationException($"no dotnet process under {_process.Id}");
    }

    /// <summary>Resident set size of the app (the init's child) in bytes, from /proc.</summary>
    public long? AppRssBytes()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var status = Path.Combine(dir, "status");
            try
            {
                var text = File.ReadAllText(status);
                if (text.Contains($"\nPPid:\t{_process.Id}\n", StringComparison.Ordinal) && text.Contains("Name:\tdotnet", StringComparison.Ordinal))
                {
                    var line = text.Split('\n').First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                    var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
                    return kb * 1024;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return null;
    }

    /// <summary>Kills only this host's own process tree, never anything found by name.</summary>
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
