using System.Numerics;
using Hokusai.Contracts.Chain;
using Nethereum.Util;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary><c>TokenManager.deployToken</c>, <c>predictTokenAddress</c> and the registry's registrars on anvil: every path, every revert.</summary>
[Collection(DevChainGroup.Name)]
public sealed class FactoryContractTests(DevChainFixture fixture)
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static string NewModelId() => "f-" + Guid.NewGuid().ToString("N")[..12];

    private static DeploymentRequest Request(string modelId, long supply, string recipient) => new()
    {
        ModelId = modelId,
        UserAddress = recipient,
        TokenName = "Factory " + modelId,
        TokenSymbol = "FCT",
        InitialSupply = supply,
        PerformanceMetric = "f1",
    };

    private static async Task<ChainReceipt> SendAsync(NethereumChainClient client, PreparedTransaction transaction)
    {
        await client.BroadcastAsync(transaction, Timeout);
        return await client.WaitForReceiptAsync(transaction.Hash, null, Timeout);
    }

    [Fact]
    public async Task DeployToken_Deployer_CreatesAtPredictedAddressRegistersAndMints()
    {
        var client = fixture.CreateClient();
        var user = fixture.Chain.TestAccounts[2].Address;
        var request = Request(NewModelId(), 1234, user);
        var predicted = client.PredictTokenAddress(request);

        var prepared = await client.PrepareFactoryDeploymentAsync(request, null, Timeout);
        var receipt = await SendAsync(client, prepared);

        Assert.True(receipt.Succeeded);
        Assert.Equal(predicted, prepared.ContractAddress);
        Assert.NotEqual("0x", await fixture.Rpc.CodeAsync(predicted));
        Assert.Equal(predicted.ToLowerInvariant(), (await fixture.Rpc.CallAddressAsync(fixture.Chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(request.ModelId))).ToLowerInvariant());
        Assert.Equal(fixture.Chain.TokenManagerAddress.ToLowerInvariant(), (await fixture.Rpc.CallAddressAsync(predicted, "controller()")).ToLowerInvariant());
        Assert.Equal(request.TokenName, await fixture.Rpc.CallStringAsync(predicted, "name()"));
        Assert.Equal(new BigInteger(1234), await fixture.Rpc.CallUintAsync(predicted, "balanceOf(address)", JsonRpc.AddressArg(user)));
        Assert.Equal(predicted.ToLowerInvariant(), (await fixture.Rpc.CallAddressAsync(fixture.Chain.TokenManagerAddress, "predictTokenAddress(string,string,string)", JsonRpc.StringArg(request.ModelId), JsonRpc.StringArg(request.TokenName), JsonRpc.StringArg(request.TokenSymbol))).ToLowerInvariant());
    }

    [Fact]
    public async Task DeployToken_ZeroSupply_RegistersWithoutMinting()
    {
        var client = fixture.CreateClient();
        var request = Request(NewModelId(), 0, fixture.Chain.TestAccounts[2].Address);

        await SendAsync(client, await client.PrepareFactoryDeploymentAsync(request, null, Timeout));

        var token = client.PredictTokenAddress(request);
        Assert.Equal(BigInteger.Zero, await fixture.Rpc.CallUintAsync(token, "totalSupply()"));
        Assert.True(await fixture.Rpc.CallBoolAsync(fixture.Chain.ModelRegistryAddress, "isRegistered(string)", JsonRpc.StringArg(request.ModelId)));
    }

    [Fact]
    public async Task DeployToken_SecondTimeForModel_RevertsModelAlreadyHasToken()
    {
        var client = fixture.CreateClient();
        var request = Request(NewModelId(), 1, fixture.Chain.TestAccounts[2].Address);
        await SendAsync(client, await client.PrepareFactoryDeploymentAsync(request, null, Timeout));

        // Other name and symbol: another CREATE2 address, still refused for the model.
        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareFactoryDeploymentAsync(request with { TokenName = "Other", TokenSymbol = "OTH" }, null, Timeout));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("ModelAlreadyHasToken", error.RevertReason);
    }

    [Fact]
    public async Task DeployToken_ModelRegisteredByOwner_RevertsModelAlreadyHasToken()
    {
        var client = fixture.CreateClient();
        var modelId = NewModelId();
        var token = (await SendAsync(client, await client.PrepareTokenDeploymentAsync("T", "T", null, Timeout))).ContractAddress!;
        await SendAsync(client, await client.PrepareRegistrationAsync(modelId, token, "accuracy", null, Timeout));

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareFactoryDeploymentAsync(Request(modelId, 0, client.DeployerAddress), null, Timeout));

        Assert.Equal("ModelAlreadyHasToken", error.RevertReason);
    }

    [Fact]
    public async Task DeployToken_CallerWithoutDeployerRole_RevertsNotDeployer()
    {
        var stranger = fixture.CreateClient(o => o.DeployerPrivateKey = fixture.Chain.TestAccounts[3].PrivateKey);

        var error = await Assert.ThrowsAsync<ChainException>(() => stranger.PrepareFactoryDeploymentAsync(Request(NewModelId(), 1, stranger.DeployerAddress), null, Timeout));

        Assert.Equal("NotDeployer", error.RevertReason);
    }

    [Fact]
    public async Task DeployToken_InvalidModelId_RevertsInvalidModelIdFromRegistry()
    {
        var client = fixture.CreateClient();

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareFactoryDeploymentAsync(Request("bad id!", 1, client.DeployerAddress), null, Timeout));

        Assert.Equal("InvalidModelId", error.RevertReason);
    }

    [Fact]
    public async Task DeployToken_SupplyToZeroAddress_RevertsZeroAddress()
    {
        var client = fixture.CreateClient();

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareFactoryDeploymentAsync(Request(NewModelId(), 5, AddressUtil.ZERO_ADDRESS), null, Timeout));

        Assert.Equal("ZeroAddress", error.RevertReason);
    }

    [Fact]
    public async Task LegacyBootstrap_ManagerNotRegistrar_DeployTokenRevertsAndAutoDetectsLegacy()
    {
        var legacy = await ContractsBootstrapper.DeployAsync(fixture.Options(), factory: false, null, Timeout);
        var client = fixture.CreateClient(o =>
        {
            o.ModelRegistryAddress = legacy.ModelRegistryAddress;
            o.TokenManagerAddress = legacy.TokenManagerAddress;
        });

        var support = await client.GetFactorySupportAsync(Timeout);
        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareFactoryDeploymentAsync(Request(NewModelId(), 1, client.DeployerAddress), null, Timeout));

        Assert.False(support.Available);
        Assert.True(support.ManagerHasFactory);
        Assert.False(support.ManagerIsRegistrar);
        Assert.False(support.DeployerHasRole);
        // Without DEPLOYER_ROLE the manager refuses first.
        Assert.Equal("NotDeployer", error.RevertReason);

        // With the role but without the registrar role, the registry refuses the manager.
        await SendAsync(client, await client.PrepareCallAsync(legacy.TokenManagerAddress, new GrantRoleFunction { Role = NethereumChainClient.DeployerRole, Account = client.DeployerAddress }, null, Timeout));
        var refused = await Assert.ThrowsAsync<ChainException>(() => client.PrepareFactoryDeploymentAsync(Request(NewModelId(), 1, client.DeployerAddress), null, Timeout));
        Assert.Equal("OwnableUnauthorizedAccount", refused.RevertReason);
    }

    [Fact]
    public async Task FactoryBootstrap_AllConditionsHold_AutoDetectsFactory()
    {
        var support = await fixture.CreateClient().GetFactorySupportAsync(Timeout);

        Assert.True(support.Available, support.Describe());
    }

    [Fact]
    public async Task SetRegistrar_StrangerOrZeroAddress_Reverts()
    {
        var owner = fixture.CreateClient();
        var stranger = fixture.CreateClient(o => o.DeployerPrivateKey = fixture.Chain.TestAccounts[3].PrivateKey);

        var notOwner = await Assert.ThrowsAsync<ChainException>(() => stranger.PrepareCallAsync(fixture.Chain.ModelRegistryAddress, new SetRegistrarFunction { Account = stranger.DeployerAddress, Allowed = true }, null, Timeout));
        var zero = await Assert.ThrowsAsync<ChainException>(() => owner.PrepareCallAsync(fixture.Chain.ModelRegistryAddress, new SetRegistrarFunction { Account = AddressUtil.ZERO_ADDRESS, Allowed = true }, null, Timeout));

        Assert.Equal("OwnableUnauthorizedAccount", notOwner.RevertReason);
        Assert.Equal("ZeroAddress", zero.RevertReason);
    }

    [Fact]
    public async Task RegisterModel_RegistrarAccount_RegistersUntilRevoked()
    {
        var owner = fixture.CreateClient();
        var registrarKey = fixture.Chain.TestAccounts[3];
        var registrar = fixture.CreateClient(o => o.DeployerPrivateKey = registrarKey.PrivateKey);
        var token = (await SendAsync(owner, await owner.PrepareTokenDeploymentAsync("R", "R", null, Timeout))).ContractAddress!;
        await SendAsync(owner, await owner.PrepareCallAsync(fixture.Chain.ModelRegistryAddress, new SetRegistrarFunction { Account = registrarKey.Address, Allowed = true }, null, Timeout));

        var modelId = NewModelId();
        await SendAsync(registrar, await registrar.PrepareRegistrationAsync(modelId, token, "accuracy", null, Timeout));
        await SendAsync(owner, await owner.PrepareCallAsync(fixture.Chain.ModelRegistryAddress, new SetRegistrarFunction { Account = registrarKey.Address, Allowed = false }, null, Timeout));
        var token2 = (await SendAsync(owner, await owner.PrepareTokenDeploymentAsync("R2", "R2", null, Timeout))).ContractAddress!;
        var revoked = await Assert.ThrowsAsync<ChainException>(() => registrar.PrepareRegistrationAsync(NewModelId(), token2, "accuracy", null, Timeout));

        Assert.Equal(token.ToLowerInvariant(), (await fixture.Rpc.CallAddressAsync(fixture.Chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(modelId))).ToLowerInvariant());
        Assert.Equal("OwnableUnauthorizedAccount", revoked.RevertReason);
    }

    [Theory]
    [InlineData("m", "N", "S")]
    [InlineData("model_with-64-chars-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "A long token name with ünïcödé", "SYM")]
    public async Task PredictTokenAddress_OffChain_EqualsOnChainView(string modelId, string name, string symbol)
    {
        var offChain = TokenAddressPredictor.Predict(fixture.Chain.TokenManagerAddress, modelId, name, symbol);

        var onChain = await fixture.Rpc.CallAddressAsync(fixture.Chain.TokenManagerAddress, "predictTokenAddress(string,string,string)", JsonRpc.StringArg(modelId), JsonRpc.StringArg(name), JsonRpc.StringArg(symbol));

        Assert.Equal(offChain.ToLowerInvariant(), onChain.ToLowerInvariant());
    }
}
