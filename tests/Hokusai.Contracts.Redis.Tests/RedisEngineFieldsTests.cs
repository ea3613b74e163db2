namespace Hokusai.Contracts.Redis.Tests;

/// <summary>The engine's job fields (mode, predicted address, replaced transactions) survive the Redis store.</summary>
public sealed class RedisEngineFieldsTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task TryUpdateAsync_ModePredictedAddressAndReplaced_RoundTrip()
    {
        await using var app = TestApp.Create(redis.Server.ConnectionString);
        var job = Jobs.New(model: "fields-" + Guid.NewGuid().ToString("N")[..8]) with { Mode = DeploymentMode.Factory, PredictedTokenAddress = "0x00000000000000000000000000000000000000F1" };
        await app.Store.TryCreateAsync(job, CancellationToken.None);
        var sent = new SentTransaction("0x" + new string('b', 64), "0x02ff", 7);
        var replaced = new SentTransaction("0x" + new string('a', 64), "0x02fe", 7);
        var updated = job with { Version = job.Version + 1, Transactions = job.Transactions with { TokenDeployment = sent, Replaced = [replaced] } };

        Assert.True(await app.Store.TryUpdateAsync(updated, CancellationToken.None));
        var stored = await app.Store.GetAsync(job.Id, CancellationToken.None);

        Assert.Equal(DeploymentMode.Factory, stored!.Mode);
        Assert.Equal(job.PredictedTokenAddress, stored.PredictedTokenAddress);
        Assert.Equal(sent, stored.Transactions.TokenDeployment);
        Assert.Equal([replaced], stored.Transactions.Replaced);
        Assert.Contains("\"mode\":\"Factory\"", RedisJson.Serialize(stored), StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_JobWithoutEngineFields_ModeNullAndNoReplacements()
    {
        var json = RedisJson.Serialize(Jobs.New()).Replace("\"replaced\":[],", "", StringComparison.Ordinal);

        var job = RedisJson.Deserialize(json);

        Assert.Null(job.Mode);
        Assert.Empty(job.Transactions.Replaced);
    }
}
