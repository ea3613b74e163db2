using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace ContractsApi.Tests.Infrastructure;

/// <summary>
/// A long-running child process with only the environment given (plus what any process needs), its output captured;
/// real signals go to its own PID, and dispose kills its own tree, never anything found by name.
/// </summary>
internal sealed partial class BackgroundProcess : IAsyncDisposable
{
    public const int SigTerm = 15;
    public const int SigInt = 2;

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private BackgroundProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public string StdOut { get { lock (_stdout) { return _stdout.ToString(); } } }

    public string StdErr { get { lock (_stderr) { return _stderr.ToString(); } } }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    public override string ToString() => $"--- stdout\n{StdOut}\n--- stderr\n{StdErr}";

    /// <summary>Runs a built assembly with <c>dotnet</c>, in its own directory.</summary>
    public static BackgroundProcess StartAssembly(string assembly, IReadOnlyDictionary<string, string> environment) =>
        Start("dotnet", [assembly], Path.GetDirectoryName(assembly)!, environment);

    public static BackgroundProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        // Only what a fresh shell would have: settings the test process or other tests set never leak in.
        psi.Environment.Clear();
        psi.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        psi.Environment["HOME"] = Environment.GetEnvironmentVariable("HOME") ?? Path.GetTempPath();
        foreach (var inherited in new[] { "DOTNET_ROOT", "NUGET_PACKAGES", "TMPDIR" })
        {
            if (Environment.GetEnvironmentVariable(inherited) is { Length: > 0 } value)
            {
                psi.Environment[inherited] = value;
            }
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var process = new Process { StartInfo = psi };
        var child = new BackgroundProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (child._stdout) { child._stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (child._stderr) { child._stderr.AppendLine(e.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Polls stdout until it contains <paramref name="text"/>; fails with the output when the process exits or time runs out.</summary>
    public async Task WaitForStdOutAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!StdOut.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"exited with {_process.ExitCode} before printing '{text}'\n{this}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"'{text}' not printed within {timeout}\n{this}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends a real signal to this process's own PID.</summary>
    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the exit; returns the exit code, or null when <paramref name="timeout"/> passed first.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        // Drains the redirected output to its end.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
