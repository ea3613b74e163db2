using System.Globalization;
using StackExchange.Redis;

namespace Hokusai.Contracts.Redis;

/// <summary>Turns a <c>REDIS_URL</c> or a StackExchange.Redis configuration string into connection settings.</summary>
internal static class RedisConfiguration
{
    private const int DefaultPort = 6379;

    /// <summary>
    /// Parses <paramref name="value"/>. Throws <see cref="FormatException"/> with a message that never repeats
    /// the value (it may hold a password).
    /// </summary>
    public static ConfigurationOptions Parse(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        var text = value.Trim();
        ConfigurationOptions options;
        HashSet<string> explicitKeys;
        if (IsUrl(text))
        {
            options = FromUrl(text);
            explicitKeys = [];
        }
        else
        {
            try
            {
                options = ConfigurationOptions.Parse(text);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException("The Redis configuration string is not valid: " + ex.ParamName, ex);
            }

            explicitKeys = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(part => part.Contains('=', StringComparison.Ordinal))
                .Select(part => part[..part.IndexOf('=', StringComparison.Ordinal)].Trim().ToUpperInvariant())
                .ToHashSet(StringComparer.Ordinal);
        }

        if (options.EndPoints.Count == 0)
        {
            throw new FormatException("The Redis configuration names no endpoint.");
        }

        ApplyDefaults(options, explicitKeys);
        return options;
    }

    /// <summary>A description safe for logs: endpoints and flags, never the password.</summary>
    public static string Describe(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "<unset>";
        }

        try
        {
            return Parse(value).ToString(includePassword: false);
        }
        catch (FormatException)
        {
            return "<invalid>";
        }
    }

    private static bool IsUrl(string text) =>
        text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)
        || text.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase);

    private static ConfigurationOptions FromUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException("The Redis URL is not valid; expected redis://[user:password@]host:port[/db] or rediss://….");
        }

        var options = new ConfigurationOptions
        {
            Ssl = string.Equals(uri.Scheme, "rediss", StringComparison.OrdinalIgnoreCase),
        };
        var host = uri.DnsSafeHost;
        options.EndPoints.Add(host, uri.Port > 0 ? uri.Port : DefaultPort);
        if (options.Ssl)
        {
            options.SslHost = host;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (user.Length > 0)
            {
                options.User = user;
            }

            if (colon >= 0)
            {
                options.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out var db))
            {
                throw new FormatException("The Redis URL's path must be a database number (redis://host:port/2).");
            }

            options.DefaultDatabase = db;
        }

        return options;
    }

    private static void ApplyDefaults(ConfigurationOptions options, HashSet<string> explicitKeys)
    {
        // Without this the first connect failure would be fatal; the service must come up and reconnect by itself.
        options.AbortOnConnectFail = false;
        // Commands issued while disconnected fail at once (the caller answers 503) instead of queueing writes
        // the caller has already given up on.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ReconnectRetryPolicy = new ExponentialRetry(250, 2000);
        if (!explicitKeys.Contains("CONNECTTIMEOUT"))
        {
            options.ConnectTimeout = 2000;
        }

        if (!explicitKeys.Contains("SYNCTIMEOUT"))
        {
            options.SyncTimeout = 1000;
        }

        if (!explicitKeys.Contains("ASYNCTIMEOUT"))
        {
            options.AsyncTimeout = 1000;
        }

        if (!explicitKeys.Contains("NAME"))
        {
            options.ClientName = "hokusai-contracts";
        }
    }
}
