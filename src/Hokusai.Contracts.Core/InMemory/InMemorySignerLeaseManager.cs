using System.Globalization;
using Hokusai.Contracts.Backends;

namespace Hokusai.Contracts.InMemory;

/// <summary>
/// Signer ownership within one process: a key is held by one lease at a time (a second acquisition waits until
/// the first is disposed), never lost. Engines sharing one instance (tests, an embedding host with several
/// engines) behave like replicas: each announces itself, and an engine that stops announcing for
/// <see cref="AnnounceTtl"/> no longer counts as alive.
/// </summary>
internal sealed class InMemorySignerLeaseManager(TimeProvider timeProvider) : ISignerLeaseManager
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Holder> _holders = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, DateTimeOffset> _alive = new(StringComparer.Ordinal);
    private long _fencing;

    public InMemorySignerLeaseManager()
        : this(TimeProvider.System)
    {
    }

    /// <summary>How long an announcement keeps a replica alive.</summary>
    internal TimeSpan AnnounceTtl { get; init; } = TimeSpan.FromSeconds(10);

    public string ReplicaId { get; init; } = Environment.MachineName + ":" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>A view of this manager under another replica name (several engines in one process).</summary>
    internal ISignerLeaseManager AsReplica(string replicaId) => new ReplicaView(this, replicaId);

    public ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken) => AcquireAsync(signerAddress, ReplicaId, cancellationToken);

    public ValueTask<int> AnnounceAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Announce(ReplicaId));

    public ValueTask<string?> GetOwnerAsync(string signerAddress, CancellationToken cancellationToken) => ValueTask.FromResult(OwnerOf(signerAddress));

    public TimeSpan AnnounceInterval => AnnounceEvery ?? AnnounceTtl / 3;

    /// <summary>How often engines announce (a third of <see cref="AnnounceTtl"/> unless set).</summary>
    internal TimeSpan? AnnounceEvery { get; init; }

    public ValueTask WithdrawAsync(CancellationToken cancellationToken)
    {
        Withdraw(ReplicaId);
        return ValueTask.CompletedTask;
    }

    private void Withdraw(string replica)
    {
        lock (_lock)
        {
            _alive.Remove(replica);
        }
    }

    private async ValueTask<ISignerLease> AcquireAsync(string signerAddress, string replica, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(signerAddress);
        while (true)
        {
            Task released;
            lock (_lock)
            {
                if (!_holders.TryGetValue(signerAddress, out var holder))
                {
                    var lease = new Lease(this, signerAddress, ++_fencing);
                    _holders[signerAddress] = new Holder(replica, lease);
                    return lease;
                }

                released = holder.Lease.Released.Task;
            }

            await released.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private int Announce(string replica)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            _alive[replica] = now + AnnounceTtl;
            foreach (var gone in _alive.Where(a => a.Value <= now).Select(a => a.Key).ToList())
            {
                _alive.Remove(gone);
            }

            return _alive.Count;
        }
    }

    private string? OwnerOf(string signerAddress)
    {
        lock (_lock)
        {
            return _holders.TryGetValue(signerAddress, out var holder) ? holder.Replica : null;
        }
    }

    private void Release(string signerAddress, Lease lease)
    {
        lock (_lock)
        {
            if (_holders.TryGetValue(signerAddress, out var holder) && ReferenceEquals(holder.Lease, lease))
            {
                _holders.Remove(signerAddress);
            }
        }

        lease.Released.TrySetResult();
    }

    private sealed record Holder(string Replica, Lease Lease);

    private sealed class Lease(InMemorySignerLeaseManager owner, string signerAddress, long fencingToken) : ISignerLease
    {
        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long FencingToken { get; } = fencingToken;

        public CancellationToken Lost => CancellationToken.None;

        public ValueTask DisposeAsync()
        {
            owner.Release(signerAddress, this);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ReplicaView(InMemorySignerLeaseManager owner, string replicaId) : ISignerLeaseManager
    {
        public string ReplicaId => replicaId;

        public ValueTask<ISignerLease> AcquireAsync(string signerAddress, CancellationToken cancellationToken) => owner.AcquireAsync(signerAddress, replicaId, cancellationToken);

        public ValueTask<int> AnnounceAsync(CancellationToken cancellationToken) => ValueTask.FromResult(owner.Announce(replicaId));

        public ValueTask<string?> GetOwnerAsync(string signerAddress, CancellationToken cancellationToken) => owner.GetOwnerAsync(signerAddress, cancellationToken);

        public TimeSpan AnnounceInterval => owner.AnnounceInterval;

        public ValueTask WithdrawAsync(CancellationToken cancellationToken)
        {
            owner.Withdraw(replicaId);
            return ValueTask.CompletedTask;
        }
    }
}
