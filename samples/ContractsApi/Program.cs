using ContractsApi;
using Hokusai.Contracts;
using Hokusai.Contracts.AspNetCore;
using Hokusai.Contracts.Redis;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddLegacyEnvironment();
await builder.UseEmbeddedDefaultsAsync();
builder.AddContractsLogging();
builder.AddContractsObservability();
builder.AddContractsWebSecurity();

var contracts = builder.Services
    .AddHokusaiContracts(builder.Configuration.GetSection(HokusaiContractsOptions.SectionName))
    .AddHokusaiApi(builder.Configuration);
if (builder.Configuration["REDIS_URL"] is { Length: > 0 } redisUrl)
{
    contracts.AddRedis(redisUrl);
}

builder.Services.AddHealthChecks().AddHokusaiContracts(o => o.ShutdownDelay = TimeSpan.FromSeconds(2));
builder.Services.Configure<HokusaiHealthCheckOptions>(builder.Configuration.GetSection("HokusaiContracts:Health"));
builder.Services.Configure<HokusaiHealthEndpointOptions>(builder.Configuration.GetSection("HokusaiContracts:Health"));
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25)); // ECS kills 30 s after SIGTERM

var app = builder.Build();
app.UseContractsWebSecurity();
app.UseHokusaiContracts();
app.MapHokusaiContractsHealth();
app.MapHokusaiContracts();
app.MapOpenApi();
if (app.Environment.IsDevelopment())
{
    app.MapScalarApiReference();
}

await app.RunAsync();

public partial class Program; // public for the integration tests
