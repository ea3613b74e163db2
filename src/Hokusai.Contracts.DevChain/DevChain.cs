using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Hokusai.Contracts.Chain;
using Nethereum.Signer;
using Nethereum.Web3;

namespace Hokusai.Contracts;

/// <summary>
/// A local Ethereum dev chain for development and tests: starts anvil (see <see cref="DevChainOptions.AnvilPath"/>
/// for where it is looked for) on a free loopback port, deploys <c>ModelRegistry</c> and <c>TokenManager</c> from the
/// embedded artefacts with <see cref="ContractsBootstrapper"/> (factory-enabled unless
/// <see cref="DevChainOptions.Factory"/> is false), and stops the process it started on dispose.
/// </summary>
/// <example>
/// <code>
/// await using var chain = await DevChain.StartAsync(null, cancellationToken);
/// chain.ApplyTo(options); // RPC URL, chain id, contract addresses, deployer key
/// </code>
/// </example>
public sealed partial class DevChain : IAsyncDisposable
{
    /// <summary>Where the npm package puts the Linux x64 binary, relative to a directory holding <c>node_modules</c>.</summary>
    public const string AnvilRelativePath = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

    /// <summary>The npm package that installs anvil, and the version the contracts are tested with.</summary>
    public const string AnvilPackage = "@foundry-rs/anvil@1.7.1";

    // anvil's default mnemonic ("test test ... junk") accounts 0-4; the first deploys.
    private static readonly string[] DevKeys =
    [
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    ];

    private readonly Process _process;
    private int _disposed;

    private DevChain(Process process, string rpcUrl, long chainId)
    {
        _process = process;
        RpcUrl = rpcUrl;
        ChainId = chainId;
        var accounts = DevKeys.Select(k => new DevChainAccount(new EthECKey(k).GetPublicAddress(), k)).ToArray();
        DeployerPrivateKey = accounts[0].PrivateKey;
        DeployerAddress = accounts[0].Address;
        TestAccounts = accounts[1..];
        // Should the host exit without disposing, the node must not outlive it.
        AppDomain.CurrentDomain.ProcessExit += StopOnProcessExit;
    }

    /// <summary>The node's JSON-RPC URL (http://127.0.0.1:port).</summary>
    public string RpcUrl { get; }

    /// <summary>Chain id.</summary>
    public long ChainId { get; }

    /// <summary>The deployed <c>ModelRegistry</c>, owned by the deployer.</summary>
    public string ModelRegistryAddress { get; private set; } = "";

    /// <summary>The deployed <c>TokenManager</c>; the deployer is its admin and holds <c>MINTER_ROLE</c> (and <c>DEPLOYER_ROLE</c> with a registrar-enabled manager unless <see cref="DevChainOptions.Factory"/> is false).</summary>
    public string TokenManagerAddress { get; private set; } = "";

    /// <summary>The deployer's private key (anvil account 0, public knowledge).</summary>
    public string DeployerPrivateKey { get; }

    /// <summary>The deployer's address.</summary>
    public string DeployerAddress { get; }

    /// <summary>Further funded accounts (anvil accounts 1-4), free for tests to use.</summary>
    public IReadOnlyList<DevChainAccount> TestAccounts { get; }

    /// <summary>The anvil process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Starts anvil, deploys the contracts and returns the running chain.</summary>
    /// <param name="options">Settings; null for defaults (automine, chain id 31337).</param>
    /// <param name="cancellationToken">Cancels the start-up; the process is stopped.</param>
    /// <exception cref="FileNotFoundException">anvil was not found; the message lists every place looked in.</exception>
    public static async Task<DevChain> StartAsync(DevChainOptions? options, CancellationToken cancellationToken)
    {
        options ??= new DevChainOptions();
        var anvil = AnvilLocator.ForThisProcess().Find(options.AnvilPath);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.StartupTimeout);

