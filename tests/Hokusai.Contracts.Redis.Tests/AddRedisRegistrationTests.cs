using System.Net;
using System.Threading.RateLimiting;
using Hokusai.Contracts.Backends;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis.Tests;

public sealed class AddRedisRegistrationTests
{
    private const string Url = "redis://127.0.0.1:6399";

    private static readonly Type[] s_replaced =
    [
        typeof(IDeploymentStore), typeof(IDeploymentQueue), typeof(IDeploymentQuota),
        typeof(ISignerLeaseManager), typeof(IRequestRateLimiterFactory), typeof(IDeploymentAcceptor),
    ];

    // Stands in for AddHokusaiContracts, which registers its in-memory defaults with TryAdd.
    private static void AddInMemoryDefaults(IServiceCollection services)
    {
        foreach (var type in s_replaced)
        {
            services.TryAdd(ServiceDescriptor.Singleton(type, _ => new InvalidOperationException("in-memory default")));
        }
    }

    private static ServiceCollection NewServices()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        return services;
    }

    private static void AssertRedisImplementations(IServiceProvider provider)
    {
        Assert.IsType<RedisDeploymentStore>(provider.GetRequiredService<IDeploymentStore>());
        Assert.IsType<RedisDeploymentQueue>(provider.GetRequiredService<IDeploymentQueue>());
        Assert.IsType<RedisDeploymentQuota>(provider.GetRequiredService<IDeploymentQuota>());
        Assert.IsType<RedisSignerLeaseManager>(provider.GetRequiredService<ISignerLeaseManager>());
        Assert.IsType<RedisRequestRateLimiterFactory>(provider.GetRequiredService<IRequestRateLimiterFactory>());
        Assert.IsType<RedisDeploymentAcceptor>(provider.GetRequiredService<IDeploymentAcceptor>());
    }

    [Fact]
    public async Task AddRedis_AfterInMemoryDefaults_ReplacesThem()
    {
        var services = NewServices();
        AddInMemoryDefaults(services);

        new TestBuilder(services).AddRedis(Url);

        Assert.All(s_replaced, type => Assert.Single(services, d => d.ServiceType == type));
        await using var provider = services.BuildServiceProvider();
        AssertRedisImplementations(provider);
    }

    [Fact]
    public async Task AddRedis_BeforeInMemoryDefaults_StillWins()
    {
        var services = NewServices();

        new TestBuilder(services).AddRedis(Url);
        AddInMemoryDefaults(services);

        await using var provider = services.BuildServiceProvider();
        AssertRedisImplementations(provider);
    }

    [Fact]
    public async Task AddRedis_CalledTwice_RegistersEachServiceAndHealthCheckOnce()
    {
        var services = NewServices();
        var builder = new TestBuilder(services);

        builder.AddRedis(Url).AddRedis("127.0.0.1:6400", o => o.KeyPrefix = "second:");

        Assert.All(s_replaced, type => Assert.Single(services, d => d.ServiceType == type));
        await using var provider = services.BuildServiceProvider();
        var registration = Assert.Single(provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations);
        Assert.Equal("redis", registration.Name);
        Assert.Contains("ready", registration.Tags);
        Assert.True(registration.Timeout <= TimeSpan.FromSeconds(2));
        var options = provider.GetRequiredService<IOptions<RedisContractsOptions>>().Value;
        Assert.Equal("127.0.0.1:6400", options.Configuration);
        Assert.Equal("second:", options.KeyPrefix);
    }

    [Fact]
    public async Task AddRedis_ExistingMultiplexer_IsUsedAndNeedsNoConnectionString()
    {
        var services = NewServices();
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { "127.0.0.1:6399" },
            AbortOnConnectFail = false,
            ConnectTimeout = 200,
        });

        new TestBuilder(services).AddRedis(multiplexer);

        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Same(multiplexer, await provider.GetRequiredService<RedisConnection>().GetAsync());
        AssertRedisImplementations(provider);
    }

    [Fact]
    public async Task AddRedis_Factory_IsInvokedOnFirstUseWithTheProvider()
    {
        var services = NewServices();
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { "127.0.0.1:6399" },
            AbortOnConnectFail = false,
            ConnectTimeout = 200,
        });
        services.AddSingleton<IConnectionMultiplexer>(multiplexer);
        var calls = 0;

        new TestBuilder(services).AddRedis(sp =>
        {
            calls++;
            return sp.GetRequiredService<IConnectionMultiplexer>();
        });

        await using var provider = services.BuildServiceProvider();
        AssertRedisImplementations(provider);
        Assert.Equal(0, calls);
        Assert.Same(multiplexer, await provider.GetRequiredService<RedisConnection>().GetAsync());
        Assert.Same(multiplexer, await provider.GetRequiredService<RedisConnection>().GetAsync());
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task ValidateOnStart_MissingConnectionWithMapping_FailsNamingRedisUrlAndTheKey()
    {
        var services = NewServices();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddHokusaiEnvironmentVariables([]).Build());
        new TestBuilder(services).AddRedis(_ => { });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("REDIS_URL (or HokusaiContracts:Redis:Configuration) is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateOnStart_MissingConnectionWithoutConfiguration_FailsNamingTheKeyOnly()
    {
        var services = NewServices();
        new TestBuilder(services).AddRedis(_ => { });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("HokusaiContracts:Redis:Configuration is not set", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("REDIS_URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateOnStart_InvalidConnectionFromTheVariable_FailsNamingRedisUrlOnly()
    {
        var configuration = new ConfigurationBuilder()
            .AddHokusaiEnvironmentVariables([KeyValuePair.Create("REDIS_URL", (string?)"redis://:s3cret@/0")])
            .Build();
        var services = NewServices();
        services.AddSingleton<IConfiguration>(configuration);
        new TestBuilder(services).AddRedis(configuration["HokusaiContracts:Redis:Configuration"]!);
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("REDIS_URL is invalid", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("HokusaiContracts:Redis:Configuration", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis://:s3cret@127.0.0.1:6379/not-a-db")]
    [InlineData("redis://:s3cret@/0")]
    [InlineData("127.0.0.1:6379,password=s3cret,nonsenseKey=1")]
    public async Task ValidateOnStart_InvalidConnection_FailsWithoutRevealingThePassword(string value)
    {
        var services = NewServices();
        new TestBuilder(services).AddRedis(value);
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("HokusaiContracts:Redis:Configuration is invalid", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateOnStart_BadTimings_Fail()
    {
        var services = NewServices();
        new TestBuilder(services).AddRedis(Url, o =>
        {
            o.HealthCheckTimeout = TimeSpan.FromSeconds(5);
            o.OperationTimeout = TimeSpan.Zero;
            o.KeyPrefix = ":";
        });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("HealthCheckTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("OperationTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("KeyPrefix", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10, 6)]
    [InlineData(10, 0)]
    [InlineData(900, 1)]
    public async Task ValidateOnStart_LeaseRenewalNotWithinHalfTheTtl_FailsNamingTheVariables(int ttlSeconds, int renewSeconds)
    {
        var services = NewServices();
        new TestBuilder(services).AddRedis(Url, o =>
        {
            o.LeaseTtl = TimeSpan.FromSeconds(ttlSeconds);
            o.LeaseRenewInterval = TimeSpan.FromSeconds(renewSeconds);
        });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(ttlSeconds > 600 ? "HokusaiContracts:Redis:LeaseTtl must be at most 10 minutes" : "HokusaiContracts:Redis:LeaseRenewInterval must be", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateOnStart_ValidUrl_Passes()
    {
        var services = NewServices();
        new TestBuilder(services).AddRedis("rediss://default:s3cret@cache.example.internal:6380/2");
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void Parse_RedissUrlWithUserPasswordAndDb_SetsEverything()
    {
        var options = RedisConfiguration.Parse("rediss://app-user:p%40ss%3Aword@cache.example.internal:6380/3");

        Assert.True(options.Ssl);
        Assert.Equal("cache.example.internal", options.SslHost);
        Assert.Equal("app-user", options.User);
        Assert.Equal("p@ss:word", options.Password);
        Assert.Equal(3, options.DefaultDatabase);
        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints));
        Assert.Equal(("cache.example.internal", 6380), (endpoint.Host, endpoint.Port));
        Assert.False(options.AbortOnConnectFail);
    }

    [Fact]
    public void Parse_RedisUrlWithPasswordOnly_HasNoUserAndDefaultPort()
    {
        var options = RedisConfiguration.Parse("redis://:secret@localhost");

        Assert.False(options.Ssl);
        Assert.Null(options.User);
        Assert.Equal("secret", options.Password);
        Assert.Null(options.DefaultDatabase);
        Assert.EndsWith(":6379", Assert.Single(options.EndPoints).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ConfigurationString_KeepsExplicitTimeoutsAndAddsDefaults()
    {
        var options = RedisConfiguration.Parse("redis-a:6379,password=pw,ssl=true,syncTimeout=3000");

        Assert.True(options.Ssl);
        Assert.Equal("pw", options.Password);
        Assert.Equal(3000, options.SyncTimeout);
        Assert.Equal(1000, options.AsyncTimeout);
        Assert.Equal(2000, options.ConnectTimeout);
        Assert.False(options.AbortOnConnectFail);
    }

    [Theory]
    [InlineData("rediss://u:topsecret@host:6380/1")]
    [InlineData("host:6379,password=topsecret")]
    public void ToString_NeverContainsThePassword(string configuration)
    {
        var options = new RedisContractsOptions { Configuration = configuration };

        var text = options.ToString();

        Assert.DoesNotContain("topsecret", text, StringComparison.Ordinal);
        Assert.Contains("host", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hokusai:contracts:", "{hokusai:contracts}:")]
    [InlineData("app", "{app}:")]
    [InlineData("{tenant-1}:hokusai:", "{tenant-1}:hokusai:")]
    [InlineData("{}:x:", "{{}:x}:")]
    public void KeyPrefix_WithoutHashTag_GetsOne(string prefix, string expected)
    {
        Assert.Equal(expected, RedisKeys.ToTagged(prefix));
    }

    [Fact]
    public async Task RequestLimiterFactory_IsResolvableWithoutConnecting()
    {
        var services = NewServices();
        new TestBuilder(services).AddRedis(Url, o => o.OperationTimeout = TimeSpan.FromMilliseconds(300));
        services.Configure<HokusaiContractsOptions>(o => o.Quotas.RequestsPerMinute = 0);
        await using var provider = services.BuildServiceProvider();

        var partition = provider.GetRequiredService<IRequestRateLimiterFactory>().GetPartition("caller");

        using var limiter = partition.Factory(partition.PartitionKey);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
    }
}
