using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.InMemory;

/// <summary>The default <see cref="IRegistryMirrorStore"/>: in process, rebuilt from the chain on every start.</summary>
internal sealed class InMemoryRegistryMirrorStore : IRegistryMirrorStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _models = new(StringComparer.Ordinal);
    private ulong? _cursor;

    public Task<ulong?> GetCursorAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_cursor);
        }
    }

    public Task<IReadOnlyDictionary<string, string>> GetModelsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>(_models, StringComparer.Ordinal));
        }
    }

    public Task ApplyAsync(IReadOnlyCollection<KeyValuePair<string, string>> registrations, ulong throughBlock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        lock (_gate)
        {
            foreach (var (model, token) in registrations)
            {
                _models[model] = token;
            }

            _cursor = _cursor is { } current && current > throughBlock ? current : throughBlock;
        }

        return Task.CompletedTask;
    }
}
