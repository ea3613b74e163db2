using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ContractsApi.Tests.Infrastructure;

namespace ContractsApi.Tests;

/// <summary>
/// <c>./dev run</c> as a developer meets it: it says what it builds, the PID it started is the service itself (a
/// plain SIGTERM stops it and its dev chain), and a busy port is one line naming <c>PORT</c>.
/// </summary>
public sealed class DevScriptTests
{
    // The script builds the host first (incremental after `./dev test`'s build; minutes on a fresh machine).
    private static readonly TimeSpan BuildAndStart = TimeSpan.FromMinutes(8);

    private static Dictionary<string, string> Ports(int port) => new()
    {
        ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
        ["METRICS_PORT"] = Repo.FreePort().ToString(CultureInfo.InvariantCulture),
    };

    private static BackgroundProcess StartDevRun(int port) => BackgroundProcess.Start("bash", [Repo.PathOf("dev"), "run"], Repo.Root, Ports(port));

    [Theory]
    [InlineData(BackgroundProcess.SigTerm)]
    [InlineData(BackgroundProcess.SigInt)]
    public async Task DevRun_SignalToItsPid_StopsTheServiceAndItsDevChain(int signal)
    {
        await using var dev = StartDevRun(Repo.FreePort());
        await dev.WaitForStdOutAsync("Deploy a token", BuildAndStart);

        Assert.Contains("[dev] building samples/ContractsApi", dev.StdErr, StringComparison.Ordinal);
        // The script exec'd the host, so the PID it was started with is the service's, and anvil is its child.
        var anvil = ProcessTree.Child(dev.Id, "anvil");
        Assert.True(anvil is not null, "no anvil under the PID ./dev run was started with\n" + dev);

        dev.Signal(signal);

        Assert.Equal(0, await dev.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(await ProcessTree.ExitedAsync(anvil.Value, TimeSpan.FromSeconds(30)), $"anvil {anvil} outlived ./dev run");
    }

    [Fact]
    public async Task DevRun_PortInUse_OneLineNamingPortAndExit1()
    {
        using var taken = new TcpListener(IPAddress.IPv6Any, 0);
        taken.Server.DualMode = true;
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using var dev = StartDevRun(port);
        var exit = await dev.WaitForExitAsync(BuildAndStart);

        Assert.True(exit == 1, $"exit {exit}\n{dev}");
        // After the script's own progress lines (and the build's), the service says one thing.
        var afterStart = dev.StdErr[(dev.StdErr.IndexOf("[dev] starting", StringComparison.Ordinal) + 1)..]
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1).ToList();
        var line = Assert.Single(afterStart);
        Assert.StartsWith("hokusai-contracts: start-up failed: PORT", line, StringComparison.Ordinal);
        Assert.Contains(port.ToString(CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevRun_StdoutIsATerminal_LogsReadableLinesNotJson()
    {
        // script(1) runs the command on a pseudo-terminal, as a developer's shell would.
        await using var dev = BackgroundProcess.Start("script", ["-qfec", $"'{Repo.PathOf("dev")}' run", "/dev/null"], Repo.Root, Ports(Repo.FreePort()));
        await dev.WaitForStdOutAsync("Deploy a token", BuildAndStart);
        await dev.WaitForStdOutAsync("INF] Now listening on", TimeSpan.FromSeconds(30));

        var lines = dev.StdOut.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\[\d{2}:\d{2}:\d{2} INF\] Now listening on: http://"));
        Assert.DoesNotContain(lines, l => l.StartsWith("{\"@t\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData(".ci/run")]
    public async Task DevScripts_Shellcheck_Clean(string script)
    {
        var result = await Shell.RunAsync("shellcheck", ["--severity=style", Repo.PathOf(script)]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }
}

/// <summary>Processes by parent, from /proc.</summary>
internal static class ProcessTree
{
    public static int? Child(int parent, string name)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var status = File.ReadAllText(Path.Combine(dir, "status"));
                if (status.StartsWith($"Name:\t{name}\n", StringComparison.Ordinal) && status.Contains($"\nPPid:\t{parent}\n", StringComparison.Ordinal))
                {
                    return int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
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

    /// <summary>True once <paramref name="pid"/> is gone or a zombie (it exited; only its parent's reaping is left).</summary>
    public static async Task<bool> ExitedAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z'))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
