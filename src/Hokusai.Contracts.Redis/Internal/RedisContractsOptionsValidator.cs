using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.Redis;

/// <summary>Where the multiplexer comes from: the configuration string, or a supplied instance or factory.</summary>
internal sealed record RedisConnectionSource(Func<IServiceProvider, StackExchange.Redis.IConnectionMultiplexer>? Factory);

/// <summary>Checks <see cref="RedisContractsOptions"/> at start-up; messages name the setting (and never its secret value).</summary>
internal sealed class RedisContractsOptionsValidator(RedisConnectionSource source) : IValidateOptions<RedisContractsOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisContractsOptions options)
    {
        var failures = new List<string>();
        if (source.Factory is null)
        {
            if (string.IsNullOrWhiteSpace(options.Configuration))
            {
                failures.Add($"{RedisContractsOptions.EnvironmentVariable} is not set: give redis://[user:password@]host:port[/db], rediss://… or a StackExchange.Redis configuration string.");
            }
            else
            {
                try
                {
                    RedisConfiguration.Parse(options.Configuration);
                }
                catch (FormatException ex)
                {
                    failures.Add($"{RedisContractsOptions.EnvironmentVariable} is invalid: {ex.Message}");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.Trim(':').Length == 0)
        {
            failures.Add("Redis KeyPrefix must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.StreamName))
        {
            failures.Add("Redis StreamName must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ConsumerGroup))
        {
            failures.Add("Redis ConsumerGroup must not be empty.");
        }

        if (options.ConsumerName is { } consumer && string.IsNullOrWhiteSpace(consumer))
        {
            failures.Add("Redis ConsumerName must not be blank (leave it unset for the default).");
        }

        Positive(failures, nameof(options.ClaimIdleTimeout), options.ClaimIdleTimeout, TimeSpan.FromMilliseconds(30));
        Positive(failures, nameof(options.PollInterval), options.PollInterval, TimeSpan.FromMilliseconds(1));
        Positive(failures, nameof(options.LeaseTtl), options.LeaseTtl, TimeSpan.FromMilliseconds(30));
        if (options.LeaseTtl > TimeSpan.FromMinutes(10))
        {
            failures.Add("Redis LeaseTtl (SIGNER_LEASE_TTL) must be at most 10 minutes: it is how long signing pauses when the owner dies.");
        }

        if (options.LeaseRenewInterval is { } renew)
        {
            Positive(failures, nameof(options.LeaseRenewInterval), renew, TimeSpan.FromMilliseconds(10));
            if (renew > options.LeaseTtl / 2)
            {
                failures.Add("Redis LeaseRenewInterval (SIGNER_LEASE_RENEW_INTERVAL) must be at most half of LeaseTtl (SIGNER_LEASE_TTL), so a renewal can fail once without losing the lease.");
            }
        }

        Positive(failures, nameof(options.OperationTimeout), options.OperationTimeout, TimeSpan.FromMilliseconds(1));
        Positive(failures, nameof(options.HealthCheckTimeout), options.HealthCheckTimeout, TimeSpan.FromMilliseconds(1));
        if (options.HealthCheckTimeout > TimeSpan.FromSeconds(2))
        {
            failures.Add("Redis HealthCheckTimeout must be at most 2 seconds (the load balancer's check is short).");
        }

        if (options.Retention is { } retention && retention < TimeSpan.FromSeconds(1))
        {
            failures.Add("Redis Retention must be at least one second when set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Positive(List<string> failures, string name, TimeSpan value, TimeSpan minimum)
    {
        if (value < minimum)
        {
            failures.Add($"Redis {name} must be at least {minimum.TotalMilliseconds:0} ms.");
        }
    }
}
