namespace Hokusai.Contracts.Chain;

/// <summary>
/// A chain client whose process-wide block follower is the one head source: the registry mirror and the
/// replacement policy listen to its heads instead of reading the head themselves.
/// </summary>
internal interface IFollowedChain
{
    /// <summary>The latest head the follower saw, or null before the first.</summary>
    ulong? Head { get; }

    /// <summary>The chain id, once known (configured, or read from the node before the first signature).</summary>
    long? KnownChainId { get; }

    /// <summary>
    /// Calls <paramref name="onHead"/> with each new head (on the follower's thread: keep it short). While
    /// subscribed and nothing else is followed, the head is read at least every <paramref name="idleInterval"/>
    /// (pushed at once with <c>RPC_WS_URL</c>). Dispose to unsubscribe.
    /// </summary>
    IDisposable SubscribeHeads(Action<ulong> onHead, TimeSpan idleInterval);

    /// <summary>Completes once the head is at or above <paramref name="block"/>.</summary>
    Task WaitForHeadAsync(ulong block, CancellationToken cancellationToken);
}
