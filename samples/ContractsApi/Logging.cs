using System.Globalization;
using System.Text.RegularExpressions;
using Hokusai.Contracts;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;
using Serilog.Parsing;

namespace ContractsApi;

/// <summary>
/// Structured logs of the reference host: one compact JSON object per line on stdout (CloudWatch
/// parses it), or readable text lines when stdout is a terminal (<c>LOG_FORMAT</c> decides either way),
/// level from <c>LOG_LEVEL</c>, request id and trace id on every line of a request, the engine's job and
/// model ids from its logging scopes, and secrets scrubbed before anything is written.
/// </summary>
internal static partial class Logging
{
    internal const string Redacted = "[REDACTED]";

    /// <summary>The line layout of <see cref="LogFormat.Text"/>: time, level, message, exception.</summary>
    internal const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";

    /// <summary>How lines are written.</summary>
    internal enum LogFormat
    {
        /// <summary>One compact JSON object per line (machines: CloudWatch, log shippers).</summary>
        Json,

        /// <summary>One readable line per event (a person at a terminal).</summary>
        Text,
    }

    /// <summary>Replaces the host's logging with Serilog writing to <paramref name="output"/> (stdout by default).</summary>
    public static WebApplicationBuilder AddContractsLogging(this WebApplicationBuilder builder, TextWriter? output = null)
    {
        var level = ParseLevel(builder.Configuration["LOG_LEVEL"]);
        var secrets = SecretValues(builder.Configuration);
        var writer = output ?? Console.Out;
        // A person at a terminal reads text; anything else (a container's log driver, a pipe) gets JSON.
        var format = ParseFormat(builder.Configuration["LOG_FORMAT"], stdoutIsTerminal: output is null && !Console.IsOutputRedirected);
        ITextFormatter formatter = format == LogFormat.Text
            ? new MessageTemplateTextFormatter(TextTemplate, CultureInfo.InvariantCulture)
            : new RenderedCompactJsonFormatter();
        // Framework chatter (one line per request start/end, routing) stays out unless debugging;
        // the request logging middleware writes one line per request instead.
        var frameworkLevel = level < LogEventLevel.Warning ? (level == LogEventLevel.Debug ? LogEventLevel.Information : LogEventLevel.Warning) : level;

        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSerilog((services, cfg) => cfg
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft.AspNetCore", frameworkLevel)
            .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", LogEventLevel.Warning)
            // These categories write raw request lines (full URL with query string, headers) at Information
            // and below; query strings and headers are never logged, whatever LOG_LEVEL says.
            .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.AspNetCore.Server.Kestrel", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.AspNetCore.HttpLogging", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
            // A failed start is reported by Program as one line on stderr; the host's own record of it
            // would add a stack trace to stdout.
            .Filter.ByExcluding(IsStartupFailure)
            .Enrich.FromLogContext()
            .Enrich.With(new HttpRequestEnricher(services.GetRequiredService<IHttpContextAccessor>()))
            .Enrich.With<SensitivePropertyEnricher>()
            .WriteTo.Sink(new RedactingSink(writer, formatter, secrets)));
        builder.Services.AddTransient<IStartupFilter, RequestLoggingStartupFilter>();
        return builder;
    }

    internal static bool IsStartupFailure(LogEvent logEvent) =>
        logEvent.Properties.TryGetValue("SourceContext", out var source) && source is ScalarValue { Value: "Microsoft.Extensions.Hosting.Internal.Host" }
        && logEvent.Properties.TryGetValue("EventId", out var id) && id is StructureValue structure
        && structure.Properties.Any(p => p.Name == "Name" && p.Value is ScalarValue { Value: "HostedServiceStartupFaulted" });

    /// <summary>Maps <c>LOG_LEVEL</c> (error, warn, info, debug; default info).</summary>
    internal static LogEventLevel ParseLevel(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => LogEventLevel.Information,
        "error" => LogEventLevel.Error,
        "warn" => LogEventLevel.Warning,
        "info" => LogEventLevel.Information,
        "debug" => LogEventLevel.Debug,
        _ => throw new InvalidOperationException($"LOG_LEVEL must be one of error, warn, info, debug (was '{value}')."),
    };

