using System.Diagnostics;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisSignerLeaseManagerTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string Signer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    // A hand-over within half the lease's TTL came from the release, not from the lease lapsing, and the bound is
    // still generous for a slow machine (a release takes milliseconds to reach the waiter).
    private static readonly TimeSpan LongTtl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan HandOverBound = LongTtl / 2;

    private TestApp Instance(string prefix, TimeSpan? ttl = null) =>
        TestApp.Create(redis.Server.ConnectionString, prefix, o => o.LeaseTtl = ttl ?? TimeSpan.FromSeconds(3));

    private TestApp Gated(string prefix, GatedSubscriptions gated) =>
        TestApp.Create(redis.Server.ConnectionString, prefix, o =>
        {
            o.LeaseTtl = LongTtl;
            // The wait for the subscription is bounded by the operation timeout: long enough for the test to hold it.
            o.OperationTimeout = TimeSpan.FromSeconds(60);
        }, multiplexer: gated.Multiplexer);

    [Fact]
    public async Task AcquireAsync_SecondOwner_WaitsUntilFirstReleases()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix, LongTtl);
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString);
        var observed = new GatedSubscriptions(multiplexer);
        observed.OpenSubscriptions();
        await using var second = Gated(prefix, observed);
        var firstLease = await first.Leases.AcquireAsync(Signer, CancellationToken.None);
        var attempted = observed.NextAnswered(GatedSubscriptions.ScriptOn(second.Keys.SignerLease(Signer)));

        var waiting = second.Leases.AcquireAsync(Signer, CancellationToken.None).AsTask();
        await attempted.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.False(waiting.IsCompleted);

        var watch = Stopwatch.StartNew();
        await firstLease.DisposeAsync();
        await using var secondLease = await waiting.WaitAsync(HandOverBound);

        Assert.True(watch.Elapsed < HandOverBound, $"handover took {watch.Elapsed}");
        Assert.True(secondLease.FencingToken > firstLease.FencingToken);
        Assert.True(firstLease.Lost.IsCancellationRequested);
        Assert.False(secondLease.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task AcquireAsync_ReleasedBeforeTheWaitersSubscriptionIsLive_HandsOverWithoutWaitingForExpiry()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix, LongTtl);
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString);
        var gated = new GatedSubscriptions(multiplexer);
        await using var second = Gated(prefix, gated);
        var firstLease = await first.Leases.AcquireAsync(Signer, CancellationToken.None);
        var attempted = gated.NextAnswered(GatedSubscriptions.ScriptOn(second.Keys.SignerLease(Signer)));

        var waiting = second.Leases.AcquireAsync(Signer, CancellationToken.None).AsTask();
        await attempted.WaitAsync(TimeSpan.FromSeconds(60));
        // Found the lease taken, not subscribed yet: the release's announcement reaches no one on that replica.
        await firstLease.DisposeAsync();
        gated.OpenSubscriptions();
        await using var secondLease = await waiting.WaitAsync(HandOverBound);

        Assert.True(secondLease.FencingToken > firstLease.FencingToken);
    }

    [Fact]
    public async Task AcquireAsync_LeaseLapsedByRedisClock_ReturnsOnlyAfterPreviousOwnerLostIt()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix);
        await using var second = Instance(prefix);
        await using var firstLease = await first.Leases.AcquireAsync(Signer, CancellationToken.None);

        // Redis lets the key go early by its own clock: the owner still counts on its full TTL by its clock.
        await first.Database.KeyExpireAsync(first.Keys.SignerLease(Signer), TimeSpan.FromMilliseconds(1));
        await using var secondLease = await second.Leases.AcquireAsync(Signer, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(firstLease.Lost.IsCancellationRequested, "the new owner may sign while the old one still holds its lease");
        Assert.True(secondLease.FencingToken > firstLease.FencingToken);
        Assert.False(secondLease.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task AcquireAsync_RedisLostItsDataWhileAnotherOwnerHeldTheLease_ReturnsOnlyAfterThatOwnerLostIt()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix);
        await using var second = Instance(prefix);
        await using var firstLease = await first.Leases.AcquireAsync(Signer, CancellationToken.None);
        var waiting = second.Leases.AcquireAsync(Signer, CancellationToken.None).AsTask();
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);

        // A restart without persistence: the lease and the fence counter are gone, so the next token is 1 again.
        await first.Database.KeyDeleteAsync([first.Keys.SignerLease(Signer), first.Keys.SignerFence(Signer)]);
        await using var secondLease = await waiting.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(firstLease.Lost.IsCancellationRequested, "the new owner may sign while the old one still holds its lease");
        Assert.Equal(1, secondLease.FencingToken);
    }

    [Fact]
    public async Task AcquireAsync_AddressCase_DoesNotMatter()
    {
        var prefix = TestApp.NewPrefix();
        await using var app = Instance(prefix);
        await using var lease = await app.Leases.AcquireAsync(Signer, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await app.Leases.AcquireAsync(Signer.ToLowerInvariant(), timeout.Token));
    }

    [Fact]
    public async Task AcquireAsync_EachNewOwner_GetsAHigherFencingToken()
    {
        await using var app = Instance(TestApp.NewPrefix());
        var tokens = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            await using var lease = await app.Leases.AcquireAsync(Signer, CancellationToken.None);
            tokens.Add(lease.FencingToken);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(3, tokens.Distinct().Count());
    }

    [Fact]
    public async Task Lease_HeldLongerThanTtl_IsRenewed()
    {
        var prefix = TestApp.NewPrefix();
        // Renewed every third of the TTL: a lease is lost only when no renewal gets through for a whole TTL, so the
        // TTL is long enough that a loaded machine's stalls cannot do that, and the lease is held for 2.5 of them.
        await using var app = Instance(prefix, TimeSpan.FromSeconds(2));
        await using var lease = await app.Leases.AcquireAsync(Signer, CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(5));

        Assert.False(lease.Lost.IsCancellationRequested);
        Assert.True(await app.Database.KeyExistsAsync(app.Keys.SignerLease(Signer)));
    }

    [Fact]
    public async Task Lost_LeaseTakenOver_IsSignalled()
    {
        var prefix = TestApp.NewPrefix();
        await using var app = Instance(prefix, TimeSpan.FromMilliseconds(900));
        await using var lease = await app.Leases.AcquireAsync(Signer, CancellationToken.None);
        var lost = new TaskCompletionSource();
        using var registration = lease.Lost.Register(lost.SetResult);

        // As if the lease had expired and another replica had taken it.
        await app.Database.StringSetAsync(app.Keys.SignerLease(Signer), "someone-else|99");

        await lost.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("someone-else|99", (string?)await app.Database.StringGetAsync(app.Keys.SignerLease(Signer)));
    }

    [Fact]
    public async Task DisposeAsync_ReleasesTheKey()
    {
        await using var app = Instance(TestApp.NewPrefix());
        var lease = await app.Leases.AcquireAsync(Signer, CancellationToken.None);
        Assert.True(await app.Database.KeyExistsAsync(app.Keys.SignerLease(Signer)));

        await lease.DisposeAsync();
        await lease.DisposeAsync();

        Assert.False(await app.Database.KeyExistsAsync(app.Keys.SignerLease(Signer)));
    }
}