        var start = new ProcessStartInfo(anvil)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var argument in Arguments(options))
        {
            start.ArgumentList.Add(argument);
        }

        var output = new OutputTail();
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        // anvil logs every call; draining both pipes keeps it from blocking on a full pipe.
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        process.Exited += (_, _) => output.Exited();
        if (!process.Start())
        {
            process.Dispose();
            throw new InvalidOperationException($"anvil could not be started from {anvil}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        DevChain? chain = null;
        try
        {
            var port = await output.Listening.WaitAsync(timeout.Token);
            chain = new DevChain(process, $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", options.ChainId);
            await chain.DeployAsync(options.Factory, timeout.Token);
            return chain;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (chain is not null)
            {
                await chain.DisposeAsync();
            }
            else
            {
                Stop(process);
                // The exit can be seen before the last lines of the pipes are read; those hold the error.
                using (var drained = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
                {
                    try
                    {
                        await process.WaitForExitAsync(drained.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        // Report what arrived so far.
                    }
                }

                process.Dispose();
            }

            var tail = output.Diagnostic();

            // anvil's banner lists its dev accounts' private keys and mnemonic; only its error lines are kept.
            throw new InvalidOperationException(
                (ex is OperationCanceledException
                    ? $"The dev chain did not come up within {options.StartupTimeout}."
                    : $"The dev chain failed to start: {ex.Message}")
                + (tail.Length > 0 ? " anvil said: " + tail : string.Empty),
                ex);
        }
        catch
        {
            if (chain is not null)
            {
                await chain.DisposeAsync();
            }
            else
            {
                Stop(process);
                process.Dispose();
            }

            throw;
        }
    }

    /// <summary>Points <paramref name="options"/> at this chain: RPC URL, chain id, contracts and deployer key.</summary>
    public void ApplyTo(HokusaiContractsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var chain = options.Chain;
        chain.RpcUrls.Clear();
        chain.RpcUrls.Add(RpcUrl);
        chain.ChainId = ChainId;
        chain.ModelRegistryAddress = ModelRegistryAddress;
        chain.TokenManagerAddress = TokenManagerAddress;
        chain.DeployerPrivateKey = DeployerPrivateKey;
    }

    /// <summary>Stops the anvil process this instance started (and its children), nothing else.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= StopOnProcessExit;
        Stop(_process);
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            // Killed but not reaped in time; the OS finishes it.
        }

        _process.Dispose();
    }

    /// <summary>Finds the anvil binary as <see cref="DevChainOptions.AnvilPath"/> describes.</summary>
    internal static string FindAnvil(string? explicitPath) => AnvilLocator.ForThisProcess().Find(explicitPath);

    private static IEnumerable<string> Arguments(DevChainOptions options)
    {
        yield return "--host";
        yield return "127.0.0.1";
        // Port 0: the OS picks a free port and anvil prints it, so concurrent chains never collide.
        yield return "--port";
        yield return "0";
        yield return "--chain-id";
        yield return options.ChainId.ToString(CultureInfo.InvariantCulture);
        yield return "--accounts";
        yield return DevKeys.Length.ToString(CultureInfo.InvariantCulture);
        if (options.BlockTime is { } blockTime && blockTime > TimeSpan.Zero)
        {
            yield return "--block-time";
            yield return blockTime.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        }
    }

    private async Task DeployAsync(bool factory, CancellationToken cancellationToken)
    {
        var chainOptions = new ChainOptions
        {
            DeployerPrivateKey = DeployerPrivateKey,
            ReceiptPollInterval = TimeSpan.FromMilliseconds(50),
            ChainId = ChainId,
        };
        chainOptions.RpcUrls.Add(RpcUrl);
        await WaitUntilAnsweringAsync(RpcUrl, cancellationToken);

        // The same code path as the host's bootstrap command.
        var deployed = await ContractsBootstrapper.DeployAsync(chainOptions, factory, null, cancellationToken);
        ModelRegistryAddress = deployed.ModelRegistryAddress;
        TokenManagerAddress = deployed.TokenManagerAddress;
    }

    // anvil prints its address once it listens; a loaded machine may still refuse the first request.
    private static async Task WaitUntilAnsweringAsync(string rpcUrl, CancellationToken cancellationToken)
    {
        var web3 = new Web3(rpcUrl);
        while (true)
        {
            try
            {
                await web3.Eth.ChainId.SendRequestAsync().WaitAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or Nethereum.JsonRpc.Client.RpcClientUnknownException or Nethereum.JsonRpc.Client.RpcClientTimeoutException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }
        }
    }

    private void StopOnProcessExit(object? sender, EventArgs e) => Stop(_process);

    private static void Stop(Process process)
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
            // Already exited.
        }
    }

    /// <summary>Keeps the last lines of anvil's output for error messages and spots the listening port.</summary>
    private sealed partial class OutputTail
    {
        private const int MaxLines = 40;
        private readonly Queue<string> _lines = new();
        private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal Task<int> Listening => _listening.Task;

        internal void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Enqueue(line);
                while (_lines.Count > MaxLines)
                {
                    _lines.Dequeue();
                }
            }

            if (!_listening.Task.IsCompleted && ListeningPattern().Match(line) is { Success: true } match)
            {
                _listening.TrySetResult(int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture));
            }
        }

        internal void Exited() => _listening.TrySetException(new InvalidOperationException("anvil exited before it was listening."));

        internal string Tail()
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }

        /// <summary>
        /// anvil's error lines (at most three, on one line) with anything key-like removed: never its
        /// account list, private keys or mnemonic.
        /// </summary>
        internal string Diagnostic()
        {
            string[] lines;
            lock (_lines)
            {
                lines = [.. _lines];
            }

            var errors = lines
                .Where(l => ErrorLinePattern().IsMatch(l) && !SecretLinePattern().IsMatch(l))
                .Select(l => HexPattern().Replace(l.Trim(), "[REDACTED]"))
                .Select(l => l.Length > 200 ? l[..200] : l)
                .TakeLast(3);
            return string.Join(" | ", errors);
        }

        [GeneratedRegex(@"error|panick|failed|cannot|unable|invalid|in use", RegexOptions.IgnoreCase)]
        private static partial Regex ErrorLinePattern();

        [GeneratedRegex(@"mnemonic|private|seed|wallet|derivation", RegexOptions.IgnoreCase)]
        private static partial Regex SecretLinePattern();

        [GeneratedRegex(@"(0x)?[0-9a-fA-F]{32,}")]
        private static partial Regex HexPattern();

        [GeneratedRegex(@"Listening on [0-9.]+:(\d+)")]
        private static partial Regex ListeningPattern();
    }
}
