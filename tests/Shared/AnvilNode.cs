using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Hokusai.Contracts.Testing;

/// <summary>
/// A bare anvil node on a free loopback port (automine, chain id 31337, no contracts): the chain a test
/// deploys onto with the public bootstrap API, as a consumer of the packages would. Only the process
/// started here is ever killed (by its own PID). Compile it into a test project with
/// <c>&lt;Compile Include="../Shared/AnvilNode.cs" Link="Shared/AnvilNode.cs" /&gt;</c>.
/// </summary>
public sealed partial class AnvilNode : IAsyncDisposable
{
    /// <summary>Where <c>npm ci</c> puts the pinned anvil binary, relative to the repository root.</summary>
    public const string RelativePath = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

    /// <summary>The chain id anvil runs with.</summary>
    public const long ChainId = 31337;

    /// <summary>Private key of anvil's first default account (funded, public knowledge).</summary>
    public const string FirstAccountKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    /// <summary>Address of anvil's second default account, a recipient with no role anywhere.</summary>
    public const string SecondAccountAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    private readonly Process _process;

    private AnvilNode(Process process, string rpcUrl)
    {
        _process = process;
        RpcUrl = rpcUrl;
    }

    /// <summary>The node's JSON-RPC URL.</summary>
    public string RpcUrl { get; }

    /// <summary>Starts anvil (<c>ANVIL_PATH</c>, else <see cref="RelativePath"/> above <paramref name="searchFrom"/>) and waits until it listens.</summary>
    public static async Task<AnvilNode> StartAsync(string searchFrom, TimeSpan timeout)
    {
        var anvil = Find(searchFrom);
        var start = new ProcessStartInfo(anvil)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Port 0: the OS picks a free port and anvil prints it, so parallel tests never collide.
        foreach (var argument in new[] { "--host", "127.0.0.1", "--port", "0", "--chain-id", ChainId.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new List<string>();
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        // anvil logs every call; both pipes are drained so it never blocks on a full pipe.
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && ListeningPattern().Match(line) is { Success: true } m)
            {
                listening.TrySetResult(m.Groups[1].Value);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                lock (errors)
                {
                    errors.Add(line);
                }
            }
        };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            $"anvil exited before listening: {string.Join(" ", errors.Take(3))}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var endpoint = await listening.Task.WaitAsync(timeout);
            return new AnvilNode(process, "http://" + endpoint);
        }
        catch
        {
            Kill(process);
            process.Dispose();
            throw;
        }
    }

    private static string Find(string searchFrom)
    {
        if (Environment.GetEnvironmentVariable("ANVIL_PATH") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(searchFrom); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"anvil not found: set ANVIL_PATH or run `npm ci` at the repository root ({RelativePath}).");
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Stops the node this instance started.</summary>
    public async ValueTask DisposeAsync()
    {
        Kill(_process);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            // Signalled; the OS reaps it.
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Listening on (\S+:\d+)")]
    private static partial Regex ListeningPattern();
}
