using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hokusai.Contracts.Diagnostics;

/// <summary>Registers the library's instruments; every registration path that reports through them calls this.</summary>
internal static class ContractsTelemetryServiceCollectionExtensions
{
    /// <summary>Adds <see cref="ContractsTelemetry"/> and the container's meter factory; safe to call twice.</summary>
    internal static IServiceCollection AddContractsTelemetry(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<ContractsTelemetry>();
        return services;
    }
}
