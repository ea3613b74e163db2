using ContractsApi;
using Hokusai.Contracts;
using Hokusai.Contracts.AspNetCore;
using Hokusai.Contracts.Redis;

// `bootstrap [--legacy]` deploys the contracts. Otherwise a bad setting, a port in use or a dev chain that cannot start: one line on stderr, exit 1.
return args is [BootstrapCommand.Name, ..] ? await BootstrapCommand.RunAsync(args) : await StartupFailure.GuardAsync(async () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.Configuration.AddLegacyEnvironment();
    await builder.UseEmbeddedDefaultsAsync();
    builder.AddContractsLogging();
    builder.AddContractsObservability();
    builder.AddContractsWebSecurity();
    builder.AddContractsHealth();

    var contracts = builder.Services
        .AddHokusaiContracts(builder.Configuration.GetSection(HokusaiContractsOptions.SectionName))
        .AddHokusaiApi(builder.Configuration);
    if (builder.Configuration["REDIS_URL"] is { Length: > 0 } redisUrl)
    {
        contracts.AddRedis(redisUrl, builder.Configuration.GetSection(RedisContractsOptions.SectionName).Bind);
    }

    var app = builder.Build();
    app.UseContractsWebSecurity();
    app.UseHokusaiContracts();
    app.MapHokusaiContractsHealth();
    app.MapHokusaiContracts();
    app.MapOpenApi();
    app.MapContractsApiReference(); // Scalar at /scalar, Development only

    await app.RunAsync();
});

public partial class Program; // public for the integration tests
