using ContractsApi;
using Hokusai.Contracts;
using Hokusai.Contracts.AspNetCore;
using Hokusai.Contracts.Redis;

// `bootstrap [--legacy]` deploys the contracts. Otherwise a bad setting, a port in use or a dev chain that cannot start: one line on stderr, exit 1.
return args is [BootstrapCommand.Name, ..] ? await BootstrapCommand.RunAsync(args) : await StartupFailure.GuardAsync(args, async builder =>
{
    builder.Configuration.AddHokusaiEnvironmentVariables();
    await builder.UseEmbeddedDefaultsAsync();
    builder.AddContractsLogging();
    builder.AddContractsObservability();
    builder.AddContractsWebSecurity();
    builder.AddContractsHealth();

    var contracts = builder.Services
        .AddHokusaiContracts(builder.Configuration.GetSection(HokusaiContractsOptions.SectionName))
        .AddHokusaiApi(builder.Configuration).AddHokusaiRateLimiter();
    var redis = builder.Configuration.GetSection(RedisContractsOptions.SectionName);
    if (redis[nameof(RedisContractsOptions.Configuration)] is { Length: > 0 } redisUrl)
    {
        contracts.AddRedis(redisUrl, redis.Bind);
    }

    var app = builder.Build();
    app.UseContractsWebSecurity();  // request ids first, forwarded headers, CORS, security headers
    app.UseHokusaiErrorEnvelopes(); // exceptions, unknown routes, 405 … in the error envelope
    app.UseAuthentication();
    app.UseRateLimiter();           // after authentication: the limit is per caller
    app.UseAuthorization();
    app.MapHokusaiContractsHealth();
    app.MapHokusaiContracts();
    app.MapOpenApi();
    app.MapContractsApiReference(); // Scalar at /scalar, Development only
    await app.RunAsync();
});

public partial class Program; // public for the integration tests
