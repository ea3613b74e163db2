using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>Registers the Redis backend on an <see cref="IHokusaiContractsBuilder"/>.</summary>
public static class HokusaiContractsRedisExtensions
{
    /// <summary>Name of the readiness health check this package registers (tagged <c>ready</c>).</summary>
    public const string HealthCheckName = "redis";

    /// <summary>
    /// Uses Redis at <paramref name="connectionString"/>: a <c>redis://[user:password@]host:port[/db]</c> or
    /// <c>rediss://</c> URL (the <c>REDIS_URL</c> form) or a StackExchange.Redis configuration string.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddHokusaiContracts</c>.</param>
    /// <param name="connectionString">Where Redis is.</param>
    /// <param name="configure">Further settings (key prefix, stream names, timeouts).</param>
    public static IHokusaiContractsBuilder AddRedis(this IHokusaiContractsBuilder builder, string connectionString, Action<RedisContractsOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.AddRedis(options =>
        {
            options.Configuration = connectionString;
            configure?.Invoke(options);
        });
    }

    /// <summary>Uses an existing multiplexer (not disposed by this package).</summary>
    /// <param name="builder">The builder returned by <c>AddHokusaiContracts</c>.</param>
    /// <param name="multiplexer">The connection to share.</param>
    /// <param name="configure">Further settings (key prefix, stream names, timeouts).</param>
    public static IHokusaiContractsBuilder AddRedis(this IHokusaiContractsBuilder builder, IConnectionMultiplexer multiplexer, Action<RedisContractsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        return AddRedisCore(builder, configure, _ => multiplexer);
    }

    /// <summary>Uses the multiplexer <paramref name="factory"/> returns on first use (not disposed by this package).</summary>
    /// <param name="builder">The builder returned by <c>AddHokusaiContracts</c>.</param>
    /// <param name="factory">Supplies the connection, e.g. one already registered in the container.</param>
    /// <param name="configure">Further settings (key prefix, stream names, timeouts).</param>
    public static IHokusaiContractsBuilder AddRedis(this IHokusaiContractsBuilder builder, Func<IServiceProvider, IConnectionMultiplexer> factory, Action<RedisContractsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return AddRedisCore(builder, configure, factory);
    }

    /// <summary>
    /// Uses Redis as configured by <paramref name="configure"/> (set <see cref="RedisContractsOptions.Configuration"/>,
    /// or bind it from configuration with <c>Services.Configure&lt;RedisContractsOptions&gt;(…)</c>).
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddHokusaiContracts</c>.</param>
    /// <param name="configure">The settings.</param>
    public static IHokusaiContractsBuilder AddRedis(this IHokusaiContractsBuilder builder, Action<RedisContractsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddRedisCore(builder, configure, factory: null);
    }

    /// <summary>
    /// Every overload ends here. The store, acceptor, queue, quota, signer lease and request limiter replace whatever is
    /// registered (the in-memory defaults), whether <c>AddHokusaiContracts</c> ran before or after: its
    /// <c>TryAdd</c> calls leave these in place.
    /// </summary>
    private static IHokusaiContractsBuilder AddRedisCore(IHokusaiContractsBuilder builder, Action<RedisContractsOptions>? configure, Func<IServiceProvider, IConnectionMultiplexer>? factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        var options = services.AddOptions<RedisContractsOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisContractsOptions>, RedisContractsOptionsValidator>());
        services.AddOptions<HokusaiContractsOptions>();
        services.TryAddSingleton(TimeProvider.System);

