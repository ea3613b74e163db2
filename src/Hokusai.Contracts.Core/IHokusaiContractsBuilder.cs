using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts;

/// <summary>Returned by <c>AddHokusaiContracts</c>; backends extend it (for example <c>.AddRedis(...)</c>).</summary>
public interface IHokusaiContractsBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}

internal sealed class HokusaiContractsBuilder(IServiceCollection services) : IHokusaiContractsBuilder
{
    public IServiceCollection Services { get; } = services;
}
