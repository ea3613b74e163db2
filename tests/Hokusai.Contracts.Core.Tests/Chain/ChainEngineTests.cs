using System.Numerics;
using Hokusai.Contracts.Chain;
using Nethereum.Web3;
using Nethereum.Web3.Accounts;

namespace Hokusai.Contracts.Tests.Chain;

[Collection(DevChainGroup.Name)]
public sealed class ChainEngineTests(DevChainFixture fixture)
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static string NewModelId() => "model-" + Guid.NewGuid().ToString("N")[..12];

    private async Task<ChainReceipt> SendAsync(IChainClient client, PreparedTransaction transaction, IProgress<string>? progress = null)
    {
        await client.BroadcastAsync(transaction, Timeout);
        return await client.WaitForReceiptAsync(transaction.Hash, progress, Timeout);
    }

    [Fact]
    public async Task DeployRegisterMint_ThroughEngine_ReadableThroughPlainJsonRpc()
    {
        var client = fixture.CreateClient();
        var rpc = fixture.Rpc;
        var chain = fixture.Chain;
        var modelId = NewModelId();
        var holder = chain.TestAccounts[0].Address;
        var progress = new RecordingProgress();

        var deployment = await client.PrepareTokenDeploymentAsync("Model Token", "MDL", progress, Timeout);
        var deployed = await SendAsync(client, deployment, progress);
        Assert.True(deployed.Succeeded);
        Assert.Equal(deployment.ContractAddress, deployed.ContractAddress);
        Assert.True(deployed.GasUsed > 0);
        Assert.True(deployed.EffectiveGasPrice > 0);
        var token = deployed.ContractAddress!;

        var registration = await client.PrepareRegistrationAsync(modelId, token, "f1", null, Timeout);
        Assert.True((await SendAsync(client, registration)).Succeeded);
        var mint = await client.PrepareMintAsync(modelId, holder, new BigInteger(1_000_000), null, Timeout);
        Assert.True((await SendAsync(client, mint)).Succeeded);

        Assert.Equal("Model Token", await rpc.CallStringAsync(token, "name()"));
        Assert.Equal("MDL", await rpc.CallStringAsync(token, "symbol()"));
        Assert.Equal(chain.TokenManagerAddress.ToLowerInvariant(), await rpc.CallAddressAsync(token, "controller()"));
        Assert.Equal(token.ToLowerInvariant(), await rpc.CallAddressAsync(chain.ModelRegistryAddress, "getToken(string)", JsonRpc.StringArg(modelId)));
        Assert.True(await rpc.CallBoolAsync(chain.ModelRegistryAddress, "isRegistered(string)", JsonRpc.StringArg(modelId)));
        Assert.Equal(modelId, await rpc.CallStringAsync(chain.ModelRegistryAddress, "getModelId(address)", JsonRpc.AddressArg(token)));
        var model = await rpc.EthCallAsync(chain.ModelRegistryAddress, "getModel(string)", JsonRpc.StringArg(modelId));
        Assert.Equal("f1", JsonRpc.DecodeString(model, 2, baseOffset: 32));
        Assert.Equal(new BigInteger(1_000_000), await rpc.CallUintAsync(token, "balanceOf(address)", JsonRpc.AddressArg(holder)));
        Assert.Equal(new BigInteger(1_000_000), await rpc.CallUintAsync(token, "totalSupply()"));
        Assert.Equal(token, await client.GetRegisteredTokenAsync(modelId, Timeout));
        Assert.Contains(progress.Reports, r => r.StartsWith("Mined in block", StringComparison.Ordinal));
        Assert.Contains(progress.Reports, r => r.StartsWith("Signed ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PrepareRegistration_ModelAlreadyRegistered_ThrowsRevertedWithCustomErrorName()
    {
        var client = fixture.CreateClient();
        var modelId = NewModelId();
        var first = (await SendAsync(client, await client.PrepareTokenDeploymentAsync("A", "A", null, Timeout))).ContractAddress!;
        var second = (await SendAsync(client, await client.PrepareTokenDeploymentAsync("B", "B", null, Timeout))).ContractAddress!;
        await SendAsync(client, await client.PrepareRegistrationAsync(modelId, first, "accuracy", null, Timeout));

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareRegistrationAsync(modelId, second, "accuracy", null, Timeout));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("ModelAlreadyRegistered", error.RevertReason);
        Assert.Contains(modelId, error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task PrepareRegistration_TokenAlreadyRegistered_ThrowsRevertedWithCustomErrorName()
    {
        var client = fixture.CreateClient();
        var token = (await SendAsync(client, await client.PrepareTokenDeploymentAsync("A", "A", null, Timeout))).ContractAddress!;
        await SendAsync(client, await client.PrepareRegistrationAsync(NewModelId(), token, "accuracy", null, Timeout));

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareRegistrationAsync(NewModelId(), token, "accuracy", null, Timeout));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("TokenAlreadyRegistered", error.RevertReason);
    }

    [Fact]
    public async Task PrepareRegistration_InvalidModelId_ThrowsRevertedInvalidModelId()
    {
        var client = fixture.CreateClient();
        var token = (await SendAsync(client, await client.PrepareTokenDeploymentAsync("A", "A", null, Timeout))).ContractAddress!;

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareRegistrationAsync("bad id!", token, "accuracy", null, Timeout));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("InvalidModelId", error.RevertReason);
    }

    [Fact]
    public async Task WaitForReceipt_TransactionRevertedOnChain_ThrowsRevertedWithReasonFromReplay()
    {
        var client = fixture.CreateClient();
        var modelId = NewModelId();
        var first = (await SendAsync(client, await client.PrepareTokenDeploymentAsync("A", "A", null, Timeout))).ContractAddress!;
        var second = (await SendAsync(client, await client.PrepareTokenDeploymentAsync("B", "B", null, Timeout))).ContractAddress!;
        // Both estimate fine because neither is mined yet; the second fails on chain.
        var winner = await client.PrepareRegistrationAsync(modelId, first, "accuracy", null, Timeout);
        var loser = await client.PrepareRegistrationAsync(modelId, second, "accuracy", null, Timeout);
        await client.BroadcastAsync(winner, Timeout);
        await client.BroadcastAsync(loser, Timeout);
        await client.WaitForReceiptAsync(winner.Hash, null, Timeout);

        var error = await Assert.ThrowsAsync<ChainException>(() => client.WaitForReceiptAsync(loser.Hash, null, Timeout));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("ModelAlreadyRegistered", error.RevertReason);
        var lookup = await client.LookupAsync(loser.Hash, Timeout);
        Assert.Equal(TransactionState.Mined, lookup.State);
        Assert.False(lookup.Receipt!.Succeeded);
    }

    [Fact]
    public async Task PrepareMint_UnregisteredModel_ThrowsRevertedModelNotRegistered()
    {
        var client = fixture.CreateClient();

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareMintAsync(NewModelId(), fixture.Chain.TestAccounts[0].Address, 5, null, Timeout));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("ModelNotRegistered", error.RevertReason);
    }

    [Fact]
    public async Task PrepareMint_SignerWithoutMinterRole_ThrowsRevertedNotMinter()
    {
        var client = fixture.CreateClient(o => o.DeployerPrivateKey = fixture.Chain.TestAccounts[3].PrivateKey);
        var owner = fixture.CreateClient();
        var modelId = NewModelId();
        var token = (await SendAsync(owner, await owner.PrepareTokenDeploymentAsync("A", "A", null, Timeout))).ContractAddress!;
        await SendAsync(owner, await owner.PrepareRegistrationAsync(modelId, token, "accuracy", null, Timeout));

        var error = await Assert.ThrowsAsync<ChainException>(() => client.PrepareMintAsync(modelId, client.DeployerAddress, 5, null, Timeout));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("NotMinter", error.RevertReason);
        var status = await client.GetStatusAsync(Timeout);
        Assert.False(status.DeployerCanMint);
        Assert.False(status.DeployerOwnsRegistry);
    }

    [Fact]
    public async Task PrepareTokenDeployment_FiftyConcurrentFromOneKey_AllMinedWithConsecutiveNonces()
    {
        var client = fixture.CreateClient();
        await client.ResyncNonceAsync(Timeout);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            var transaction = await client.PrepareTokenDeploymentAsync($"Token {i}", $"T{i}", null, Timeout);
            var receipt = await SendAsync(client, transaction);
            return (transaction, receipt);
        }));

        Assert.All(results, r => Assert.True(r.receipt.Succeeded));
        Assert.All(results, r => Assert.Equal(r.transaction.ContractAddress, r.receipt.ContractAddress));
        var nonces = results.Select(r => r.transaction.Nonce).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => nonces[0] + (ulong)i), nonces);
        foreach (var (_, receipt) in results.Take(5))
        {
            Assert.NotEqual("0x", await fixture.Rpc.CodeAsync(receipt.ContractAddress!));
        }
    }

    [Fact]
    public async Task PrepareTokenDeployment_Eip1559Chain_SendsType2WithinQuotedFees()
    {
        var client = fixture.CreateClient();
        var transaction = await client.PrepareTokenDeploymentAsync("Typed", "TY", null, Timeout);
        var receipt = await SendAsync(client, transaction);

        var sent = await fixture.Rpc.CallRawAsync("eth_getTransactionByHash", transaction.Hash);
        Assert.Equal("0x2", sent.GetProperty("type").GetString());
        var maxFee = JsonRpc.ParseQuantity(sent.GetProperty("maxFeePerGas").GetString()!);
        var tip = JsonRpc.ParseQuantity(sent.GetProperty("maxPriorityFeePerGas").GetString()!);
        Assert.True(receipt.EffectiveGasPrice <= maxFee);
        Assert.True(maxFee > tip);
        var gasLimit = JsonRpc.ParseQuantity(sent.GetProperty("gas").GetString()!);
        Assert.True(gasLimit >= receipt.GasUsed * 11 / 10, $"gas limit {gasLimit} should carry the 1.2x margin over {receipt.GasUsed}");
    }

    [Fact]
    public async Task PrepareTokenDeployment_LegacyPricing_SendsType0AtGasPrice()
    {
        var client = fixture.CreateClient(fixture.Options(), legacy: true);
        var transaction = await client.PrepareTokenDeploymentAsync("Legacy", "LG", null, Timeout);
        var receipt = await SendAsync(client, transaction);

        var sent = await fixture.Rpc.CallRawAsync("eth_getTransactionByHash", transaction.Hash);
        Assert.True(receipt.Succeeded);
        Assert.Equal(transaction.ContractAddress, receipt.ContractAddress);
        Assert.Equal("0x0", sent.GetProperty("type").GetString());
        Assert.Equal(JsonRpc.ParseQuantity(sent.GetProperty("gasPrice").GetString()!), receipt.EffectiveGasPrice);
        Assert.Equal(fixture.Chain.ChainId, (long)JsonRpc.ParseQuantity(sent.GetProperty("chainId").GetString()!));
    }

    [Fact]
    public async Task PrepareTokenDeployment_ParallelBeforeAnyBroadcast_ConsecutiveNoncesMinedInAnyArrivalOrder()
    {
        var client = fixture.CreateClient();
        await client.ResyncNonceAsync(Timeout);

        var prepared = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => client.PrepareTokenDeploymentAsync($"P{i}", $"P{i}", null, Timeout)));
        var nonces = prepared.Select(p => p.Nonce).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => nonces[0] + (ulong)i), nonces);
        Assert.Equal(10, prepared.Select(p => p.ContractAddress).Distinct().Count());

        // Highest nonce first: the node holds the later ones until the gap closes.
        foreach (var transaction in prepared.OrderByDescending(p => p.Nonce))
        {
            await client.BroadcastAsync(transaction, Timeout);
        }

        var receipts = await Task.WhenAll(prepared.Select(p => client.WaitForReceiptAsync(p.Hash, null, Timeout)));
        Assert.All(receipts, r => Assert.True(r.Succeeded));
    }

    [Fact]
    public async Task Broadcast_SameTransactionTwice_SucceedsBothTimes()
    {
        var client = fixture.CreateClient();
        var transaction = await client.PrepareTokenDeploymentAsync("Twice", "TW", null, Timeout);

        await client.BroadcastAsync(transaction, Timeout);
        await client.BroadcastAsync(transaction, Timeout);
        var receipt = await client.WaitForReceiptAsync(transaction.Hash, null, Timeout);
        await client.BroadcastAsync(transaction, Timeout);

        Assert.True(receipt.Succeeded);
        Assert.Equal(TransactionState.Mined, (await client.LookupAsync(transaction.Hash, Timeout)).State);
    }

    [Fact]
    public async Task Lookup_UnknownHash_ReturnsUnknown()
    {
        var client = fixture.CreateClient();

        var lookup = await client.LookupAsync("0x" + new string('a', 64), Timeout);

        Assert.Equal(TransactionState.Unknown, lookup.State);
        Assert.Null(lookup.Receipt);
    }

    [Fact]
    public async Task GetRegisteredToken_UnknownModel_ReturnsNull()
    {
        var client = fixture.CreateClient();

        Assert.Null(await client.GetRegisteredTokenAsync(NewModelId(), Timeout));
    }

    [Fact]
    public async Task GetStatus_DevChainDeployer_OwnsRegistryAndCanMint()
    {
        var client = fixture.CreateClient();

        var status = await client.GetStatusAsync(Timeout);

        Assert.Equal(fixture.Chain.ChainId, status.ChainId);
        Assert.Equal(fixture.Chain.DeployerAddress, status.DeployerAddress);
        Assert.True(status.DeployerOwnsRegistry);
        Assert.True(status.DeployerCanMint);
        Assert.True(status.DeployerBalanceWei > 0);
        Assert.True(status.LatestBlock >= 3);
        Assert.Equal(fixture.Chain.RpcUrl, status.ActiveRpc);
        Assert.True(await fixture.Rpc.CallBoolAsync(fixture.Chain.TokenManagerAddress, "hasRole(bytes32,address)",
            "S" + Convert.ToHexStringLower(Nethereum.Util.Sha3Keccack.Current.CalculateHash("MINTER_ROLE"u8.ToArray())),
            JsonRpc.AddressArg(fixture.Chain.DeployerAddress)));
    }

    [Fact]
    public async Task Broadcast_NonceUsedOutsideEngine_ThrowsNonceConflictUntilResynced()
    {
        var key = fixture.Chain.TestAccounts[2];
        var client = fixture.CreateClient(o => o.DeployerPrivateKey = key.PrivateKey);
        await client.ResyncNonceAsync(Timeout);
        var stale = await client.PrepareTokenDeploymentAsync("Stale", "ST", null, Timeout);

        // Another sender with the same key takes that nonce.
        var web3 = new Web3(new Account(key.PrivateKey, fixture.Chain.ChainId), fixture.Chain.RpcUrl);
        var other = await web3.Eth.GetEtherTransferService().TransferEtherAndWaitForReceiptAsync(fixture.Chain.TestAccounts[0].Address, 0.001m);
        Assert.Equal(BigInteger.One, other.Status.Value);

        var error = await Assert.ThrowsAsync<ChainException>(() => client.BroadcastAsync(stale, Timeout));
        Assert.Equal(ChainErrorKind.NonceConflict, error.Kind);
        Assert.True(error.IsTransient);

        await client.ResyncNonceAsync(Timeout);
        var fresh = await client.PrepareTokenDeploymentAsync("Fresh", "FR", null, Timeout);
        Assert.Equal(stale.Nonce + 1, fresh.Nonce);
        Assert.True((await SendAsync(client, fresh)).Succeeded);
    }

    [Fact]
    public async Task Broadcast_SignerWithoutFunds_ThrowsInsufficientFunds()
    {
        var poor = Nethereum.Signer.EthECKey.GenerateKey();
        var client = fixture.CreateClient(o => o.DeployerPrivateKey = poor.GetPrivateKey());

        var error = await Assert.ThrowsAsync<ChainException>(async () =>
        {
            var transaction = await client.PrepareTokenDeploymentAsync("Poor", "PR", null, Timeout);
            await client.BroadcastAsync(transaction, Timeout);
        });

        Assert.Equal(ChainErrorKind.InsufficientFunds, error.Kind);
    }

    [Fact]
    public async Task WaitForReceipt_ConfirmationBlocks_WaitsForDepthAndReportsEachStage()
    {
        var client = fixture.CreateClient(o => o.ConfirmationBlocks = 3);
        var progress = new RecordingProgress();
        var transaction = await client.PrepareTokenDeploymentAsync("Deep", "DP", null, Timeout);
        await client.BroadcastAsync(transaction, Timeout);

        var wait = client.WaitForReceiptAsync(transaction.Hash, progress, Timeout);
        await Task.Delay(500);
        Assert.False(wait.IsCompleted);
        await fixture.Rpc.MineAsync(3);
        var receipt = await wait;

        Assert.True(receipt.Succeeded);
        Assert.Contains(progress.Reports, r => r.StartsWith("Mined in block", StringComparison.Ordinal));
        Assert.Contains("Confirmations 0/3", progress.Reports);
        Assert.Contains("Confirmations 3/3", progress.Reports);
        Assert.Equal("Confirmed (3 blocks)", progress.Reports[^1]);
    }

    [Fact]
    public async Task GetStatus_FirstRpcUrlDead_FailsOverToLiveOne()
    {
        var dead = $"http://127.0.0.1:{FreePort()}";
        // Its own key: a different URL set has its own nonce sequence.
        var client = fixture.CreateClient(o =>
        {
            o.DeployerPrivateKey = fixture.Chain.TestAccounts[1].PrivateKey;
            o.RpcUrls.Clear();
            o.RpcUrls.Add(dead);
            o.RpcUrls.Add(fixture.Chain.RpcUrl);
        });

        var status = await client.GetStatusAsync(Timeout);
        var transaction = await client.PrepareTokenDeploymentAsync("Failover", "FO", null, Timeout);
        var receipt = await SendAsync(client, transaction);

        Assert.Equal(fixture.Chain.RpcUrl, status.ActiveRpc);
        Assert.Equal(fixture.Chain.RpcUrl, client.ActiveRpc);
        Assert.True(receipt.Succeeded);
    }

    [Fact]
    public async Task GetStatus_AllRpcUrlsDead_ThrowsTransient()
    {
        var client = fixture.CreateClient(o =>
        {
            o.RpcUrls.Clear();
            o.RpcUrls.Add($"http://127.0.0.1:{FreePort()}");
            o.RpcUrls.Add($"http://127.0.0.1:{FreePort()}");
        });

        var error = await Assert.ThrowsAsync<ChainException>(() => client.GetStatusAsync(Timeout));

        Assert.Equal(ChainErrorKind.Transient, error.Kind);
        Assert.Contains("all 2 RPC endpoints failed", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task GetStatus_FirstRpcUrlAnswersHttpError_FailsOverToLiveOne(int status)
    {
        using var failing = new FailingEndpoint(status, hang: false);
        var client = fixture.CreateClient(o =>
        {
            o.RpcUrls.Clear();
            o.RpcUrls.Add(failing.Url);
            o.RpcUrls.Add(fixture.Chain.RpcUrl);
        });

        var status1 = await client.GetStatusAsync(Timeout);

        Assert.True(failing.Requests > 0);
        Assert.Equal(fixture.Chain.RpcUrl, status1.ActiveRpc);
    }

    [Fact]
    public async Task GetStatus_FirstRpcUrlHangs_TimesOutAndFailsOver()
    {
        using var hanging = new FailingEndpoint(200, hang: true);
        var client = fixture.CreateClient(o =>
        {
            o.RpcTimeout = TimeSpan.FromMilliseconds(500);
            o.RpcUrls.Clear();
            o.RpcUrls.Add(hanging.Url);
            o.RpcUrls.Add(fixture.Chain.RpcUrl);
        });

        var status = await client.GetStatusAsync(Timeout);

        Assert.Equal(fixture.Chain.RpcUrl, status.ActiveRpc);
    }

    /// <summary>An HTTP endpoint that answers every request with an error status, or never.</summary>
    private sealed class FailingEndpoint : IDisposable
    {
        private readonly System.Net.HttpListener _listener = new();
        private readonly CancellationTokenSource _stop = new();
        private int _requests;

        public FailingEndpoint(int status, bool hang)
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    System.Net.HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception)
                    {
                        return;
                    }

                    Interlocked.Increment(ref _requests);
                    if (hang)
                    {
                        continue;
                    }

                    context.Response.StatusCode = status;
                    context.Response.Close();
                }
            });
        }

        public string Url { get; }

        public int Requests => Volatile.Read(ref _requests);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Close();
            _stop.Dispose();
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
