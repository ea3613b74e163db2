using System.Globalization;
using Hokusai.Contracts;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ContractsApi;

/// <summary>
/// Metrics and traces of the reference host: the library's meter and activity source, ASP.NET Core
/// and runtime metrics, a Prometheus scrape endpoint on its own port (<c>METRICS_PORT</c>, 9091) so
/// it is never exposed through the load balancer, and OTLP export when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. The library itself stays free of exporter choices.
/// </summary>
internal static class Observability
{
    internal const int DefaultApiPort = 3001;
    internal const int DefaultMetricsPort = 9091;
    internal const string MetricsPath = "/metrics";
    internal const string ServiceName = "hokusai-contracts";

    /// <summary>
    /// Adds the library's health checks (2 s shutdown delay for the balancer to notice), their settings from
    /// <c>HokusaiContracts:Health</c>, and the host's 25 s shutdown timeout (ECS kills 30 s after SIGTERM).
    /// </summary>
    public static WebApplicationBuilder AddContractsHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddHokusaiContracts(o => o.ShutdownDelay = TimeSpan.FromSeconds(2));
        builder.Services.Configure<HokusaiHealthCheckOptions>(builder.Configuration.GetSection("HokusaiContracts:Health"));
        builder.Services.Configure<Hokusai.Contracts.AspNetCore.HokusaiHealthEndpointOptions>(builder.Configuration.GetSection("HokusaiContracts:Health"));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        return builder;
    }

    /// <summary>Adds metrics, traces and the metrics listener; the scrape endpoint is wired by a startup filter.</summary>
    public static WebApplicationBuilder AddContractsObservability(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var apiPort = ReadPort(config, "PORT", DefaultApiPort);
        var metricsPort = ReadPort(config, "METRICS_PORT", DefaultMetricsPort);

        var apiUrls = (config[WebHostDefaults.ServerUrlsKey] ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (apiUrls.Length == 0)
        {
            apiUrls = [string.Create(CultureInfo.InvariantCulture, $"http://+:{apiPort}")];
        }

        if (apiUrls.Any(u => PortOf(u) == metricsPort))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"METRICS_PORT ({metricsPort}) must differ from the API port (PORT / ASPNETCORE_URLS)."));
        }

        // The metrics listener binds on the same host as the first API address (all interfaces in the container).
        var metricsUrl = string.Create(CultureInfo.InvariantCulture, $"{HostPart(apiUrls[0])}:{metricsPort}");
        builder.WebHost.UseUrls([.. apiUrls, metricsUrl]);
        builder.Services.AddSingleton(new MetricsEndpoint(metricsPort));
        builder.Services.AddTransient<IStartupFilter, MetricsStartupFilter>();

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName, serviceVersion: typeof(Observability).Assembly.GetName().Version?.ToString(3)))
            .WithMetrics(m => m
                .AddMeter(HokusaiContractsDiagnostics.MeterName)
                .AddMeter("System.Runtime")
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter())
            .WithTracing(t => t
                .AddSource(HokusaiContractsDiagnostics.ActivitySourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                    !ctx.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
                    && ctx.Connection.LocalPort != metricsPort));

        if (!string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Reads OTEL_EXPORTER_OTLP_* (endpoint, protocol, headers) itself.
            otel.UseOtlpExporter();
        }

        return builder;
    }

    internal static int ReadPort(IConfiguration config, string key, int fallback)
    {
        var raw = config[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }

        return int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new InvalidOperationException($"{key} must be a TCP port number (1-65535), was '{raw}'.");
    }

    private static int? PortOf(string url)
    {
        var colon = url.LastIndexOf(':');
        return colon > 0 && int.TryParse(url.AsSpan(colon + 1).TrimEnd('/'), NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : null;
    }

    private static string HostPart(string url)
    {
        var colon = url.LastIndexOf(':');
        return colon > url.IndexOf("://", StringComparison.Ordinal) + 2 ? url[..colon] : url.TrimEnd('/');
    }

    internal sealed record MetricsEndpoint(int Port);

    /// <summary>
    /// Puts the scrape endpoint in front of the pipeline, answering only on the metrics port, and keeps
    /// the API off that port: the metrics listener serves <c>/metrics</c> and nothing else.
    /// </summary>
    private sealed class MetricsStartupFilter(MetricsEndpoint endpoint) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(ctx =>
                ctx.Connection.LocalPort == endpoint.Port && ctx.Request.Path == MetricsPath);
            app.Use((ctx, nextMiddleware) =>
            {
                if (ctx.Connection.LocalPort == endpoint.Port)
                {
                    ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return nextMiddleware(ctx);
            });
            next(app);
        };
    }
}
