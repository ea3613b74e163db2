using System.Globalization;
using Hokusai.Contracts.Backends;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>
/// The registry mirror in Redis, shared by the replicas: a hash <c>{tag}:registry:models</c> (model id → token)
/// and a string <c>{tag}:registry:cursor</c> (last fully applied block), both under the package's hash tag so the
/// apply script stays in one cluster slot. Deleting the cursor (or both keys) makes every replica rebuild the
/// mirror from the chain.
/// </summary>
internal sealed class RedisRegistryMirrorStore : IRegistryMirrorStore
{
    // KEYS: models hash, cursor. ARGV: through block, then model id / token pairs.
    // Entries and cursor land together, so a cursor never claims a range whose entries are missing; the cursor only
    // moves forward because replicas apply the same confirmed ranges at their own pace.
    private const string ApplyScript = """
        for i = 2, #ARGV, 2 do
          redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
        end
        local current = tonumber(redis.call('GET', KEYS[2]) or '-1')
        if tonumber(ARGV[1]) > current then
          redis.call('SET', KEYS[2], ARGV[1])
        end
        return 1
        """;

    private readonly RedisExecutor _redis;
    private readonly RedisKey _models;
    private readonly RedisKey _cursor;

    public RedisRegistryMirrorStore(RedisExecutor redis)
    {
        _redis = redis;
        _models = redis.Keys.Tagged + "registry:models";
        _cursor = redis.Keys.Tagged + "registry:cursor";
    }

    public async Task<ulong?> GetCursorAsync(CancellationToken cancellationToken)
    {
        var value = await _redis.RunAsync(db => db.StringGetAsync(_cursor), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : ulong.Parse((string)value!, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyDictionary<string, string>> GetModelsAsync(CancellationToken cancellationToken)
    {
        var entries = await _redis.RunAsync(db => db.HashGetAllAsync(_models), cancellationToken).ConfigureAwait(false);
        return entries.ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);
    }

    public Task ApplyAsync(IReadOnlyCollection<KeyValuePair<string, string>> registrations, ulong throughBlock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        var args = new RedisValue[1 + (registrations.Count * 2)];
        args[0] = throughBlock.ToString(CultureInfo.InvariantCulture);
        var i = 1;
        foreach (var (model, token) in registrations)
        {
            args[i++] = model;
            args[i++] = token;
        }

        return _redis.RunAsync(db => db.ScriptEvaluateAsync(ApplyScript, [_models, _cursor], args), cancellationToken);
    }
}
