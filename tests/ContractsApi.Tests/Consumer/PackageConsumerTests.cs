using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Testing;
using Hokusai.Contracts.Tests.Chain;

namespace ContractsApi.Tests.Consumer;

/// <summary>
/// The packages used the way another team uses them: from a folder feed, by a separate project whose Program.cs
/// is a README snippet pasted verbatim. The embedding snippet runs as a service against a real anvil chain, and
/// the client snippet, run as a second program, deploys a token through it.
/// </summary>
public sealed partial class PackageConsumerTests(PackageConsumer consumer) : IClassFixture<PackageConsumer>
{
    private const string ApiKey = "hk_consumer_7c1d3e5f9a2b4c6d8e0f";
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan DeploymentTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void ReadmeSnippets_BuiltAgainstPackagesFromLocalFeed_Compile()
    {
        Assert.Contains(consumer.Snippets, s => s.Name == "embedding");
        Assert.Contains(consumer.Snippets, s => s.Name == "client");
        Assert.True(consumer.Build.ExitCode == 0, ReadmeSnippets.Describe(consumer.Snippets, consumer.Build.All, consumer.ProjectDirectory));

        // Each consumer restored the library packages themselves, at the packed version, from the feed.
        foreach (var snippet in consumer.Snippets)
        {
            using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(consumer.ProjectDirectory(snippet), "obj", "project.assets.json")));
            var libraries = assets.RootElement.GetProperty("libraries");
            foreach (var id in consumer.LibraryPackages)
            {
                Assert.True(libraries.TryGetProperty($"{id}/{consumer.Version}", out var library), $"{snippet.ProjectName} did not restore {id} {consumer.Version}");
                Assert.Equal("package", library.GetProperty("type").GetString());
                Assert.True(Directory.Exists(Path.Combine(consumer.PackagesFolder, id.ToLowerInvariant(), consumer.Version)), $"{id} {consumer.Version} was not extracted from the local feed");
            }
        }
    }

    [Fact]
    public async Task EmbeddingSnippet_DeploymentThroughClientSnippet_CompletesWithTokenOnChain()
    {
        Assert.True(consumer.Build.ExitCode == 0, ReadmeSnippets.Describe(consumer.Snippets, consumer.Build.All, consumer.ProjectDirectory));
        var client = consumer.Snippet("client");
        var modelId = ModelIdPattern().Match(client.Code) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("the client snippet sets no ModelId");
        var user = UserAddressPattern().Match(client.Code) is { Success: true } u ? u.Groups[1].Value : throw new InvalidOperationException("the client snippet sets no UserAddress");

        await using var anvil = await AnvilNode.StartAsync(Repo.Root, StartupTimeout);
        var chain = new ChainOptions { ChainId = AnvilNode.ChainId, DeployerPrivateKey = AnvilNode.FirstAccountKey };
        chain.RpcUrls.Add(anvil.RpcUrl);
        using var bootstrapTimeout = new CancellationTokenSource(StartupTimeout);
        var contracts = await ContractsBootstrapper.DeployAsync(chain, factory: true, progress: null, bootstrapTimeout.Token);

        var port = Repo.FreePort();
        await using var service = BackgroundProcess.StartAssembly(consumer.AssemblyPath(consumer.Snippet("embedding")), ServiceSettings(anvil.RpcUrl, contracts, port));
        var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        await WaitUntilReadyAsync(service, baseAddress);

        await using var program = BackgroundProcess.StartAssembly(consumer.AssemblyPath(client), new Dictionary<string, string>
        {
            ["HOKUSAI_URL"] = baseAddress.ToString(),
            ["HOKUSAI_API_KEY"] = ApiKey,
        });
        var exit = await program.WaitForExitAsync(DeploymentTimeout);
        Assert.True(exit == 0, $"the client snippet exited with {exit?.ToString(CultureInfo.InvariantCulture) ?? "nothing (timed out)"}\n{program}\n--- service\n{service}");

        // The host's console logger writes from its own thread, so its lines may follow the program's output:
        // the token is the one line that is an address, wherever it lands.
        var addresses = program.StdOut.Split('\n').Select(line => line.Trim()).Where(line => AddressLinePattern().IsMatch(line)).ToArray();
        var token = Assert.Single(addresses);
        using var rpc = new JsonRpc(anvil.RpcUrl);
        Assert.NotEqual("0x", await rpc.CodeAsync(token));
        Assert.Equal(token, await rpc.CallAddressAsync(contracts.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(modelId)), ignoreCase: true);
        // The snippet mints 1,000 whole tokens: 1,000 × 10^18 base units.
        Assert.Equal(1_000 * BigInteger.Pow(10, 18), await rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(user)));
    }

    /// <summary>The service's settings as the documented environment variables: the chain, the contracts, the deployer key and an API key.</summary>
    private static Dictionary<string, string> ServiceSettings(string rpcUrl, BootstrapResult contracts, int port) => new()
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
        ["RPC_URL"] = rpcUrl,
        ["CHAIN_ID"] = AnvilNode.ChainId.ToString(CultureInfo.InvariantCulture),
        ["MODEL_REGISTRY_ADDRESS"] = contracts.ModelRegistryAddress,
        ["TOKEN_MANAGER_ADDRESS"] = contracts.TokenManagerAddress,
        ["DEPLOYER_PRIVATE_KEY"] = AnvilNode.FirstAccountKey,
        ["VALID_API_KEYS"] = "consumer:" + ApiKey,
    };

    private static async Task WaitUntilReadyAsync(BackgroundProcess service, Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + StartupTimeout;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(service.HasExited, $"the embedding snippet's service exited before it was ready\n{service}");
            try
            {
                using var response = await http.GetAsync(new Uri("health/ready", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException)
            {
                last = "timed out";
            }

            await Task.Delay(250);
        }

        Assert.Fail($"the embedding snippet's service was not ready within {StartupTimeout} (last /health/ready: {last})\n{service}");
    }

    [GeneratedRegex("ModelId = \"([^\"]+)\"")]
    private static partial Regex ModelIdPattern();

    [GeneratedRegex("UserAddress = \"(0x[0-9a-fA-F]{40})\"")]
    private static partial Regex UserAddressPattern();

    [GeneratedRegex("^0x[0-9a-fA-F]{40}$")]
    private static partial Regex AddressLinePattern();
}
