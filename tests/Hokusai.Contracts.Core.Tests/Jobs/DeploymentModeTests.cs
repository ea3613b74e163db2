using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.Jobs;

/// <summary>Factory and legacy mode through the real engine around the fake chain.</summary>
public sealed class DeploymentModeTests
{
    [Fact]
    public async Task Engine_FactoryAvailable_OneTransactionAndHashRepeated()
    {
        var chain = new FakeChainClient { FactoryEnabled = true };
        await using var h = EngineHarness.Create(chain: chain);
        await h.StartAsync();
        var accepted = (await h.Service.SubmitAsync(EngineHarness.Submission("factory-1", supply: 500), default)).Job!;

        var done = await h.WaitForAsync(accepted.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentMode.Factory, accepted.Mode);
        Assert.NotNull(accepted.PredictedTokenAddress);
        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(DeploymentMode.Factory, done.Mode);
        Assert.Equal(accepted.PredictedTokenAddress, done.TokenDetails!.TokenAddress);
        Assert.Equal(done.TokenDetails.TransactionHash, done.TokenDetails.RegistryTransactionHash);
        Assert.Equal(done.TokenDetails.TransactionHash, done.TokenDetails.MintTransactionHash);
        Assert.Null(done.Transactions.Registration);
        Assert.Null(done.Transactions.Mint);
        Assert.Equal(1, chain.Broadcasts);
        Assert.Equal(500, chain.Balances[EngineHarness.Request().UserAddress]);
        // The wire steps stay within the legacy set: deploying_token → confirming → done.
        Assert.Equal([DeploymentStep.Queued, DeploymentStep.DeployingToken, DeploymentStep.Confirming, DeploymentStep.Done], done.History.Select(e => e.Step).ToArray());
    }

    [Fact]
    public async Task Engine_FactoryUnavailable_AutoRunsLegacy()
    {
        var chain = new FakeChainClient { FactoryEnabled = false };
        await using var h = EngineHarness.Create(chain: chain);
        await h.StartAsync();
        var accepted = (await h.Service.SubmitAsync(EngineHarness.Submission("legacy-1", supply: 5), default)).Job!;

        var done = await h.WaitForAsync(accepted.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentMode.Legacy, done.Mode);
        Assert.Null(accepted.PredictedTokenAddress);
        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(3, chain.Broadcasts);
        Assert.NotEqual(done.TokenDetails!.TransactionHash, done.TokenDetails.RegistryTransactionHash);
    }

    [Fact]
    public async Task Engine_LegacyForcedWhileFactoryAvailable_RunsLegacyWithoutReadingSupport()
    {
        var chain = new FakeChainClient { FactoryEnabled = true };
        await using var h = EngineHarness.Create(o => o.Chain.DeploymentMode = DeploymentModeSetting.Legacy, chain: chain);
        await h.StartAsync();
        var accepted = (await h.Service.SubmitAsync(EngineHarness.Submission("forced-legacy"), default)).Job!;

        var done = await h.WaitForAsync(accepted.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentMode.Legacy, done.Mode);
        Assert.Equal(0, chain.FactorySupportReads);
        Assert.Equal(2, chain.Broadcasts);
    }