        services.RemoveAll<RedisConnectionSource>();
        services.AddSingleton(new RedisConnectionSource(factory));
        services.RemoveAll<RedisConnection>();
        services.AddSingleton(sp => CreateConnection(sp, factory));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisConnectionWarmup>(
            sp => new RedisConnectionWarmup(sp.GetRequiredService<RedisConnection>(), sp.GetService<RedisDeploymentAcceptor>(), Logger<RedisConnectionWarmup>(sp))));
        services.AddMetrics();
        services.TryAddSingleton(sp => new RedisMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton(sp => new RedisExecutor(
            sp.GetRequiredService<RedisConnection>(),
            sp.GetRequiredService<IOptions<RedisContractsOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<RedisMetrics>(),
            Logger<RedisExecutor>(sp)));

        services.TryAddSingleton(sp => new RedisDeploymentStore(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptions<RedisContractsOptions>>(),
            sp.GetRequiredService<IOptions<HokusaiContractsOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<WebhookEventFactory>()));
        services.TryAddSingleton(sp => new RedisWebhookOutbox(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptions<RedisContractsOptions>>(),
            sp.GetRequiredService<IOptions<HokusaiContractsOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new RedisDeploymentQueue(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptions<RedisContractsOptions>>(),
            Logger<RedisDeploymentQueue>(sp)));
        services.TryAddSingleton(sp => new RedisSignerQueues(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptions<RedisContractsOptions>>(),
            Logger<RedisDeploymentQueue>(sp)));
        services.TryAddSingleton(sp => new RedisDeploymentQuota(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptionsMonitor<HokusaiContractsOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new RedisSignerLeaseManager(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptions<RedisContractsOptions>>(),
            Logger<RedisSignerLeaseManager>(sp)));
        services.TryAddSingleton(sp => new RedisRequestRateLimiterFactory(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptionsMonitor<HokusaiContractsOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            Logger<RedisRequestRateLimiterFactory>(sp)));
        services.TryAddSingleton(sp => new RedisDeploymentAcceptor(
            sp.GetRequiredService<RedisExecutor>(),
            sp.GetRequiredService<IOptionsMonitor<HokusaiContractsOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new RedisRegistryMirrorStore(sp.GetRequiredService<RedisExecutor>()));

        Replace<IDeploymentStore, RedisDeploymentStore>(services);
        Replace<IWebhookOutbox, RedisWebhookOutbox>(services);
        Replace<IDeploymentQueue, RedisDeploymentQueue>(services);
        Replace<ISignerQueues, RedisSignerQueues>(services);
        Replace<IDeploymentQuota, RedisDeploymentQuota>(services);
        Replace<ISignerLeaseManager, RedisSignerLeaseManager>(services);
        Replace<IRequestRateLimiterFactory, RedisRequestRateLimiterFactory>(services);
        Replace<IDeploymentAcceptor, RedisDeploymentAcceptor>(services);
        Replace<IRegistryMirrorStore, RedisRegistryMirrorStore>(services);

        if (!services.Any(descriptor => descriptor.ServiceType == typeof(RedisHealthCheckMarker)))
        {
            services.AddSingleton<RedisHealthCheckMarker>();
            services.AddHealthChecks().Add(new HealthCheckRegistration(
                HealthCheckName,
                sp => new RedisHealthCheck(sp.GetRequiredService<RedisExecutor>(), sp.GetRequiredService<IOptions<RedisContractsOptions>>()),
                failureStatus: HealthStatus.Unhealthy,
                tags: ["ready"],
                timeout: TimeSpan.FromSeconds(2)));
        }

        return builder;
    }

    private static void Replace<TService, TImplementation>(IServiceCollection services)
        where TService : class
        where TImplementation : class, TService
    {
        services.RemoveAll<TService>();
        services.AddSingleton<TService>(sp => sp.GetRequiredService<TImplementation>());
    }

    private static RedisConnection CreateConnection(IServiceProvider services, Func<IServiceProvider, IConnectionMultiplexer>? factory)
    {
        var logger = Logger<RedisConnection>(services);
        if (factory is not null)
        {
            return new RedisConnection(() => Task.FromResult(factory(services)), owns: false, logger);
        }

        var options = services.GetRequiredService<IOptions<RedisContractsOptions>>().Value;
        var configuration = RedisConfiguration.Parse(options.Configuration
            ?? throw new InvalidOperationException($"{HokusaiEnvironmentVariables.Describe(RedisContractsOptions.SectionName + ":" + nameof(RedisContractsOptions.Configuration), services.GetService<IConfiguration>())} is not set."));
        options.ConfigureConnection?.Invoke(configuration);
        return RedisConnection.FromConfiguration(configuration, logger);
    }

    private static ILogger<T> Logger<T>(IServiceProvider services) =>
        services.GetService<ILoggerFactory>()?.CreateLogger<T>() ?? NullLogger<T>.Instance;

    private sealed class RedisHealthCheckMarker;
}
