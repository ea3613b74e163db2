using Hokusai.Contracts;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Chain;
using Hokusai.Contracts.Diagnostics;
using Hokusai.Contracts.InMemory;
using Hokusai.Contracts.Jobs;
using Hokusai.Contracts.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Hokusai.Contracts: options, the chain engine, the job engine and in-memory defaults.</summary>
public static class HokusaiContractsServiceCollectionExtensions
{
    /// <summary>Registers the service with options bound from <paramref name="configuration"/> (a section shaped like <see cref="HokusaiContractsOptions"/>).</summary>
    public static IHokusaiContractsBuilder AddHokusaiContracts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddHokusaiContracts(configuration, configure: null);
    }

    /// <summary>Registers the service with options set in code.</summary>
    public static IHokusaiContractsBuilder AddHokusaiContracts(this IServiceCollection services, Action<HokusaiContractsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddHokusaiContracts(configuration: null, configure);
    }

    /// <summary>
    /// Registers the service: options (validated at start-up), the chain engine, the deployment
    /// service, the background job engine, and in-memory store, queue, quotas and signer lease that a
    /// backend such as Redis replaces. Safe to call more than once.
    /// </summary>
    public static IHokusaiContractsBuilder AddHokusaiContracts(this IServiceCollection services, IConfiguration? configuration, Action<HokusaiContractsOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);

        var optionsBuilder = services.AddOptions<HokusaiContractsOptions>();
        if (configuration is not null)
        {
            optionsBuilder.Bind(configuration);
        }

        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        // One validator runs the others and names each setting the way the host set it (variable or key).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HokusaiContractsOptions>, HokusaiContractsOptionsNamingValidator>());

        services.TryAddSingleton(TimeProvider.System);

        services.AddChainClient();
        services.AddContractsTelemetry();

        services.TryAddSingleton<IDeploymentStore, InMemoryDeploymentStore>();
        services.TryAddSingleton<IDeploymentQueue, InMemoryDeploymentQueue>();
        services.TryAddSingleton<IDeploymentQuota, InMemoryDeploymentQuota>();
        services.TryAddSingleton<ISignerLeaseManager, InMemorySignerLeaseManager>();
        services.TryAddSingleton<ISignerQueues, InMemorySignerQueues>();
        services.TryAddSingleton<IRequestRateLimiterFactory, InMemoryRequestRateLimiterFactory>();
        services.TryAddSingleton<IDeploymentAcceptor, Hokusai.Contracts.Accept.StoreDeploymentAcceptor>();
        services.AddMetrics();
        services.TryAddSingleton<IRegistryMirrorStore, InMemoryRegistryMirrorStore>();
        services.TryAddSingleton(sp => new Hokusai.Contracts.Mirror.RegistryMirror(
            sp.GetRequiredService<IChainClient>(),
            sp.GetRequiredService<IRegistryMirrorStore>(),
            sp.GetRequiredService<IOptions<HokusaiContractsOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<Hokusai.Contracts.Mirror.RegistryMirror>>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<IModelTokenLookup>(sp => sp.GetRequiredService<Hokusai.Contracts.Mirror.RegistryMirror>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Hokusai.Contracts.Mirror.RegistryMirror>(sp => sp.GetRequiredService<Hokusai.Contracts.Mirror.RegistryMirror>()));

        services.TryAddSingleton<IDeploymentService, DeploymentService>();
        services.TryAddSingleton<DeploymentModeResolver>();
        services.TryAddSingleton<DeploymentErrorMapper>();
        services.TryAddSingleton<TransactionExecutor>();
        services.TryAddSingleton<DeploymentDurationEstimator>();
        services.TryAddSingleton<DeploymentProcessor>();
        services.TryAddSingleton(SignerPool.Create);
        services.TryAddSingleton<SignerPoolMetrics>();
        services.TryAddSingleton<ISignerPoolStatus, Hokusai.Contracts.SignerPoolMonitor>();
        services.TryAddSingleton<DeploymentEngine>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DeploymentEngine>(sp => sp.GetRequiredService<DeploymentEngine>()));

        AddWebhooks(services);

        return new HokusaiContractsBuilder(services);
    }

    /// <summary>
    /// The webhook outbox's dispatcher, its HTTP client and the event factory the stores use. The outbox itself is
    /// the store (every store backend implements <see cref="IWebhookOutbox"/>), so events and status changes are
    /// written together.
    /// </summary>
    private static void AddWebhooks(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(WebhookDispatcher)))
        {
            return;
        }

        services.AddMetrics();
        services.AddHttpClient(WebhookSender.ClientName, (sp, client) =>
            {
                // The sender bounds each attempt itself; this only backs that up.
                client.Timeout = sp.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value.Webhooks.Timeout + TimeSpan.FromSeconds(1);
            })
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookSender.CreateHandler(sp.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value.Webhooks));
        services.TryAddSingleton<IWebhookPayloadFormatter, DefaultWebhookPayloadFormatter>();
        services.TryAddSingleton<WebhookEventFactory>();
        services.TryAddSingleton<IWebhookOutbox>(sp => sp.GetRequiredService<IDeploymentStore>() as IWebhookOutbox
            ?? throw new InvalidOperationException("The registered IDeploymentStore does not implement IWebhookOutbox; register an outbox of the same backend."));
        services.TryAddSingleton<WebhookSender>();
        services.TryAddSingleton(sp => new WebhookMetrics(sp.GetRequiredService<TimeProvider>(), sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<WebhookDispatcher>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WebhookDispatcher>(sp => sp.GetRequiredService<WebhookDispatcher>()));
    }
}
