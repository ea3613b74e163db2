using System.Diagnostics;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class RedisSignerLeaseManagerTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string Signer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    private TestApp Instance(string prefix, TimeSpan? ttl = null) =>
        TestApp.Create(redis.Server.ConnectionString, prefix, o => o.LeaseTtl = ttl ?? TimeSpan.FromSeconds(3));

    [Fact]
    public async Task AcquireAsync_SecondOwner_WaitsUntilFirstReleases()
    {
        var prefix = TestApp.NewPrefix();
        await using var first = Instance(prefix);
        await using var second = Instance(prefix);
        var firstLease = await first.Leases.AcquireAsync(Signer, CancellationToken.None);

        var waiting = second.Leases.AcquireAsync(Signer, CancellationToken.None).AsTask();
        await Task.Delay(700);
        Assert.False(waiting.IsCompleted);

        var watch = Stopwatch.StartNew();
        await firstLease.DisposeAsync();
        await using var secondLease = await waiting.WaitAsync(TimeSpan.FromSeconds(2));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"handover took {watch.Elapsed}");
        Assert.True(secondLease.FencingToken > firstLease.FencingToken);
        Assert.True(firstLease.Lost.IsCancellationRequested);
        Assert.False(secondLease.Lost.IsCancellationRequested);
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
        await using var app = Instance(prefix, TimeSpan.FromMilliseconds(600));
        await using var lease = await app.Leases.AcquireAsync(Signer, CancellationToken.None);

        await Task.Delay(TimeSpan.FromMilliseconds(2000));

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

        await lost.Task.WaitAsync(TimeSpan.FromSeconds(3));
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
