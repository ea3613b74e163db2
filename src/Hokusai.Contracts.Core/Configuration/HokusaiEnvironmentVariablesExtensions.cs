using System.Collections;
using Hokusai.Contracts;

namespace Microsoft.Extensions.Configuration;

/// <summary>Adds the original service's environment variable names as a configuration source.</summary>
public static class HokusaiEnvironmentVariablesExtensions
{
    /// <summary>
    /// Maps the documented environment variables (<c>RPC_URL</c>, <c>MODEL_REGISTRY_ADDRESS</c>,
    /// <c>VALID_API_KEYS</c>, … see <see cref="HokusaiEnvironmentVariables.All"/>) onto the configuration
    /// keys the packages bind. Sources added earlier (appsettings, the standard environment provider) are
    /// overridden where a variable is set; a comma-separated variable replaces the whole list or map of its
    /// key. Sources added later win over it. A malformed duration or map entry throws, naming the variable.
    /// </summary>
    /// <param name="builder">The configuration builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IConfigurationBuilder AddHokusaiEnvironmentVariables(this IConfigurationBuilder builder) =>
        builder.AddHokusaiEnvironmentVariables(null);

    /// <summary>
    /// As <see cref="AddHokusaiEnvironmentVariables(IConfigurationBuilder)"/>, reading the variables from
    /// <paramref name="variables"/> instead of the process environment (for tests and for hosts that
    /// collect them elsewhere).
    /// </summary>
    /// <param name="builder">The configuration builder.</param>
    /// <param name="variables">Variable names and values; null reads the process environment.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IConfigurationBuilder AddHokusaiEnvironmentVariables(this IConfigurationBuilder builder, IEnumerable<KeyValuePair<string, string?>>? variables)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IDictionary? environment = null;
        if (variables is not null)
        {
            var copy = new Hashtable(StringComparer.Ordinal);
            foreach (var (name, value) in variables)
            {
                copy[name] = value;
            }

            environment = copy;
        }

        return builder.Add(new HokusaiEnvironmentVariablesSource(environment));
    }

    private sealed class HokusaiEnvironmentVariablesSource(IDictionary? environment) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new HokusaiEnvironmentVariablesProvider(environment);
    }
}
