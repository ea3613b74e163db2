using System.Numerics;
using Hokusai.Contracts.Chain;
using Nethereum.ABI.FunctionEncoding.Attributes;
using Nethereum.Contracts;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>The Solidity contracts' rules, exercised on anvil through the engine.</summary>
[Collection(DevChainGroup.Name)]
public sealed class ContractBehaviourTests(DevChainFixture fixture)
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Function("mint")]
    public sealed class MintFunction : FunctionMessage
    {
        [Parameter("address", "to", 1)] public string To { get; set; } = "";
        [Parameter("uint256", "amount", 2)] public BigInteger Amount { get; set; }
    }

    [Function("burn")]
    public sealed class BurnFunction : FunctionMessage
    {
        [Parameter("uint256", "amount", 1)] public BigInteger Amount { get; set; }
    }

    [Function("setController")]
    public sealed class SetControllerFunction : FunctionMessage
    {
        [Parameter("address", "newController", 1)] public string NewController { get; set; } = "";
    }

    [Function("burnTokens")]
    public sealed class BurnTokensFunction : FunctionMessage
    {
        [Parameter("string", "modelId", 1)] public string ModelId { get; set; } = "";
        [Parameter("address", "from", 2)] public string From { get; set; } = "";
        [Parameter("uint256", "amount", 3)] public BigInteger Amount { get; set; }
    }

    private static async Task<ChainReceipt> SendAsync(NethereumChainClient client, PreparedTransaction transaction)
    {
        await client.BroadcastAsync(transaction, Timeout);
        return await client.WaitForReceiptAsync(transaction.Hash, null, Timeout);
    }

    private async Task<(string ModelId, string Token)> RegisteredTokenAsync(NethereumChainClient owner)
    {
        var modelId = "m-" + Guid.NewGuid().ToString("N")[..10];
        var token = (await SendAsync(owner, await owner.PrepareTokenDeploymentAsync("T", "T", null, Timeout))).ContractAddress!;
        await SendAsync(owner, await owner.PrepareRegistrationAsync(modelId, token, "accuracy", null, Timeout));
        return (modelId, token);
    }

    [Fact]
    public async Task TokenMint_CallerNotController_RevertsOnlyController()
    {
        var owner = fixture.CreateClient();
        var (_, token) = await RegisteredTokenAsync(owner);

        var error = await Assert.ThrowsAsync<ChainException>(() => owner.PrepareCallAsync(token, new MintFunction { To = owner.DeployerAddress, Amount = 1 }, null, Timeout));

        Assert.Equal("OnlyController", error.RevertReason);
    }

    [Fact]
    public async Task TokenBurn_Holder_BurnsOwnBalance()
    {
        var owner = fixture.CreateClient();
        var holderKey = fixture.Chain.TestAccounts[0];
        var holder = fixture.CreateClient(o => o.DeployerPrivateKey = holderKey.PrivateKey);
        var (modelId, token) = await RegisteredTokenAsync(owner);
        await SendAsync(owner, await owner.PrepareMintAsync(modelId, holderKey.Address, 100, null, Timeout));

        await SendAsync(holder, await holder.PrepareCallAsync(token, new BurnFunction { Amount = 40 }, null, Timeout));

        Assert.Equal(new BigInteger(60), await fixture.Rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(holderKey.Address)));
        Assert.Equal(new BigInteger(60), await fixture.Rpc.CallUintAsync(token, "totalSupply()"));
    }

    [Fact]
    public async Task BurnTokens_Admin_BurnsFromHolderThroughManager()
    {
        var owner = fixture.CreateClient();
        var holder = fixture.Chain.TestAccounts[1].Address;
        var (modelId, token) = await RegisteredTokenAsync(owner);
        await SendAsync(owner, await owner.PrepareMintAsync(modelId, holder, 100, null, Timeout));

        await SendAsync(owner, await owner.PrepareCallAsync(fixture.Chain.TokenManagerAddress, new BurnTokensFunction { ModelId = modelId, From = holder, Amount = 30 }, null, Timeout));

        Assert.Equal(new BigInteger(70), await fixture.Rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(holder)));
    }

    [Fact]
    public async Task SetController_OwnerAndStranger_OnlyOwnerMayChangeIt()
    {
        var owner = fixture.CreateClient();
        var stranger = fixture.CreateClient(o => o.DeployerPrivateKey = fixture.Chain.TestAccounts[3].PrivateKey);
        var (_, token) = await RegisteredTokenAsync(owner);
        var newController = fixture.Chain.TestAccounts[1].Address;

        var error = await Assert.ThrowsAsync<ChainException>(() => stranger.PrepareCallAsync(token, new SetControllerFunction { NewController = newController }, null, Timeout));
        await SendAsync(owner, await owner.PrepareCallAsync(token, new SetControllerFunction { NewController = newController }, null, Timeout));

        Assert.Equal("OwnableUnauthorizedAccount", error.RevertReason);
        Assert.Equal(newController.ToLowerInvariant(), await fixture.Rpc.CallAddressAsync(token, "controller()"));
    }

    [Fact]
    public async Task RegisterModel_NotRegistryOwner_RevertsOwnableUnauthorizedAccount()
    {
        var owner = fixture.CreateClient();
        var stranger = fixture.CreateClient(o => o.DeployerPrivateKey = fixture.Chain.TestAccounts[3].PrivateKey);
        var token = (await SendAsync(owner, await owner.PrepareTokenDeploymentAsync("T", "T", null, Timeout))).ContractAddress!;

        var error = await Assert.ThrowsAsync<ChainException>(() => stranger.PrepareRegistrationAsync("stranger-model", token, "accuracy", null, Timeout));

        Assert.Equal("OwnableUnauthorizedAccount", error.RevertReason);
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public async Task RegisterModel_IdLength_AcceptedUpTo64(int length, bool accepted)
    {
        var owner = fixture.CreateClient();
        var token = (await SendAsync(owner, await owner.PrepareTokenDeploymentAsync("T", "T", null, Timeout))).ContractAddress!;
        var modelId = (Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N") + "_-xyz")[..length];

        if (accepted)
        {
            Assert.True((await SendAsync(owner, await owner.PrepareRegistrationAsync(modelId, token, "accuracy", null, Timeout))).Succeeded);
        }
        else
        {
            var error = await Assert.ThrowsAsync<ChainException>(() => owner.PrepareRegistrationAsync(modelId, token, "accuracy", null, Timeout));
            Assert.Equal("InvalidModelId", error.RevertReason);
        }
    }
}
