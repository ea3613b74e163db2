using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Core.Tests.Jobs;
using Hokusai.Contracts.InMemory;
using Hokusai.Contracts.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.Core.Tests.Pool;

public sealed class SignerPoolUnitTests
{
    // anvil's well-known development accounts 0-2 (public test keys, not secrets).
    internal const string Key0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    internal const string Address0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    internal const string Key1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    internal const string Address1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    internal const string Key2 = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
    internal const string Address2 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 2, 1)]
    [InlineData(2, 1, 2)]
    [InlineData(2, 2, 1)]
    [InlineData(4, 2, 2)]
    [InlineData(5, 2, 3)]
    [InlineData(4, 3, 2)]
    [InlineData(3, 5, 1)]
    [InlineData(4, 0, 4)]
    [InlineData(0, 3, 0)]
    public void Target_KeysAndLiveReplicas_CeilingOfTheirRatio(int keys, int replicas, int expected) =>
        Assert.Equal(expected, SignerShare.Target(keys, replicas));

    [Fact]
    public void ToRelease_AboveShare_HighestOwnedIndex() =>
        Assert.Equal(3, SignerShare.ToRelease([0, 3, 1], 2));

    [Fact]
    public void ToRelease_AtOrBelowShare_Nothing()
    {
        Assert.Null(SignerShare.ToRelease([0, 1], 2));
        Assert.Null(SignerShare.ToRelease([], 1));
    }

    [Fact]
    public void Parse_SingleKeyAndList_PoolInOrderWithTheSingleKeyCountedOnce()
    {
        var options = new ChainOptions { DeployerPrivateKey = Key0 };
        options.DeployerPrivateKeys.Add(Key1);
        options.DeployerPrivateKeys.Add(Key0[2..]);
        options.DeployerPrivateKeys.Add(Key2);

        var (keys, failures) = SignerKeys.Parse(options);

        Assert.Empty(failures);
        Assert.Equal([Address0, Address1, Address2], keys.Select(k => k.Address));
        Assert.Equal([0, 1, 2], keys.Select(k => k.Index));
        Assert.Equal($"key 1 ({Address1})", keys[1].ToString());
        Assert.DoesNotContain(Key1[2..], keys[1].ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Parse_MalformedEntry_NamesItsPlaceWithoutTheValue()
    {
        const string Secret = "0xabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefzz";
        var options = new ChainOptions { DeployerPrivateKey = Key0 };
        options.DeployerPrivateKeys.Add(Key1);
        options.DeployerPrivateKeys.Add(Secret);

        var failure = Assert.Single(SignerKeys.Parse(options).Failures);

        Assert.Equal("DEPLOYER_PRIVATE_KEYS entry 1 (HokusaiContracts:Chain:DeployerPrivateKeys:1) must be 32 bytes of hex (the value is not shown).", failure);
        Assert.DoesNotContain("abcdef", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_KeyAboveTheCurveOrder_RejectedByPlace()
    {
        var options = new ChainOptions();
        options.DeployerPrivateKeys.Add(new string('f', 64));

        var failure = Assert.Single(SignerKeys.Parse(options).Failures);

        Assert.StartsWith("DEPLOYER_PRIVATE_KEYS entry 0 ", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_KeyRepeatedWithinTheList_NamesBothPlacesAndTheAddress()
    {
        var options = new ChainOptions();
        options.DeployerPrivateKeys.Add(Key1);
        options.DeployerPrivateKeys.Add(Key2);
        options.DeployerPrivateKeys.Add(Key1);

        var failure = Assert.Single(SignerKeys.Parse(options).Failures);

        Assert.Equal($"DEPLOYER_PRIVATE_KEYS entry 2 (HokusaiContracts:Chain:DeployerPrivateKeys:2) repeats DEPLOYER_PRIVATE_KEYS entry 0 (HokusaiContracts:Chain:DeployerPrivateKeys:0): both are the key of {Address1}; list each key once.", failure);
    }

    [Fact]
    public void Parse_NoKeyAtAll_NamesBothVariables()
    {
        var failure = Assert.Single(SignerKeys.Parse(new ChainOptions()).Failures);

        Assert.Contains("DEPLOYER_PRIVATE_KEY ", failure, StringComparison.Ordinal);
        Assert.Contains("DEPLOYER_PRIVATE_KEYS", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_PoolWithLegacyMode_FailsStartNamingWhy()
    {
        using var provider = new ServiceCollection().AddHokusaiContracts(o =>
        {
            EngineHarness.ValidOptions(o);
            o.Chain.DeployerPrivateKeys.Add(Key1);
            o.Chain.DeploymentMode = DeploymentModeSetting.Legacy;
        }).Services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value);

        Assert.Contains("needs factory mode", ex.Message, StringComparison.Ordinal);
        // Options set in code: the settings are named by their keys.
        Assert.Contains("HokusaiContracts:Chain:DeploymentMode is legacy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_OnlyTheKeyList_Valid()
    {
        using var provider = new ServiceCollection().AddHokusaiContracts(o =>
        {
            EngineHarness.ValidOptions(o);
            o.Chain.DeployerPrivateKey = null;
            o.Chain.DeployerPrivateKeys.Add(Key1);
            o.Chain.DeployerPrivateKeys.Add(Key2);
        }).Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value;

        Assert.Equal([Address1, Address2], SignerKeys.Require(options.Chain).Select(k => k.Address));
        Assert.DoesNotContain(Key1[2..], options.Chain.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Pool_NethereumClientWithThreeKeys_OneClientPerKeyEachWithItsOwnNonceSequence()
    {
        using var provider = new ServiceCollection().AddLogging().AddHokusaiContracts(o =>
        {
            EngineHarness.ValidOptions(o);
            o.Chain.DeployerPrivateKey = Key0;
            o.Chain.DeployerPrivateKeys.Add(Key1);
            o.Chain.DeployerPrivateKeys.Add(Key2);
        }).Services.BuildServiceProvider();

        var pool = provider.GetRequiredService<SignerPool>();

        Assert.Equal([Address0, Address1, Address2], pool.Signers.Select(s => s.Address));
        Assert.Same(provider.GetRequiredService<IChainClient>(), pool.Signers[0].Chain);
        var sequences = pool.Signers.Select(s => ((NethereumChainClient)s.Chain).Nonces).ToList();
        Assert.Equal(3, sequences.Distinct().Count());
        Assert.Same(pool.Signers[2], pool.Find(Address2.ToLowerInvariant()));
        Assert.NotSame(pool.Signers[1].Processor, pool.Signers[2].Processor);
    }

    [Fact]
    public async Task Announce_ReplicaSilentForTheTtl_NoLongerCounted()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var leases = new InMemorySignerLeaseManager(time) { AnnounceTtl = TimeSpan.FromSeconds(10) };
        var a = leases.AsReplica("a");
        var b = leases.AsReplica("b");

        Assert.Equal(1, await a.AnnounceAsync(default));
        Assert.Equal(2, await b.AnnounceAsync(default));
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(2, await a.AnnounceAsync(default));
        time.Advance(TimeSpan.FromSeconds(5));

        // b last announced 11 s ago: gone. a announced 5 s ago: alive.
        Assert.Equal(1, await a.AnnounceAsync(default));
        await a.WithdrawAsync(default);
        Assert.Equal(1, await b.AnnounceAsync(default));
    }

    [Fact]
    public async Task Acquire_KeyHeldByAnotherReplica_WaitsUntilReleasedAndReportsTheOwner()
    {
        var leases = new InMemorySignerLeaseManager(new FakeTimeProvider());
        var a = leases.AsReplica("a");
        var b = leases.AsReplica("b");
        var held = await a.AcquireAsync(Address1, default);

        var waiting = b.AcquireAsync(Address1, default).AsTask();
        var other = await b.AcquireAsync(Address2, default);

        Assert.False(waiting.IsCompleted);
        Assert.Equal("a", await b.GetOwnerAsync(Address1, default));
        await held.DisposeAsync();
        var taken = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("b", await a.GetOwnerAsync(Address1, default));
        Assert.True(taken.FencingToken > held.FencingToken);
        await taken.DisposeAsync();
        await other.DisposeAsync();
        Assert.Null(await a.GetOwnerAsync(Address1, default));
    }
}
