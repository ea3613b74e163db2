using System.Reflection;
using System.Runtime.ExceptionServices;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

/// <summary>
/// A real multiplexer seen through its interfaces, with the order of events in the test's hands: SUBSCRIBE reaches
/// the server only once <see cref="OpenSubscriptions"/> is called, and the test can wait until a chosen command has
/// been answered. This makes a replica's subscription come up after its first look at Redis, every time.
/// </summary>
internal sealed class GatedSubscriptions
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly List<(Func<MethodInfo, object?[], bool> Match, TaskCompletionSource Answered)> _watches = [];

    public GatedSubscriptions(IConnectionMultiplexer inner) => Multiplexer = Forwarder<IConnectionMultiplexer>.Create(inner, Intercept);

    /// <summary>Give this to the instance under test.</summary>
    public IConnectionMultiplexer Multiplexer { get; }

    /// <summary>Lets the held SUBSCRIBE calls (and any later one) through.</summary>
    public void OpenSubscriptions() => _open.TrySetResult();

    /// <summary>Completes once the next database call that <paramref name="match"/> accepts has been answered.</summary>
    public Task NextAnswered(Func<MethodInfo, object?[], bool> match)
    {
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _watches.Add((match, answered));
        }

        return answered.Task;
    }

    /// <summary>Matches a Lua script run on <paramref name="key"/> (among its keys).</summary>
    public static Func<MethodInfo, object?[], bool> ScriptOn(RedisKey key) =>
        (method, args) => method.Name == nameof(IDatabase.ScriptEvaluateAsync) && args.OfType<RedisKey[]>().Any(keys => keys.Contains(key));

    /// <summary>Matches a read of new entries through a consumer group.</summary>
    public static bool StreamGroupRead(MethodInfo method, object?[] args) => method.Name == nameof(IDatabase.StreamReadGroupAsync);

    private object? Intercept(object inner, MethodInfo method, object?[] args)
    {
        if (inner is ISubscriber && method.Name == nameof(ISubscriber.SubscribeAsync) && method.ReturnType == typeof(Task))
        {
            return HeldAsync(() => (Task)Forward(inner, method, args)!);
        }

        var result = Forward(inner, method, args);
        switch (result)
        {
            case ISubscriber subscriber when method.Name == nameof(IConnectionMultiplexer.GetSubscriber):
                return Forwarder<ISubscriber>.Create(subscriber, Intercept);
            case IDatabase database when method.Name == nameof(IConnectionMultiplexer.GetDatabase):
                return Forwarder<IDatabase>.Create(database, Intercept);
            case Task task when inner is IDatabase:
                foreach (var answered in Take(method, args))
                {
                    task.ContinueWith(_ => answered.TrySetResult(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                }

                return result;
            default:
                return result;
        }
    }

    private async Task HeldAsync(Func<Task> subscribe)
    {
        await _open.Task.ConfigureAwait(false);
        await subscribe().ConfigureAwait(false);
    }

    private List<TaskCompletionSource> Take(MethodInfo method, object?[] args)
    {
        lock (_gate)
        {
            var matched = _watches.Where(w => w.Match(method, args)).ToList();
            _watches.RemoveAll(matched.Contains);
            return matched.ConvertAll(w => w.Answered);
        }
    }

    private static object? Forward(object inner, MethodInfo method, object?[] args)
    {
        try
        {
            return method.Invoke(inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }
}

/// <summary>An implementation of <typeparamref name="T"/> that hands every call to an interceptor.</summary>
/// <typeparam name="T">The interface.</typeparam>
#pragma warning disable CA1852 // DispatchProxy derives its generated type from this one.
internal class Forwarder<T> : DispatchProxy
#pragma warning restore CA1852
    where T : class
{
    private object _inner = null!;
    private Func<object, MethodInfo, object?[], object?> _intercept = null!;

    public static T Create(T inner, Func<object, MethodInfo, object?[], object?> intercept)
    {
        var proxy = Create<T, Forwarder<T>>();
        var forwarder = (Forwarder<T>)(object)proxy;
        forwarder._inner = inner;
        forwarder._intercept = intercept;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        _intercept(_inner, targetMethod!, args ?? []);
}
