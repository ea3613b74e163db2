using System.Net;
using System.Net.Sockets;
using ContractsApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ContractsApi.Tests.Host;

/// <summary>A host that cannot start says why in one line on stderr, naming the variable, and exits with a non-zero code.</summary>
[Collection(PublishedAppGroup.Name)]
public sealed class StartupFailureTests(PublishedApp app, DevChainFixture chain, ITestOutputHelper output)
{
    [Theory]
    [InlineData("QUOTA_PER_HOUR", "100000000", "between 1 and 1000000")]
    [InlineData("QUOTA_PER_HOUR", "lots", "System.Int32")]
    [InlineData("CONFIRMATION_BLOCKS", "500", "between 0 and 128")]
    [InlineData("REPLACE_AFTER", "12 parsecs", "number of blocks (e.g. 12b)")]
    [InlineData("RPC_WS_URL", "http://127.0.0.1:8545", "ws:// or wss://")]
    [InlineData("LOG_LEVEL", "loud", "error, warn, info, debug")]
    [InlineData("TRUSTED_PROXIES", "the-balancer", "CIDR")]
    [InlineData("JWT_SECRET", "short", "at least 32 bytes")]
    [InlineData("ALLOWED_ORIGINS", "not a url", "absolute origins")]
    [InlineData("JWT_LEGACY_OWNERS", "yes", "true or false")]
    [InlineData("ADMIN_API_KEYS", "ops:short", "at least 16 characters")]
    public async Task BadSetting_OneLineNamingTheVariableAndRule_NonZeroExit(string variable, string value, string rule)
    {
        var (exit, stderr, stdout) = await RunAsync(new Dictionary<string, string> { [variable] = value });

        var line = AssertOneLine(exit, stderr, stdout);
        Assert.Contains(variable, line, StringComparison.Ordinal);
        Assert.Contains(rule, line, StringComparison.Ordinal);
        if (variable is "JWT_SECRET" or "QUOTA_PER_HOUR")
        {
            // Values are never echoed (they may be secrets).
            Assert.DoesNotContain("'" + value + "'", line, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("QUOTA_PER_HOUR", "100000000", "QUOTA_PER_HOUR must be between 1 and 1000000", "HokusaiContracts:Quotas:PerHour")]
    [InlineData("RPC_WS_URL", "http://127.0.0.1:8545", "RPC_WS_URL must be an absolute ws:// or wss:// URL", "HokusaiContracts:Chain:RpcWsUrl")]
    [InlineData("HokusaiContracts__Quotas__PerHour", "100000000", "HokusaiContracts:Quotas:PerHour must be between 1 and 1000000", "QUOTA_PER_HOUR")]
    [InlineData("HokusaiContracts__Quotas__PerHour", "lots", "'HokusaiContracts:Quotas:PerHour' must be a whole number", "QUOTA_PER_HOUR")]
    [InlineData("HokusaiContracts__Chain__RpcWsUrl", "http://127.0.0.1:8545", "HokusaiContracts:Chain:RpcWsUrl must be an absolute ws:// or wss:// URL", "RPC_WS_URL")]
    public async Task BadSetting_OneLineNamingWhatWasSetOnly_NonZeroExit(string variable, string value, string expected, string notNamed)
    {
        var (exit, stderr, stdout) = await RunAsync(new Dictionary<string, string> { [variable] = value });

        var line = AssertOneLine(exit, stderr, stdout);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain(notNamed, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortInUse_OneLineNamingPort_NonZeroExit()
    {
        using var taken = new TcpListener(IPAddress.Any, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exit, stderr, stdout) = await RunAsync(new Dictionary<string, string> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        var line = AssertOneLine(exit, stderr, stdout);
        Assert.Contains("PORT", line, StringComparison.Ordinal);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
        Assert.Contains("in use", line, StringComparison.Ordinal);
    }

    private async Task<(int? Exit, string StdErr, string StdOut)> RunAsync(Dictionary<string, string> settings)
    {
        await using var host = PublishedHost.Start(app.Directory, chain.Environment(settings));
        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"exit {exit}\nstderr: {host.StdErr}\nstdout: {host.StdOut}");
        return (exit, host.StdErr, host.StdOut);
    }

    private static string AssertOneLine(int? exit, string stderr, string stdout)
    {
        Assert.NotNull(exit);
        Assert.NotEqual(0, exit.Value);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("hokusai-contracts: start-up failed: ", line, StringComparison.Ordinal);
        foreach (var text in new[] { stderr, stdout })
        {
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        }

        return line;
    }
}
