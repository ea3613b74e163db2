using Hokusai.Contracts.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Chain;

/// <summary>Registers the Nethereum chain engine.</summary>
internal static class ChainServiceCollectionExtensions
{
    /// <summary>Adds <see cref="IChainClient"/> built from <see cref="HokusaiContractsOptions.Chain"/>; safe to call twice.</summary>
    internal static IServiceCollection AddChainClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<HokusaiContractsOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddContractsTelemetry();
        services.TryAddSingleton<IChainClient>(sp => new NethereumChainClient(
            sp.GetRequiredService<IOptions<HokusaiContractsOptions>>().Value.Chain,
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ContractsTelemetry>()));
        return services;
    }
}
