using System.Diagnostics;

namespace Hokusai.Contracts.Tests;

public sealed class DevChainTests
{
    [Fact]
    public async Task StartAsync_Defaults_DeploysContractsAndDisposeStopsOnlyItsProcess()
    {
        var chain = await DevChain.StartAsync(null, CancellationToken.None);
        var pid = chain.ProcessId;
        using var rpc = new Chain.JsonRpc(chain.RpcUrl);
        try
        {
            Assert.StartsWith("http://127.0.0.1:", chain.RpcUrl, StringComparison.Ordinal);
            Assert.Equal(31337, chain.ChainId);
            Assert.Equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", chain.DeployerAddress);
            Assert.Equal(4, chain.TestAccounts.Count);
            Assert.DoesNotContain(chain.TestAccounts, a => a.Address == chain.DeployerAddress);
            Assert.NotEqual("0x", await rpc.CodeAsync(chain.ModelRegistryAddress));
            Assert.NotEqual("0x", await rpc.CodeAsync(chain.TokenManagerAddress));
            Assert.Equal(chain.ModelRegistryAddress.ToLowerInvariant(), await rpc.CallAddressAsync(chain.TokenManagerAddress, "registry()"));
            Assert.Equal(chain.DeployerAddress.ToLowerInvariant(), await rpc.CallAddressAsync(chain.ModelRegistryAddress, "owner()"));
            Assert.True(Chain.JsonRpc.ParseQuantity((await rpc.CallRawAsync("eth_getBalance", chain.TestAccounts[0].Address, "latest")).GetString()!) > 0);

            var options = new HokusaiContractsOptions();
            options.Chain.RpcUrls.Add("http://old");
            chain.ApplyTo(options);
            Assert.Equal([chain.RpcUrl], options.Chain.RpcUrls);
            Assert.Equal(chain.ChainId, options.Chain.ChainId);
            Assert.Equal(chain.ModelRegistryAddress, options.Chain.ModelRegistryAddress);
            Assert.Equal(chain.TokenManagerAddress, options.Chain.TokenManagerAddress);
            Assert.Equal(chain.DeployerPrivateKey, options.Chain.DeployerPrivateKey);
        }
        finally
        {
            await chain.DisposeAsync();
        }

        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => rpc.CallRawAsync("eth_chainId"));
    }

    [Fact]
    public async Task StartAsync_BlockTime_MinesBlocksOnItsOwn()
    {
        await using var chain = await DevChain.StartAsync(new DevChainOptions { BlockTime = TimeSpan.FromSeconds(1), ChainId = 1337 }, CancellationToken.None);
        using var rpc = new Chain.JsonRpc(chain.RpcUrl);

        var before = await rpc.BlockNumberAsync();
        // Nothing but the interval miner makes blocks here; the deadline only allows for a starved anvil.
        var after = before;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (after < before + 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            after = await rpc.BlockNumberAsync();
        }

        Assert.Equal(1337, chain.ChainId);
        Assert.True(after >= before + 2, $"blocks {before} -> {after}");
    }

    [Fact]
    public void FindAnvil_ExplicitPathMissing_ThrowsNamingIt()
    {
        var error = Assert.Throws<FileNotFoundException>(() => DevChain.FindAnvil("/nonexistent/anvil"));

        Assert.Contains("/nonexistent/anvil", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FindAnvil_NoExplicitPath_FindsTheNpmPackage()
    {
        var path = DevChain.FindAnvil(null);

        if (Environment.GetEnvironmentVariable("ANVIL_PATH") is { Length: > 0 } fromEnvironment)
        {
            Assert.Equal(Path.GetFullPath(fromEnvironment), path);
            return;
        }

        // anvil on PATH comes before the npm package.
        Assert.True(File.Exists(path));
        Assert.True(
            path.Replace('\\', '/').Contains("node_modules/@foundry-rs/anvil-", StringComparison.Ordinal)
                || (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => d.Length > 0 && path.StartsWith(d, StringComparison.Ordinal)),
            path);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task StartAsync_AnvilFails_MessageIsOneLineWithoutKeysOrMnemonic()
    {
        const string Key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        var dir = Directory.CreateTempSubdirectory("fake-anvil-");
        try
        {
            var script = Path.Combine(dir.FullName, "anvil");
            await File.WriteAllTextAsync(script, $"""
                #!/bin/sh
                echo "Available Accounts"
                echo "(0) 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (10000.000000000000000000 ETH)"
                echo "Private Keys"
                echo "(0) {Key}"
                echo "Wallet"
                echo "Mnemonic:          test test test test test test test test test test test junk"
                echo "Derivation path:   m/44'/60'/0'/0/"
                echo "Error: Address already in use (os error 98)" >&2
                exit 1
                """);
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DevChain.StartAsync(new DevChainOptions { AnvilPath = script }, CancellationToken.None));

            Assert.DoesNotContain('\n', error.Message);
            Assert.Contains("Address already in use", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Key[2..], error.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("test test", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Mnemonic", error.Message, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void DevChainAccount_ToString_HidesKey()
    {
        var account = new DevChainAccount("0xabc", "0xsecret");

        Assert.DoesNotContain("secret", account.ToString(), StringComparison.Ordinal);
    }
}
