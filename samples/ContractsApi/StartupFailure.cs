using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace ContractsApi;

/// <summary>
/// Turns a failed start into one line on stderr that names the setting and its rule, and exit code 1:
/// no stack trace, no configuration value (values can be secrets).
/// </summary>
internal static class StartupFailure
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
        catch (Exception exception) when (exception is not HostAbortedException)
        {
            (error ?? Console.Error).WriteLine("hokusai-contracts: start-up failed: " + Describe(exception));
            return ExitCode;
        }
    }

    /// <summary>One line for <paramref name="exception"/>, with configuration keys given as their environment variables.</summary>
    internal static string Describe(Exception exception)
    {
        var root = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerException! : exception;
        var text = root switch
        {
            OptionsValidationException options => string.Join(" ", options.Failures.Distinct(StringComparer.Ordinal)),
            IOException io when io.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } || io.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase) =>
                $"{io.Message.TrimEnd('.')}. Set PORT (API) or METRICS_PORT (metrics) to a free port.",
            _ => root.Message,
        };
        return NameVariables(OneLine(text));
    }

    /// <summary>Adds the environment variable to a bare configuration key, e.g. "QUOTA_PER_HOUR (HokusaiContracts:Quotas:PerHour)".</summary>
    internal static string NameVariables(string text)
    {
        foreach (var (variable, key) in LegacyEnvironment.Variables)
        {
            var quoted = "'" + key + "'";
            if (text.Contains(quoted, StringComparison.OrdinalIgnoreCase) && !text.Contains(variable, StringComparison.Ordinal))
            {
                text = text.Replace(quoted, $"{variable} ({key})", StringComparison.OrdinalIgnoreCase);
            }
        }

        return text;
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
