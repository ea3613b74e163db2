using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Tests.Chain;

namespace ContractsApi.Tests.EndToEnd;

/// <summary>The in-process flows through the composed host get an anvil of their own, so they run beside the published-host tests.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndGroup : ICollectionFixture<DevChainFixture>
{
    public const string Name = "end to end";
}

[Collection(EndToEndGroup.Name)]
public sealed class DeploymentFlowTests(DevChainFixture fixture)
{
    private static string NewModel(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    private static async Task<JsonElement> PollUntilFinalAsync(HttpClient client, string statusUrl)
    {
        for (var i = 0; i < 600; i++)
        {
            using var response = await client.GetAsync(new Uri(statusUrl, UriKind.Absolute));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var data = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data");
            if (data.GetProperty("status").GetString() is "completed" or "failed" or "cancelled")
            {
                return data;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("deployment did not finish");
    }

    [Fact]
    public async Task PostDeployment_ValidRequest_TokenExistsOnChainAsReported()
    {
        await using var host = new ComposedHost(fixture.Chain);
        using var client = host.CreateApiClient();
        using var rpc = new JsonRpc(fixture.Chain.RpcUrl);
        var model = NewModel("flow");
        var user = fixture.Chain.TestAccounts[0].Address;

        using var post = await client.PostAsJsonAsync(new Uri("/api/deployments", UriKind.Relative), new
        {
            modelId = model,
            userAddress = user,
            tokenName = "Flow Token",
            tokenSymbol = "FLOW",
            initialSupply = "2500000000000000000000",
            performanceMetric = "f1",
        });

        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var accepted = (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data");
        Assert.Equal("pending", accepted.GetProperty("status").GetString());
        var statusUrl = accepted.GetProperty("links").GetProperty("status").GetString()!;
        Assert.Equal(statusUrl, post.Headers.Location!.OriginalString);

        var done = await PollUntilFinalAsync(client, statusUrl);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(100, done.GetProperty("progress").GetInt32());
        var details = done.GetProperty("tokenDetails");
        var token = details.GetProperty("tokenAddress").GetString()!;
        Assert.Equal("Flow Token", await rpc.CallStringAsync(token, "name()"));
        Assert.Equal("FLOW", await rpc.CallStringAsync(token, "symbol()"));
        Assert.Equal(fixture.Chain.TokenManagerAddress.ToLowerInvariant(), await rpc.CallAddressAsync(token, "controller()"));
        Assert.Equal(token.ToLowerInvariant(), await rpc.CallAddressAsync(fixture.Chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(model)));
        Assert.Equal(BigInteger.Parse("2500000000000000000000", System.Globalization.CultureInfo.InvariantCulture), await rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(user)));
        Assert.Equal(fixture.Chain.ChainId, details.GetProperty("chainId").GetInt64());
        Assert.StartsWith("0x", details.GetProperty("registryTransactionHash").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("0x", details.GetProperty("mintTransactionHash").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostDeployment_ModelOnChainButStoreWiped_Returns409TokenAlreadyExists()
    {
        var model = NewModel("wiped");
        var user = fixture.Chain.TestAccounts[1].Address;
        await using (var first = new ComposedHost(fixture.Chain))
        {
            using var client = first.CreateApiClient();
            using var post = await client.PostAsJsonAsync(new Uri("/api/deployments", UriKind.Relative), new { modelId = model, userAddress = user });
            var statusUrl = (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetProperty("links").GetProperty("status").GetString()!;
            Assert.Equal("completed", (await PollUntilFinalAsync(client, statusUrl)).GetProperty("status").GetString());
        }

        // A new process: its in-memory store knows nothing of the model, the registry on chain does.
        await using var second = new ComposedHost(fixture.Chain);
        using var again = second.CreateApiClient();
        using var conflict = await again.PostAsJsonAsync(new Uri("/api/deployments", UriKind.Relative), new { modelId = model, userAddress = user });

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var error = (await conflict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("TOKEN_ALREADY_EXISTS", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task PostDeployment_SixthInAnHour_Returns429WithRetryAfter()
    {
        await using var host = new ComposedHost(fixture.Chain);
        using var client = host.CreateApiClient();
        var user = fixture.Chain.TestAccounts[2].Address;
        for (var i = 0; i < 5; i++)
        {
            using var ok = await client.PostAsJsonAsync(new Uri("/api/deployments", UriKind.Relative), new { modelId = NewModel("quota"), userAddress = user });
            Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        }

        using var sixth = await client.PostAsJsonAsync(new Uri("/api/deployments", UriKind.Relative), new { modelId = NewModel("quota"), userAddress = user });

        Assert.Equal(HttpStatusCode.TooManyRequests, sixth.StatusCode);
        Assert.True(sixth.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("RATE_LIMIT_EXCEEDED", (await sixth.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Routes_ComposedHost_ServeHealthOpenApiAndEnvelopes()
    {
        await using var host = new ComposedHost(fixture.Chain);
        using var client = host.CreateApiClient();

        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        using var openApi = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        using var unknown = await client.GetAsync(new Uri("/api/nothing-here", UriKind.Relative));
        using var bad = await client.PostAsync(new Uri("/api/deployments", UriKind.Relative), new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        Assert.Contains("/api/deployments/{id}/status", await openApi.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("NOT_FOUND", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True(bad.Headers.Contains("X-Request-Id"));
        Assert.Equal("nosniff", bad.Headers.GetValues("X-Content-Type-Options").Single());
    }
}
