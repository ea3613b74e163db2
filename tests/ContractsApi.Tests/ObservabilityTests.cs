using System.Globalization;
using System.Net;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts;
using Hokusai.Contracts.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContractsApi.Tests;

public sealed class ObservabilityTests
{
    private static WebApplicationBuilder Builder(IDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [Fact]
    public async Task Metrics_OnMetricsPort_ExposeLibraryAndHttpInstrumentsInPrometheusText()
    {
        var apiPort = Repo.FreePort();
        var metricsPort = Repo.FreePort();
        var builder = Builder(new Dictionary<string, string?>
        {
            ["urls"] = $"http://127.0.0.1:{apiPort}",
            ["METRICS_PORT"] = metricsPort.ToString(CultureInfo.InvariantCulture),
        });
        builder.AddContractsObservability();
        await using var app = builder.Build();
        app.MapGet("/ping", () => TypedResults.Ok("pong"));
        await app.StartAsync();
        using var client = new HttpClient();

        using (var ping = await client.GetAsync(new Uri($"http://127.0.0.1:{apiPort}/ping")))
        {
            Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        }

        // The host's own meter factory, as the library's registration does: the exporter sees these instruments.
        var telemetry = new ContractsTelemetry(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        telemetry.DeploymentAccepted();
        telemetry.DeploymentFailed(ErrorCodes.InsufficientFunds, TimeSpan.FromSeconds(4));
        telemetry.RpcCall("eth_getTransactionReceipt", "success", TimeSpan.FromMilliseconds(20));
        telemetry.StepFinished(DeploymentStep.DeployingToken, TimeSpan.FromSeconds(3), succeeded: true);
        telemetry.QuotaRejection("day");
        using var metrics = await client.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        var text = await metrics.Content.ReadAsStringAsync();
        using var onApiPort = await client.GetAsync(new Uri($"http://127.0.0.1:{apiPort}/metrics"));
        using var pingOnMetricsPort = await client.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/ping"));

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("hokusai_contracts_deployments_accepted_total", text, StringComparison.Ordinal);
        Assert.Contains("hokusai_contracts_deployments_failed_total{", text, StringComparison.Ordinal);
        Assert.Contains("error_code=\"INSUFFICIENT_FUNDS\"", text, StringComparison.Ordinal);
        Assert.Contains("hokusai_contracts_rpc_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("rpc_method=\"eth_getTransactionReceipt\"", text, StringComparison.Ordinal);
        Assert.Contains("hokusai_contracts_deployment_step_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("hokusai_contracts_quota_rejections_total{", text, StringComparison.Ordinal);
        Assert.Contains("hokusai_contracts_jobs_in_flight", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, onApiPort.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, pingOnMetricsPort.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public void AddContractsObservability_MetricsPortEqualsApiPort_FailsNamingMetricsPort()
    {
        var builder = Builder(new Dictionary<string, string?> { ["PORT"] = "3001", ["METRICS_PORT"] = "3001" });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddContractsObservability());

        Assert.Contains("METRICS_PORT", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PORT", "abc")]
    [InlineData("METRICS_PORT", "70000")]
    public void AddContractsObservability_BadPort_FailsNamingTheVariable(string key, string value)
    {
        var builder = Builder(new Dictionary<string, string?> { [key] = value });

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddContractsObservability());

        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }
}
