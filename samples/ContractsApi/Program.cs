using ContractsApi;
using Hokusai.Contracts;
using Hokusai.Contracts.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
builder.AddContractsLogging();
builder.AddContractsObservability();
builder.Services.AddHealthChecks().AddHokusaiContracts();
builder.Services.Configure<HokusaiHealthEndpointOptions>(o =>
{
    o.DetailedEnabled = builder.Configuration.GetValue("HEALTH_DETAILED_ENABLED", true);
    o.DeployerBalanceWarningEth = builder.Configuration.GetValue("DEPLOYER_BALANCE_WARNING_ETH", o.DeployerBalanceWarningEth);
});

var app = builder.Build();
app.MapHokusaiContractsHealth();
app.Run();
