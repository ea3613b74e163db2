using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Tests.Chain;
using Xunit.Abstractions;

namespace ContractsApi.Tests;

/// <summary>
/// The zero-configuration start: no chain settings at all, so the host starts its own anvil, prints a
/// development key and a curl that works as printed, and takes the chain down with it on SIGTERM.
/// </summary>
[Collection(PublishedAppGroup.Name)]
public sealed partial class EmbeddedDefaultTests(PublishedApp app, ITestOutputHelper output)
{
    [Fact]
    public async Task PublishedHost_NoChainSettings_StartsAnvilPrintsWorkingCurlAndStopsAnvilOnSigterm()
    {
        // The host runs as an unprivileged user that may not see into the checkout (a clone under a 0700
        // directory, say), so it gets a copy of the pinned binary in a directory it can read.
        var anvilDir = Directory.CreateTempSubdirectory("hokusai-anvil-");
        File.SetUnixFileMode(anvilDir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var anvil = Path.Combine(anvilDir.FullName, "anvil");
        File.Copy(Repo.PathOf(DevChain.AnvilRelativePath.Split('/')), anvil);
        File.SetUnixFileMode(anvil, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            await RunEmbeddedDefaultAsync(anvil);
        }
        finally
        {
            anvilDir.Delete(recursive: true);
        }
    }

    private async Task RunEmbeddedDefaultAsync(string anvil)
    {
        await using var host = PublishedHost.Start(app.Directory, new Dictionary<string, string> { ["ANVIL_PATH"] = anvil });
        var startup = await host.WaitForAsync("/health/ready", TimeSpan.FromSeconds(90));
        output.WriteLine($"embedded default: startup to /health/ready 200 in {startup.TotalMilliseconds:0} ms");

        var banner = await WaitForBannerAsync(host);
        var key = KeyPattern().Match(banner);
        Assert.True(key.Success, banner);
        Assert.Matches("^dev-[0-9a-f]{32}$", key.Groups["key"].Value);
        var curl = CurlPattern().Match(banner);
        Assert.True(curl.Success, banner);
        Assert.Contains($"X-API-Key: {key.Groups["key"].Value}", curl.Value, StringComparison.Ordinal);
        var anvilPid = ChildProcess(host.AppProcessId(), "anvil");
        Assert.NotNull(anvilPid);

        // The curl exactly as printed (its line continuation included), with the address it names.
        var posted = await Shell.RunAsync("sh", ["-c", curl.Value], timeout: TimeSpan.FromSeconds(30));
        Assert.True(posted.ExitCode == 0, posted.ToString());
        using var accepted = JsonDocument.Parse(posted.StdOut);
        Assert.True(accepted.RootElement.GetProperty("success").GetBoolean(), posted.StdOut);
        var statusPath = accepted.RootElement.GetProperty("data").GetProperty("links").GetProperty("status").GetString()!;
        // The status link is absolute, on the address the curl used.
        Assert.StartsWith(AddressPattern().Match(curl.Value).Groups["address"].Value + "/api/deployments/", statusPath, StringComparison.Ordinal);

        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        var sw = Stopwatch.StartNew();
        JsonElement status = default;
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var request = Api.Request(HttpMethod.Get, statusPath, key.Groups["key"].Value);
            using var response = await client.SendAsync(request);
            status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data").Clone();
            if (status.GetProperty("status").GetString() is "completed" or "failed")
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.True(status.GetProperty("status").GetString() == "completed", status.ToString());
        Assert.StartsWith("0x", status.GetProperty("tokenDetails").GetProperty("tokenAddress").GetString(), StringComparison.Ordinal);

        // The banner says the curl mints 1,000 whole tokens, and it does: initialSupply is in base units (18 decimals).
        Assert.Contains("minting 1,000 whole tokens", banner, StringComparison.Ordinal);
        var curlBody = JsonDocument.Parse(BodyPattern().Match(curl.Value).Groups["body"].Value).RootElement;
        using (var rpc = new JsonRpc(RpcPattern().Match(banner).Groups["url"].Value))
        {
            Assert.Equal(
                1_000 * System.Numerics.BigInteger.Pow(10, 18),
                await rpc.CallUintAsync(status.GetProperty("tokenDetails").GetProperty("tokenAddress").GetString()!, "balanceOf(address)", JsonRpc.AddressArg(curlBody.GetProperty("userAddress").GetString()!)));
        }

        // The embedded default fills the chain settings itself: the detailed report says they are set.
        using (var detailed = await client.SendAsync(Api.Request(HttpMethod.Get, "/health/detailed", key.Groups["key"].Value)))
        {
            var body = await detailed.Content.ReadAsStringAsync();
            Assert.True(detailed.IsSuccessStatusCode, body);
            var configuration = JsonDocument.Parse(body).RootElement.GetProperty("configuration");
            foreach (var setting in new[] { "RPC_URL", "CHAIN_ID", "MODEL_REGISTRY_ADDRESS", "TOKEN_MANAGER_ADDRESS", "DEPLOYER_PRIVATE_KEY", "VALID_API_KEYS" })
            {
                Assert.True(configuration.GetProperty(setting).GetString() == "set", $"{setting}: {configuration}");
            }

            Assert.Equal("unset", configuration.GetProperty("REDIS_URL").GetString());
            Assert.Equal("unset", configuration.GetProperty("JWT_SECRET").GetString());
        }

        host.Signal(PublishedHost.SigTerm);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var gone = Stopwatch.StartNew();
        while (IsRunning(anvilPid.Value) && gone.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }

        Assert.False(IsRunning(anvilPid.Value), $"anvil {anvilPid} outlived the host");
    }

    [Fact]
    public async Task PublishedHost_AnvilFailsToStart_OneLineOnStderrNoKeysNoStackTraceExit1()
    {
        var dir = Directory.CreateTempSubdirectory("hokusai-bad-anvil-");
        File.SetUnixFileMode(dir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        const string Key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        var anvil = Path.Combine(dir.FullName, "anvil");
        await File.WriteAllTextAsync(anvil, $"#!/bin/sh\necho 'Private Keys'\necho '(0) 0x{Key}'\necho 'Mnemonic: test test test test test test test test test test test junk'\necho 'Error: failed to bind: Address already in use' >&2\nexit 1\n");
        File.SetUnixFileMode(anvil, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            await using var host = PublishedHost.Start(app.Directory, new Dictionary<string, string> { ["ANVIL_PATH"] = anvil });
            var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));

            output.WriteLine($"exit {exit}\nstderr: {host.StdErr}\nstdout: {host.StdOut}");
            Assert.NotNull(exit);
            Assert.NotEqual(0, exit.Value);
            var lines = host.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var line = Assert.Single(lines);
            Assert.Contains("dev chain", line, StringComparison.Ordinal);
            Assert.Contains("Address already in use", line, StringComparison.Ordinal);
            foreach (var text in new[] { host.StdErr, host.StdOut })
            {
                Assert.DoesNotContain(Key, text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("test test", text, StringComparison.Ordinal);
                Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<string> WaitForBannerAsync(PublishedHost host)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            var text = host.StdOut;
            var start = text.IndexOf("Deploy a token", StringComparison.Ordinal);
            if (start >= 0 && text.IndexOf("/status", start, StringComparison.Ordinal) > 0)
            {
                return text;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("no banner:\n" + host.StdOut + host.StdErr);
    }

    private static int? ChildProcess(int parentPid, string name)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var status = File.ReadAllText(Path.Combine(dir, "status"));
                if (status.Contains($"\nPPid:\t{parentPid}\n", StringComparison.Ordinal) && status.StartsWith($"Name:\t{name}\n", StringComparison.Ordinal))
                {
                    return int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
            }
        }

        return null;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            // A zombie has exited; only its parent has not reaped it yet.
            var status = File.ReadAllText($"/proc/{pid}/status");
            return !status.Contains("\nState:\tZ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"Development API key: (?<key>\S+)")]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"curl -s -X POST \S+/api/deployments .*\\\r?\n\s*-d '[^']+'")]
    private static partial Regex CurlPattern();

    [GeneratedRegex(@"curl -s -X POST (?<address>\S+)/api/deployments ")]
    private static partial Regex AddressPattern();

    [GeneratedRegex(@"-d '(?<body>[^']+)'")]
    private static partial Regex BodyPattern();

    [GeneratedRegex(@"anvil dev chain at (?<url>http://[0-9.]+:\d+)")]
    private static partial Regex RpcPattern();
}
