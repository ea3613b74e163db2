using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace ContractsApi;

/// <summary>
/// Turns a failed start into one line on stderr that names the setting and its rule, and exit code 1:
/// no stack trace, no configuration value (values can be secrets).
/// </summary>
internal static partial class StartupFailure
{
    /// <summary>Exit code of a host that could not start.</summary>
    public const int ExitCode = 1;

    /// <summary>
    /// Creates the builder and runs the host; a start-up failure is reported as one line and exit code 1, naming
    /// each setting as the builder's configuration says it was set (variable or key).
    /// </summary>
    public static async Task<int> GuardAsync(string[] args, Func<WebApplicationBuilder, Task> run, TextWriter? error = null)
    {
        IConfiguration? configuration = null;
        try
        {
            var builder = WebApplication.CreateBuilder(args);
            configuration = builder.Configuration;
            await run(builder);
            return 0;
        }
        // In-process test hosts (WebApplicationFactory) run this entry point too; they need the exception itself.
        catch (Exception exception) when (exception is not HostAbortedException && RunsAsTheProgram)
        {
            (error ?? Console.Error).WriteLine("hokusai-contracts: start-up failed: " + Describe(exception, configuration));
            return ExitCode;
        }
    }

    private static bool RunsAsTheProgram =>
        System.Reflection.Assembly.GetEntryAssembly() == typeof(StartupFailure).Assembly;

    /// <summary>One line for <paramref name="exception"/>, each setting named as <paramref name="configuration"/> says it was set.</summary>
    internal static string Describe(Exception exception, IConfiguration? configuration)
    {
        var root = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerException! : exception;
        var text = root switch
        {
            // Generated validators prefix each failure with the member name ("PerHour: …").
            OptionsValidationException options => string.Join(" ", options.Failures.Select(f => MemberPrefixPattern().Replace(f, string.Empty)).Distinct(StringComparer.Ordinal)),
            IOException io when io.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
                || io.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase) => PortInUse(io.Message),
            _ => root.Message,
        };
        return NameSettings(OneLine(text), configuration);
    }

    /// <summary>Names the variable of the port that could not be bound.</summary>
    private static string PortInUse(string message)
    {
        var port = PortPattern().Match(message) is { Success: true } m ? m.Groups[1].Value : null;
        var metrics = Environment.GetEnvironmentVariable("METRICS_PORT") is { Length: > 0 } value ? value.Trim()
            : Observability.DefaultMetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var variable = port is not null && port == metrics ? "METRICS_PORT" : "PORT (or ASPNETCORE_URLS)";
        return $"{variable}: port {port ?? "?"} is already in use by another process; choose a free port.";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9_.]+: ")]
    private static partial System.Text.RegularExpressions.Regex MemberPrefixPattern();

    [System.Text.RegularExpressions.GeneratedRegex(@":(\d{1,5})\b")]
    private static partial System.Text.RegularExpressions.Regex PortPattern();

    // The binder quotes the offending value, which may be a secret.
    [System.Text.RegularExpressions.GeneratedRegex(@"configuration value '.*?' at ")]
    private static partial System.Text.RegularExpressions.Regex ConfigurationValuePattern();

    /// <summary>
    /// Names each setting as the caller set it: "QUOTA_PER_HOUR" when the variable was set, the key when a file or
    /// <c>HokusaiContracts__…</c> set it (<see cref="Hokusai.Contracts.HokusaiEnvironmentVariables.Rewrite"/>).
    /// </summary>
    internal static string NameSettings(string text, IConfiguration? configuration)
    {
        text = ConfigurationValuePattern().Replace(text, "configuration value at ");
        // The binder's type name becomes the rule: "'…:LegacyJwtOwners' must be true or false."
        text = ConversionPattern().Replace(text, m => $"{m.Groups[1].Value} must be {Rule(m.Groups[2].Value)} ({m.Groups[2].Value}).");
        return Hokusai.Contracts.HokusaiEnvironmentVariables.Rewrite(text, configuration);
    }

    private static string Rule(string type) => type switch
    {
        "System.Boolean" => "true or false",
        "System.Int32" or "System.Int64" or "System.UInt64" => "a whole number",
        "System.Decimal" or "System.Double" => "a number",
        "System.TimeSpan" => "a duration (d.hh:mm:ss)",
        _ => "a valid " + type[(type.LastIndexOf('.') + 1)..],
    };

    [System.Text.RegularExpressions.GeneratedRegex(@"Failed to convert configuration value at ('[^']+') to type '([^']+)'\.?")]
    private static partial System.Text.RegularExpressions.Regex ConversionPattern();

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