    /// <summary>Maps <c>LOG_FORMAT</c> (json, text; default text when stdout is a terminal, else json).</summary>
    internal static LogFormat ParseFormat(string? value, bool stdoutIsTerminal) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => stdoutIsTerminal ? LogFormat.Text : LogFormat.Json,
        "json" => LogFormat.Json,
        "text" => LogFormat.Text,
        _ => throw new InvalidOperationException($"LOG_FORMAT must be json or text (was '{value}')."),
    };

    /// <summary>
    /// The configured secret values that must never reach a log line: the deployer key, API keys,
    /// the webhook signing secrets, the JWT secret and the Redis password.
    /// </summary>
    internal static IReadOnlyList<string> SecretValues(IConfiguration config)
    {
        var values = new List<string>();
        void Add(string? v)
        {
            v = v?.Trim();
            // Very short values would redact ordinary text; real secrets are long.
            if (!string.IsNullOrEmpty(v) && v.Length >= 6)
            {
                values.Add(v);
            }
        }

        // Configuration keys, which the environment variables (DEPLOYER_PRIVATE_KEY, VALID_API_KEYS, …) map onto.
        const string Root = HokusaiContractsOptions.SectionName + ":";
        foreach (var key in Settings(config, Root + "Chain:DeployerPrivateKey").Concat(Settings(config, Root + "Chain:DeployerPrivateKeys")))
        {
            Add(key);
            if (key.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                Add(key[2..]);
            }
        }

        var lists = new[] { Root + "Authentication:ApiKeys", Root + "Authentication:AdminApiKeys", Root + "Webhooks:Secrets" };
        foreach (var entry in lists.SelectMany(l => Settings(config, l)).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            Add(entry);
            // "name:key" (and "caller:secret") entries: the part after the name alone is the secret.
            var sep = entry.IndexOf(':', StringComparison.Ordinal);
            if (sep > 0)
            {
                Add(entry[(sep + 1)..]);
            }
        }

        Add(config[Root + "Authentication:JwtSecret"]);
        Add(RedisPassword(config[Root + "Redis:Configuration"]));
        return [.. values.Distinct(StringComparer.Ordinal).OrderByDescending(v => v.Length)];
    }

    /// <summary>The value at <paramref name="key"/> and the values of its children (a list).</summary>
    private static IEnumerable<string> Settings(IConfiguration config, string key) =>
        new[] { config[key] }.Concat(config.GetSection(key).GetChildren().Select(c => c.Value)).OfType<string>();

    /// <summary>The password in <c>redis://user:pass@host</c> or <c>host:port,password=pass</c> forms.</summary>
    internal static string? RedisPassword(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        if (url.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0)
        {
            var info = Uri.UnescapeDataString(uri.UserInfo);
            var colon = info.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 ? info[(colon + 1)..] : info;
        }

        foreach (var part in url.Split(','))
        {
            var kv = part.Trim();
            if (kv.StartsWith("password=", StringComparison.OrdinalIgnoreCase))
            {
                return kv["password=".Length..];
            }
        }

        return null;
    }

    /// <summary>
    /// Adds the request id and route of the current HTTP request to every event logged during it. The
    /// route is the matched template (<c>/api/deployments/{id}/status</c>), never the raw path, which can
    /// carry anything a client typed, secrets included; the only parameter logged is a well-formed job id.
    /// </summary>
    private sealed class HttpRequestEnricher(IHttpContextAccessor accessor) : ILogEventEnricher
    {
        internal const string Unmatched = "(unmatched)";

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            if (accessor.HttpContext is not { } ctx)
            {
                return;
            }

            // Replaces the server's connection-based id from the hosting scope with the X-Request-Id the
            // caller sees, and the raw path the hosting scope and request logging put there with the route.
            logEvent.AddOrUpdateProperty(propertyFactory.CreateProperty("RequestId", ctx.TraceIdentifier));
            logEvent.AddOrUpdateProperty(propertyFactory.CreateProperty("RequestPath", RouteOf(ctx)));
            if (ctx.Request.RouteValues.TryGetValue("id", out var id) && Guid.TryParseExact(id as string, "D", out var jobId))
            {
                logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("DeploymentId", jobId));
            }
        }

        internal static string RouteOf(HttpContext context) =>
            context.GetEndpoint() is Microsoft.AspNetCore.Routing.RouteEndpoint { RoutePattern.RawText: { } template }
                ? "/" + template.Trim('/')
                : Unmatched;
    }

    /// <summary>Blanks properties whose name says they hold a secret, at any depth of a destructured object.</summary>
    internal sealed class SensitivePropertyEnricher : ILogEventEnricher
    {
        private static readonly string[] Markers = ["password", "secret", "privatekey", "private_key", "apikey", "api_key", "authorization", "jwt", "bearer", "credential"];

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            foreach (var (name, value) in logEvent.Properties.ToList())
            {
                var redacted = Redact(name, value);
                if (!ReferenceEquals(redacted, value))
                {
                    logEvent.AddOrUpdateProperty(new LogEventProperty(name, redacted));
                }
            }
        }

        internal static bool IsSensitive(string name)
        {
            var n = name.Replace("-", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
            return Markers.Any(m => n.Contains(m, StringComparison.Ordinal)) || n is "token" or "accesstoken" or "key";
        }

        private static LogEventPropertyValue Redact(string name, LogEventPropertyValue value)
        {
            if (IsSensitive(name))
            {
                return new ScalarValue(Redacted);
            }

            switch (value)
            {
                case StructureValue s:
                    var props = s.Properties.Select(p => new LogEventProperty(p.Name, Redact(p.Name, p.Value))).ToList();
                    return props.Zip(s.Properties).All(x => ReferenceEquals(x.First.Value, x.Second.Value)) ? value : new StructureValue(props, s.TypeTag);
                case DictionaryValue d:
                    var entries = d.Elements.Select(e => new KeyValuePair<ScalarValue, LogEventPropertyValue>(
                        e.Key, Redact(e.Key.Value?.ToString() ?? string.Empty, e.Value))).ToList();
                    return entries.Zip(d.Elements).All(x => ReferenceEquals(x.First.Value, x.Second.Value)) ? value : new DictionaryValue(entries);
                case SequenceValue q:
                    var items = q.Elements.Select(e => Redact(string.Empty, e)).ToList();
                    return items.Zip(q.Elements).All(x => ReferenceEquals(x.First, x.Second)) ? value : new SequenceValue(items);
                default:
                    return value;
            }
        }
    }

    /// <summary>
    /// Formats each event (a JSON or a text line) and replaces every known secret value (raw or JSON-escaped)
    /// before writing: the last line of defence, covering messages and exception texts too.
    /// </summary>
    internal sealed partial class RedactingSink(TextWriter output, ITextFormatter formatter, IReadOnlyList<string> secrets) : ILogEventSink
    {
        private readonly Lock _gate = new();
        private readonly Regex[] _patterns = [.. secrets.Select(SecretEncodings.Pattern)];
        private readonly string[] _needles = [.. secrets.SelectMany(SecretEncodings.Base64Forms).Distinct(StringComparer.Ordinal).OrderByDescending(n => n.Length)];

        public void Emit(LogEvent logEvent)
        {
            using var buffer = new StringWriter(CultureInfo.InvariantCulture);
            formatter.Format(logEvent, buffer);
            string line;
            try
            {
                line = Redact(buffer.ToString());
            }
            catch (Exception ex) when (ex is RegexMatchTimeoutException or ArgumentException)
            {
                // Never the unredacted text: a line saying one was withheld, so its absence is visible.
                using var notice = new StringWriter(CultureInfo.InvariantCulture);
                formatter.Format(new LogEvent(logEvent.Timestamp, LogEventLevel.Error, null, WithheldTemplate, []), notice);
                line = notice.ToString();
            }

            lock (_gate)
            {
                output.Write(line);
                output.Flush();
            }
        }

        private static readonly MessageTemplate WithheldTemplate = new MessageTemplateParser().Parse("A log line was withheld: redaction failed.");

        private string Redact(string line)
        {
            foreach (var pattern in _patterns)
            {
                line = pattern.Replace(line, Redacted);
            }

            foreach (var needle in _needles)
            {
                line = line.Replace(needle, Redacted, StringComparison.Ordinal);
            }

            // Callers' tokens are not configuration, so they are recognised by shape.
            line = JwtPattern().Replace(line, Redacted);
            return BearerPattern().Replace(line, "Bearer " + Redacted);
        }

        [System.Text.RegularExpressions.GeneratedRegex(@"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")]
        private static partial System.Text.RegularExpressions.Regex JwtPattern();

        [System.Text.RegularExpressions.GeneratedRegex(@"Bearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]+", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
        private static partial System.Text.RegularExpressions.Regex BearerPattern();

    }

    /// <summary>One line per request (method, path, status, elapsed); probes and scrapes only at debug.</summary>
    private sealed class RequestLoggingStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseSerilogRequestLogging(o => o.GetLevel = (ctx, _, ex) =>
                ex is not null || ctx.Response.StatusCode >= 500 ? LogEventLevel.Error
                : ctx.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
                  || ctx.Request.Path.StartsWithSegments(Observability.MetricsPath, StringComparison.OrdinalIgnoreCase) ? LogEventLevel.Debug
                : LogEventLevel.Information);
            next(app);
        };
    }
}
