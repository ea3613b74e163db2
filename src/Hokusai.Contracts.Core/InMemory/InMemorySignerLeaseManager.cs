namespace Hokusai.Contracts.InMemory;

/// <summary>One process owns its signers outright; the lease is granted at once and never lost.</summary>
internal sealed class InMemorySignerLeaseManager : ISignerLeaseManager
{
    private long _fencing;

    public ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ISignerLease>(new Lease(Interlocked.Increment(ref _fencing)));

    private sealed class Lease(long fencingToken) : ISignerLease
    {
        public long FencingToken { get; } = fencingToken;

        public CancellationToken Lost => CancellationToken.None;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
