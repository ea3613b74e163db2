using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Reflection;
using Hokusai.Contracts.AspNetCore.Health;
using Hokusai.Contracts.Backends;
using Hokusai.Contracts.Health;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore;

/// <summary>Maps the health endpoints a load balancer, a container runtime and an operator use.</summary>
public static class HokusaiHealthEndpointRouteBuilderExtensions
{
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Maps <c>GET {prefix}</c> (liveness, no I/O), <c>GET {prefix}/ready</c> (every check tagged
    /// <see cref="HokusaiHealthCheckOptions.ReadyTag"/>; 200 or 503) and, unless turned off in
    /// <see cref="HokusaiHealthEndpointOptions"/>, <c>GET {prefix}/detailed</c> (requires authorization).
    /// The host must have called <c>services.AddHealthChecks().AddHokusaiContracts()</c>.
    /// Liveness and readiness allow anonymous callers and are exempt from rate limiting.
    /// </summary>
    /// <param name="endpoints">The application's endpoint builder.</param>
    /// <param name="prefix">Route prefix, <c>/health</c> by default.</param>
    /// <returns>The route group, for further conventions.</returns>
    public static RouteGroupBuilder MapHokusaiContractsHealth(this IEndpointRouteBuilder endpoints, string prefix = "/health")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetService<IOptions<HokusaiHealthEndpointOptions>>()?.Value ?? new HokusaiHealthEndpointOptions();

        var group = endpoints.MapGroup(prefix).WithTags("Health");

        group.MapGet("/", (Delegate)Live)
            .WithName("HealthLive").WithSummary("Liveness: the process runs (no I/O).")
            .AllowAnonymous().DisableRateLimiting();

        group.MapGet("/ready", (Delegate)ReadyAsync)
            .WithName("HealthReady").WithSummary("Readiness: dependencies answer and the host is neither starting nor stopping.")
            .AllowAnonymous().DisableRateLimiting();

        if (options.DetailedEnabled)
        {
            var detailed = group.MapGet("/detailed", (Delegate)DetailedAsync)
                .WithName("HealthDetailed").WithSummary("Readiness plus memory, uptime, configuration status, chain, queue and jobs.");
            // With AddHokusaiApi the API's operator policy (an ADMIN_API_KEYS key, or a JWT with the admin role or
            // scope) guards it: the default policy has no authentication scheme in such a host.
            if ((options.DetailedAuthorizationPolicy ?? ApiPolicy(endpoints.ServiceProvider)) is { } policy)
            {
                detailed.RequireAuthorization(policy);
            }
            else
            {
                detailed.RequireAuthorization();
            }
        }

        return group;
    }

    // The report shows every tenant's job counts and the deployer's balance, so with the API registered it
    // needs the operator permission, not just any tenant's credentials.
    private static string? ApiPolicy(IServiceProvider services) =>
        services.GetService<IOptions<Microsoft.AspNetCore.Authorization.AuthorizationOptions>>()?.Value.GetPolicy(HokusaiAuthenticationDefaults.AdminPolicy) is null
            ? null
            : HokusaiAuthenticationDefaults.AdminPolicy;

    internal static Ok<LivenessResponse> Live(HttpContext context, [FromServices] TimeProvider? time)
    {
        NoStore(context);
        return TypedResults.Ok(new LivenessResponse("ok", (time ?? TimeProvider.System).GetUtcNow()));
    }

