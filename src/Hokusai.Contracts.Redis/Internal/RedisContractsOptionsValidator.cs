using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Redis;

/// <summary>Where the multiplexer comes from: the configuration string, or a supplied instance or factory.</summary>
internal sealed record RedisConnectionSource(Func<IServiceProvider, StackExchange.Redis.IConnectionMultiplexer>? Factory);

/// <summary>
/// Checks <see cref="RedisContractsOptions"/> at start-up; messages name the setting as the caller set it (the variable
/// or the key, decided from the host's configuration by <see cref="HokusaiEnvironmentVariables.Rewrite"/>), never its
/// secret value.
/// </summary>
internal sealed class RedisContractsOptionsValidator(RedisConnectionSource source, IConfiguration? configuration = null) : IValidateOptions<RedisContractsOptions>
{
    /// <summary>A setting of the section in the canonical form, e.g. <c>SIGNER_LEASE_TTL (HokusaiContracts:Redis:LeaseTtl)</c>.</summary>
    internal static string Name(string property) => HokusaiEnvironmentVariables.Describe(RedisContractsOptions.SectionName + ":" + property);

    public ValidateOptionsResult Validate(string? name, RedisContractsOptions options)
    {
        var failures = new List<string>();
        if (source.Factory is null)
        {
            if (string.IsNullOrWhiteSpace(options.Configuration))
            {
                failures.Add($"{Name(nameof(options.Configuration))} is not set: give redis://[user:password@]host:port[/db], rediss://… or a StackExchange.Redis configuration string.");
            }
            else
            {
                try
                {
                    RedisConfiguration.Parse(options.Configuration);
                }
                catch (FormatException ex)
                {
                    failures.Add($"{Name(nameof(options.Configuration))} is invalid: {ex.Message}");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.Trim(':').Length == 0)
        {
            failures.Add($"{Name(nameof(options.KeyPrefix))} must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.StreamName))
        {
            failures.Add($"{Name(nameof(options.StreamName))} must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ConsumerGroup))
        {
            failures.Add($"{Name(nameof(options.ConsumerGroup))} must not be empty.");
        }

        if (options.ConsumerName is { } consumer && string.IsNullOrWhiteSpace(consumer))
        {
            failures.Add($"{Name(nameof(options.ConsumerName))} must not be blank (leave it unset for the default).");
        }

        Positive(failures, nameof(options.ClaimIdleTimeout), options.ClaimIdleTimeout, TimeSpan.FromMilliseconds(30));
        Positive(failures, nameof(options.PollInterval), options.PollInterval, TimeSpan.FromMilliseconds(1));
        Positive(failures, nameof(options.LeaseTtl), options.LeaseTtl, TimeSpan.FromMilliseconds(30));
        if (options.LeaseTtl > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{Name(nameof(options.LeaseTtl))} must be at most 10 minutes: it is how long signing pauses when the owner dies.");
        }

        if (options.LeaseRenewInterval is { } renew)
        {
            Positive(failures, nameof(options.LeaseRenewInterval), renew, TimeSpan.FromMilliseconds(10));
            if (renew > options.LeaseTtl / 2)
            {
                failures.Add($"{Name(nameof(options.LeaseRenewInterval))} must be at most half of {Name(nameof(options.LeaseTtl))}, so a renewal can fail once without losing the lease.");
            }
        }

        Positive(failures, nameof(options.OperationTimeout), options.OperationTimeout, TimeSpan.FromMilliseconds(1));
        Positive(failures, nameof(options.HealthCheckTimeout), options.HealthCheckTimeout, TimeSpan.FromMilliseconds(1));
        if (options.HealthCheckTimeout > TimeSpan.FromSeconds(2))
        {
            failures.Add($"{Name(nameof(options.HealthCheckTimeout))} must be at most 2 seconds (the load balancer's check is short).");
        }

        if (options.Retention is { } retention && retention < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{Name(nameof(options.Retention))} must be at least one second when set.");
        }

        return failures.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(failures.Select(f => HokusaiEnvironmentVariables.Rewrite(f, configuration)));
    }

    private static void Positive(List<string> failures, string name, TimeSpan value, TimeSpan minimum)
    {
        if (value < minimum)
        {
            failures.Add($"{Name(name)} must be at least {minimum.TotalMilliseconds:0} ms.");
        }
    }
}
