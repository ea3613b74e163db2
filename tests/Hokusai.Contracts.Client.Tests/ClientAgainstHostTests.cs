using System.Numerics;
using Hokusai.Contracts.Tests.Chain;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.Client.Tests;

/// <summary>The typed client against the reference host and a real chain.</summary>
public sealed class ClientAgainstHostTests(HostFixture fixture) : IClassFixture<HostFixture>, IAsyncLifetime
{
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    private ServiceProvider _provider = null!;

    private IHokusaiContractsClient Client => _provider.GetRequiredService<IHokusaiContractsClient>();

    public Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddHokusaiContractsClient(o =>
        {
            o.BaseAddress = fixture.BaseAddress;
            o.ApiKey = HostFixture.ApiKey;
            o.PollInterval = TimeSpan.FromMilliseconds(100);
        });
        _provider = services.BuildServiceProvider();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _provider.DisposeAsync();

    [Fact]
    public async Task SubmitAndWait_OnDevChain_CompletesWithTheTokenAndSupplyOnChain()
    {
        var modelId = "client-" + Guid.NewGuid().ToString("N")[..12];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var accepted = await Client.SubmitAsync(
            new CreateDeploymentRequest { ModelId = modelId, UserAddress = Recipient, InitialSupply = CreateDeploymentRequest.WholeTokens(3) },
            cancellationToken: timeout.Token);
        var final = await Client.WaitForCompletionAsync(accepted.RequestId, timeout.Token);

        Assert.Equal(DeploymentState.Completed, final.Status);
        Assert.Equal(DeploymentStage.Done, final.CurrentStep);
        var token = final.TokenDetails!.TokenAddress;
        using var rpc = new JsonRpc(fixture.Chain.RpcUrl);
        Assert.Equal(
            token.ToLowerInvariant(),
            (await rpc.CallAddressAsync(fixture.Chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(modelId))).ToLowerInvariant());
        Assert.Equal(
            BigInteger.Parse(CreateDeploymentRequest.WholeTokens(3), System.Globalization.CultureInfo.InvariantCulture),
            await rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(Recipient)));
    }

    [Fact]
    public async Task SubmitAsync_SameIdempotencyKeyTwice_ReplaysTheSameJob()
    {
        var request = new CreateDeploymentRequest { ModelId = "client-" + Guid.NewGuid().ToString("N")[..12], UserAddress = Recipient };
        var key = "client-test-" + Guid.NewGuid().ToString("N");

        var first = await Client.SubmitAsync(request, key);
        var second = await Client.SubmitAsync(request, key);

        Assert.Equal(first.RequestId, second.RequestId);
        Assert.False(first.Replayed);
        Assert.True(second.Replayed);
    }

    [Fact]
    public async Task SubmitAsync_ModelAlreadyDeployed_ThrowsTokenAlreadyExists()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var request = new CreateDeploymentRequest { ModelId = "client-" + Guid.NewGuid().ToString("N")[..12], UserAddress = Recipient };
        var accepted = await Client.SubmitAsync(request, cancellationToken: timeout.Token);
        Assert.Equal(DeploymentState.Completed, (await Client.WaitForCompletionAsync(accepted.RequestId, timeout.Token)).Status);

        var ex = await Assert.ThrowsAsync<HokusaiApiException>(() => Client.SubmitAsync(request, cancellationToken: timeout.Token));

        Assert.Equal(HokusaiErrorCodes.TokenAlreadyExists, ex.Code);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, ex.StatusCode);
        Assert.False(string.IsNullOrEmpty(ex.RequestId));
    }

    [Fact]
    public async Task ListAsync_AfterSubmit_FindsTheJobByModel()
    {
        var modelId = "client-" + Guid.NewGuid().ToString("N")[..12];
        var accepted = await Client.SubmitAsync(new CreateDeploymentRequest { ModelId = modelId, UserAddress = Recipient });

        var list = await Client.ListAsync(new DeploymentListQuery { ModelId = modelId });

        var only = Assert.Single(list.Deployments);
        Assert.Equal(accepted.RequestId, only.RequestId);
        Assert.Equal(modelId, only.ModelId);
        Assert.Equal(1, list.Pagination.Total);
    }

    [Fact]
    public async Task GetStatusAsync_UnknownJob_ThrowsDeploymentNotFound()
    {
        var ex = await Assert.ThrowsAsync<HokusaiApiException>(() => Client.GetStatusAsync(Guid.NewGuid()));

        Assert.Equal(HokusaiErrorCodes.DeploymentNotFound, ex.Code);
    }

    [Fact]
    public async Task SubmitAsync_InvalidAddress_ThrowsValidationErrorNamingTheField()
    {
        var ex = await Assert.ThrowsAsync<HokusaiApiException>(() =>
            Client.SubmitAsync(new CreateDeploymentRequest { ModelId = "client-bad", UserAddress = "0x1234" }));

        Assert.Equal(HokusaiErrorCodes.ValidationError, ex.Code);
        Assert.Contains(ex.Error.Details!.Value.GetProperty("fields").EnumerateArray(), d => d.GetProperty("field").GetString() == "userAddress");
    }
}