    internal static async Task<JsonHttpResult<ReadinessResponse>> ReadyAsync(HttpContext context, [FromServices] HealthCheckService? health)
    {
        NoStore(context);
        var report = await Required(health).CheckHealthAsync(IsReadinessCheck, context.RequestAborted);
        var ready = report.Status != HealthStatus.Unhealthy;
        return TypedResults.Json(
            new ReadinessResponse(ready ? "ready" : "not_ready", ToEntries(report)),
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    internal static async Task<JsonHttpResult<DetailedResponse>> DetailedAsync(HttpContext context, [AsParameters] DetailedHealthSources sources)
    {
        NoStore(context);
        var health = Required(sources.Health);
        var ct = context.RequestAborted;
        var options = sources.Options?.Value ?? new HokusaiHealthEndpointOptions();
        var time = sources.Time ?? TimeProvider.System;
        var warnings = new List<string>();

        var reportTask = health.CheckHealthAsync(IsReadinessCheck, ct);
        var chainTask = ChainReportAsync(sources, options, warnings, ct);
        var queueTask = QueueReportAsync(sources.Queue, time, ct);
        var jobsTask = JobsReportAsync(sources.Store, time, ct);
        var webhooksTask = WebhooksReportAsync(sources.Outbox, time, ct);
        var signersTask = SignersReportAsync(sources.Signers, ct);
        var report = await reportTask;
        var ready = report.Status != HealthStatus.Unhealthy;

        var body = new DetailedResponse
        {
            Status = ready ? "ready" : "not_ready",
            Timestamp = time.GetUtcNow(),
            Version = AppVersion,
            UptimeSeconds = Math.Round((time.GetUtcNow() - ProcessStart).TotalSeconds, 1),
            Memory = Memory(),
            Configuration = ConfigurationStatus(sources.Configuration, options.ReportedSettings, options.SettingAliases),
            Chain = await chainTask,
            Queue = await queueTask,
            Jobs = await jobsTask,
            Webhooks = await webhooksTask,
            RegistryMirror = sources.Mirror is { } mirror
                ? new RegistryMirrorReport(mirror.IsCaughtUp, mirror.Cursor, mirror.LagBlocks)
                : null,
            Signers = await signersTask,
            Warnings = warnings,
            Checks = ToEntries(report),
        };
        return TypedResults.Json(body, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static HealthCheckService Required(HealthCheckService? health) =>
        health ?? throw new InvalidOperationException("Health checks are not registered: call services.AddHealthChecks().AddHokusaiContracts().");

    /// <summary>Each key of the signer pool (null in a host without the job engine).</summary>
    private static async Task<IReadOnlyList<SignerReport>?> SignersReportAsync(ISignerPoolStatus? pool, CancellationToken ct) =>
        pool is not null
            ? (await pool.GetSignersAsync(ct)).Select(s => new SignerReport(
                s.Index,
                s.Address,
                s.Owner,
                s.OwnedHere,
                s.BalanceWei?.ToString(CultureInfo.InvariantCulture),
                s.HasDeployerRole,
                s.InFlight,
                s.NextNonce?.ToString(CultureInfo.InvariantCulture),
                s.Error)).ToList()
            : null;

    internal static bool IsReadinessCheck(HealthCheckRegistration registration) =>
        registration.Tags.Contains(HokusaiHealthCheckOptions.ReadyTag);

    internal static IReadOnlyDictionary<string, CheckEntry> ToEntries(HealthReport report) =>
        report.Entries.ToDictionary(
            e => e.Key,
            e => new CheckEntry(
                StatusName(e.Value.Status),
                Math.Round(e.Value.Duration.TotalMilliseconds, 1),
                e.Value.Description ?? (e.Value.Exception is { } ex ? HealthProbes.Describe(ex) : null)),
            StringComparer.Ordinal);

    internal static string StatusName(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };

    internal static IReadOnlyDictionary<string, string> ConfigurationStatus(
        IConfiguration configuration, IEnumerable<string> keys, IDictionary<string, string[]>? aliases = null) =>
        keys.Distinct(StringComparer.OrdinalIgnoreCase).ToDictionary(
            k => k,
            k => HasValue(configuration.GetSection(k)) || (aliases?.TryGetValue(k, out var more) == true && more.Any(a => HasValue(configuration.GetSection(a))))
                ? "set"
                : "unset",
            StringComparer.Ordinal);

    private static bool HasValue(IConfigurationSection section) =>
        !string.IsNullOrWhiteSpace(section.Value) || section.GetChildren().Any(c => HasValue(c));

    private static async Task<ChainReport> ChainReportAsync(DetailedHealthSources sources, HokusaiHealthEndpointOptions options, List<string> warnings, CancellationToken ct)
    {
        if (sources.Probes is not { } probes)
        {
            return new ChainReport { Error = "health checks not registered (AddHealthChecks().AddHokusaiContracts())" };
        }

        var network = sources.Contracts?.Value.Chain.NetworkName;
        var result = await probes.GetChainStatusAsync(ct);
        if (!result.Succeeded || result.Value is null)
        {
            return new ChainReport { NetworkName = network, Error = result.Error };
        }

        var s = result.Value;
        var eth = WeiToEth(s.DeployerBalanceWei);
        var low = eth < options.DeployerBalanceWarningEth;
        if (low)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture, $"deployer balance {eth} ETH is below the warning threshold of {options.DeployerBalanceWarningEth} ETH"));
        }

        if (!s.DeployerOwnsRegistry)
        {
            warnings.Add("deployer does not own the ModelRegistry: registrations will fail");
        }

        if (!s.DeployerCanMint)
        {
            warnings.Add("deployer may not mint through the TokenManager: initial supplies will fail");
        }

        return new ChainReport
        {
            ChainId = s.ChainId,
            LatestBlock = s.LatestBlock,
            NetworkName = network,
            DeployerAddress = s.DeployerAddress,
            DeployerBalanceWei = s.DeployerBalanceWei.ToString(CultureInfo.InvariantCulture),
            DeployerBalanceEth = eth,
            DeployerBalanceLow = low,
            DeployerOwnsRegistry = s.DeployerOwnsRegistry,
            DeployerCanMint = s.DeployerCanMint,
        };
    }

    private static async Task<QueueReport> QueueReportAsync(IDeploymentQueue? queue, TimeProvider time, CancellationToken ct)
    {
        if (queue is null)
        {
            return new QueueReport(null, null, "no deployment queue registered");
        }

        try
        {
            var depth = await queue.GetDepthAsync(ct).AsTask().WaitAsync(StoreTimeout, time, ct);
            return new QueueReport(depth, queue.IsDurable, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new QueueReport(null, queue.IsDurable, ex is TimeoutException ? "timed out" : HealthProbes.Describe(ex));
        }
    }

    private static async Task<WebhooksReport> WebhooksReportAsync(Webhooks.IWebhookOutbox? outbox, TimeProvider time, CancellationToken ct)
    {
        if (outbox is null)
        {
            return new WebhooksReport(null, null, "no webhook outbox registered");
        }

        try
        {
            var stats = await outbox.GetStatsAsync(ct).WaitAsync(StoreTimeout, time, ct);
            var age = stats.OldestPendingCreatedAt is { } oldest ? Math.Round(Math.Max(0, (time.GetUtcNow() - oldest).TotalSeconds), 1) : (double?)null;
            return new WebhooksReport(stats.Pending, age, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new WebhooksReport(null, null, ex is TimeoutException ? "timed out" : HealthProbes.Describe(ex));
        }
    }

    private static async Task<JobsReport> JobsReportAsync(IDeploymentStore? store, TimeProvider time, CancellationToken ct)
    {
        if (store is null)
        {
            return new JobsReport(null, "no deployment store registered");
        }

        try
        {
            var counts = await store.CountByStatusAsync(ct).WaitAsync(StoreTimeout, time, ct);
            var byStatus = Enum.GetValues<DeploymentStatus>().ToDictionary(
                s => s.ToWireValue(),
                s => counts.TryGetValue(s, out var n) ? n : 0,
                StringComparer.Ordinal);
            return new JobsReport(byStatus, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new JobsReport(null, ex is TimeoutException ? "timed out" : HealthProbes.Describe(ex));
        }
    }

    private static MemoryReport Memory()
    {
        using var process = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        return new MemoryReport(process.WorkingSet64, GC.GetTotalMemory(false), gc.TotalCommittedBytes, GC.CollectionCount(0), GC.CollectionCount(2));
    }

    private static decimal WeiToEth(BigInteger wei)
    {
        // Exact for any realistic balance; decimal holds 28 significant digits.
        var whole = BigInteger.DivRem(wei, BigInteger.Pow(10, 18), out var rest);
        return (decimal)whole + ((decimal)rest / 1_000_000_000_000_000_000m);
    }

    private static void NoStore(HttpContext context) => context.Response.Headers.CacheControl = "no-store";

    private static readonly DateTimeOffset ProcessStart = GetProcessStart();

    private static DateTimeOffset GetProcessStart()
    {
        using var process = Process.GetCurrentProcess();
        return new DateTimeOffset(process.StartTime.ToUniversalTime(), TimeSpan.Zero);
    }

    private static string AppVersion { get; } =
        (Assembly.GetEntryAssembly() ?? typeof(HokusaiHealthEndpointRouteBuilderExtensions).Assembly)
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";
}

/// <summary>
/// What <c>/health/detailed</c> reads, composed from the container per request (each one optional: a host without a
/// queue or a mirror gets a report saying so rather than a failure).
/// </summary>
internal readonly record struct DetailedHealthSources(
    [FromServices] IConfiguration Configuration,
    [FromServices] HealthCheckService? Health,
    [FromServices] TimeProvider? Time,
    [FromServices] IOptions<HokusaiHealthEndpointOptions>? Options,
    [FromServices] IOptions<HokusaiContractsOptions>? Contracts,
    [FromServices] HealthProbes? Probes,
    [FromServices] IDeploymentQueue? Queue,
    [FromServices] IDeploymentStore? Store,
    [FromServices] Webhooks.IWebhookOutbox? Outbox,
    [FromServices] Hokusai.Contracts.Mirror.RegistryMirror? Mirror,
    [FromServices] ISignerPoolStatus? Signers);
