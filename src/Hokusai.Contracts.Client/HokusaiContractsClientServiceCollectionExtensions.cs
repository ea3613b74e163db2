using Hokusai.Contracts.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="IHokusaiContractsClient"/>.</summary>
public static class HokusaiContractsClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers the typed client on <c>IHttpClientFactory</c> with the standard resilience pipeline (retries with
    /// backoff honouring <c>Retry-After</c>, circuit breaker, timeouts). Retrying a submission is safe: each carries
    /// an idempotency key. Returns the client builder for further configuration.
    /// </summary>
    public static IHttpClientBuilder AddHokusaiContractsClient(this IServiceCollection services, Action<HokusaiContractsClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<HokusaiContractsClientOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>Registers the typed client with settings bound from <paramref name="configuration"/> (keys <c>BaseAddress</c>, <c>ApiKey</c>, <c>BearerToken</c>, <c>PollInterval</c>).</summary>
    public static IHttpClientBuilder AddHokusaiContractsClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HokusaiContractsClientOptions>().Bind(configuration);
        return AddCore(services);
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HokusaiContractsClientOptions>, HokusaiContractsClientOptionsValidator>());
        var builder = services.AddHttpClient<IHokusaiContractsClient, HokusaiContractsClient>((sp, http) =>
        {
            var options = sp.GetRequiredService<IOptions<HokusaiContractsClientOptions>>().Value;
            // A trailing slash keeps relative routes under a base path (https://host/contracts/ + api/deployments).
            var address = options.BaseAddress!.ToString();
            http.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        });
        builder.AddStandardResilienceHandler();
        return builder;
    }
}

/// <summary>Checks the client's settings when it is first created.</summary>
internal sealed class HokusaiContractsClientOptionsValidator : IValidateOptions<HokusaiContractsClientOptions>
{
    public ValidateOptionsResult Validate(string? name, HokusaiContractsClientOptions options)
    {
        var failures = new List<string>();
        if (options.BaseAddress is not { IsAbsoluteUri: true } address || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add("HokusaiContractsClientOptions.BaseAddress must be an absolute http(s) URI.");
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            failures.Add("HokusaiContractsClientOptions.PollInterval must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