    [Fact]
    public async Task Engine_ModeUnknownAtAcceptance_FixedWhenStartedAndKept()
    {
        var chain = new FakeChainClient { FactoryEnabled = true, TransientFailuresLeft = 1 };
        await using var h = EngineHarness.Create(chain: chain);
        // The first chain call (the mode probe at acceptance) fails: the job is accepted without a mode.
        chain.RegistryReadFails = true;
        var accepted = (await h.Service.SubmitAsync(EngineHarness.Submission("late-mode"), default)).Job!;
        chain.RegistryReadFails = false;
        Assert.Null(accepted.Mode);

        await h.StartAsync();
        var done = await h.WaitForAsync(accepted.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(DeploymentMode.Factory, done.Mode);
        Assert.Equal(chain.PredictTokenAddress(accepted.Request), done.TokenDetails!.TokenAddress);
    }

    [Fact]
    public async Task Engine_FactoryModelAlreadyHasToken_FailsTokenAlreadyExists()
    {
        var chain = new FakeChainClient { FactoryEnabled = true };
        await using var h = EngineHarness.Create(chain: chain);
        var accepted = (await h.Service.SubmitAsync(EngineHarness.Submission("taken"), default)).Job!;
        // Registered on chain after acceptance (another service, a wiped store): the estimate reverts.
        chain.Registry["taken"] = "0x00000000000000000000000000000000000000AA";
        await h.StartAsync();

        var done = await h.WaitForAsync(accepted.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Failed, done.Status);
        Assert.Equal(ErrorCodes.TokenAlreadyExists, done.Error!.Code);
        Assert.Equal(0, chain.Broadcasts);
    }

    [Fact]
    public async Task Engine_LegacyMintRevertsAfterRegistration_JobHeldThenCompletesWhenFixed()
    {
        var chain = new FakeChainClient { RevertMintWith = "NotMinter" };
        await using var h = EngineHarness.Create(chain: chain);
        await h.StartAsync();
        var accepted = (await h.Service.SubmitAsync(EngineHarness.Submission("held", supply: 7), default)).Job!;

        var held = await h.WaitForAsync(accepted.Id, j => j.StepDetail?.Contains("could not be minted yet", StringComparison.Ordinal) == true);
        Assert.Equal(DeploymentStatus.Processing, held.Status);
        Assert.Equal(DeploymentStep.MintingTokens, held.Step);
        Assert.Equal(accepted.Id, await h.Store.GetModelClaimAsync("held", default));

        // The operator grants the role: the retry finishes the job.
        chain.RevertMintWith = null;
        var done = await h.WaitForAsync(accepted.Id, j => j.Status.IsFinal());

        Assert.Equal(DeploymentStatus.Completed, done.Status);
        Assert.Equal(7, chain.Balances[accepted.Request.UserAddress]);
        Assert.Equal(1, chain.TokensDeployed);
    }

    [Fact]
    public void Workflow_EveryRowOfBothModes_AdvancesToTableSuccessor()
    {
        foreach (var mode in new[] { DeploymentMode.Legacy, DeploymentMode.Factory })
        {
            foreach (var supply in new[] { 0L, 10L })
            {
                var job = DeploymentWorkflow.Start(new DeploymentJob
                {
                    Id = Guid.NewGuid(),
                    Owner = "o",
                    Request = EngineHarness.Request("w", supply),
                    RequestHash = "h",
                    CreatedAt = DateTimeOffset.UnixEpoch,
                    UpdatedAt = DateTimeOffset.UnixEpoch,
                }, mode);
                var visited = new List<DeploymentStep> { job.Step };
                for (var i = 0; i < 10 && !job.Status.IsFinal(); i++)
                {
                    var before = job.Progress;
                    job = DeploymentWorkflow.Advance(job);
                    Assert.True(job.Progress > before);
                    visited.Add(job.Step);
                }

                DeploymentStep[] expected = (mode, supply) switch
                {
                    (DeploymentMode.Factory, _) => [DeploymentStep.DeployingToken, DeploymentStep.Confirming, DeploymentStep.Done],
                    (_, 0) => [DeploymentStep.DeployingToken, DeploymentStep.RegisteringModel, DeploymentStep.Confirming, DeploymentStep.Done],
                    _ => [DeploymentStep.DeployingToken, DeploymentStep.RegisteringModel, DeploymentStep.MintingTokens, DeploymentStep.Confirming, DeploymentStep.Done],
                };
                Assert.Equal(expected, visited.ToArray());
                Assert.Equal(DeploymentStatus.Completed, job.Status);
                Assert.Equal(100, job.Progress);
            }
        }
    }

    [Theory]
    [InlineData("ModelAlreadyRegistered", ErrorCodes.TokenAlreadyExists)]
    [InlineData("TokenAlreadyRegistered", ErrorCodes.TokenAlreadyExists)]
    [InlineData("ModelAlreadyHasToken", ErrorCodes.TokenAlreadyExists)]
    [InlineData("OwnableUnauthorizedAccount", ErrorCodes.DeployerNotAuthorized)]
    [InlineData("AccessControlUnauthorizedAccount", ErrorCodes.DeployerNotAuthorized)]
    [InlineData("NotMinter", ErrorCodes.DeployerNotAuthorized)]
    [InlineData("NotDeployer", ErrorCodes.DeployerNotAuthorized)]
    [InlineData("InvalidModelId", ErrorCodes.TransactionReverted)]
    // A message that merely mentions a name is not that error: mapping is on the decoded name only.
    [InlineData("custom: ModelAlreadyRegistered elsewhere", ErrorCodes.TransactionReverted)]
    public void ErrorMapper_DecodedRevertName_MapsToCode(string reason, string code)
    {
        var mapper = new DeploymentErrorMapper(new FakeTimeProvider());
        var job = new DeploymentJob
        {
            Id = Guid.NewGuid(),
            Owner = "o",
            Request = EngineHarness.Request(),
            RequestHash = "h",
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch,
        };

        var error = mapper.Map(new ChainException(ChainErrorKind.Reverted, "reverted: " + reason, reason), job);

        Assert.Equal(code, error.Code);
    }
}
