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

    /// <summary>Runs the host; a start-up failure is reported as one line and exit code 1.</summary>
    public static async Task<int> GuardAsync(Func<Task> run, TextWriter? error = null)
    {
        try
        {
            await run();
            return 0;
        }
        // In-process test hosts (WebApplicationFactory) run this entry point too; they need the exception itself.
        catch (Exception exception) when (exception is not HostAbortedException && RunsAsTheProgram)
        {
            (error ?? Console.Error).WriteLine("hokusai-contracts: start-up failed: " + Describe(exception));
            return ExitCode;
        }
    }

    private static bool RunsAsTheProgram =>
        System.Reflection.Assembly.GetEntryAssembly() == typeof(StartupFailure).Assembly;

    /// <summary>One line for <paramref name="exception"/>, with configuration keys given as their environment variables.</summary>
    internal static string Describe(Exception exception)
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
        return NameVariables(OneLine(text));
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

    /// <summary>Adds the environment variable to a bare configuration key, e.g. "QUOTA_PER_HOUR (HokusaiContracts:Quotas:PerHour)".</summary>
    internal static string NameVariables(string text)
    {
        // Generated data-annotation messages name the property path ("PerHour: The field
        // HokusaiContractsOptions.Quotas.PerHour must be …"); turn that into the configuration key.
        text = ConfigurationValuePattern().Replace(text, "configuration value at ");
        text = OptionsPathPattern().Replace(text, m => "'" + Hokusai.Contracts.HokusaiContractsOptions.SectionName + ":" + m.Groups[1].Value.Replace('.', ':') + "'");
        foreach (var (variable, key) in LegacyEnvironment.Variables)
        {
            var quoted = "'" + key + "'";
            if (text.Contains(quoted, StringComparison.OrdinalIgnoreCase))
            {
                text = text.Replace(quoted, $"{variable} ({key})", StringComparison.OrdinalIgnoreCase);
            }
        }

        return text;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?:\b\w+: )?The field HokusaiContractsOptions\.([A-Za-z0-9_.]+)")]
    private static partial System.Text.RegularExpressions.Regex OptionsPathPattern();

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
