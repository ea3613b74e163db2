using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore.Authentication;

/// <summary>
/// Checks the credentials settings at start-up; messages name the setting as the caller set it (the variable or the
/// key, decided from the host's configuration by <see cref="HokusaiEnvironmentVariables.Rewrite"/>), never a secret.
/// </summary>
internal sealed class HokusaiAuthenticationOptionsValidator(IConfiguration? configuration = null) : IValidateOptions<HokusaiAuthenticationOptions>
{
    public const int MinSecretBytes = 32;

    private static readonly string ApiKeys = Name(nameof(HokusaiAuthenticationOptions.ApiKeys));
    private static readonly string JwtSecret = Name(nameof(HokusaiAuthenticationOptions.JwtSecret));
    private static readonly string JwtAuthority = Name(nameof(HokusaiAuthenticationOptions.JwtAuthority));

    /// <summary>A setting of the section in the canonical form, e.g. <c>JWT_SECRET (HokusaiContracts:Authentication:JwtSecret)</c>, rewritten on failure.</summary>
    internal static string Name(string property) => HokusaiEnvironmentVariables.Describe(HokusaiAuthenticationOptions.SectionName + ":" + property);

    public ValidateOptionsResult Validate(string? name, HokusaiAuthenticationOptions options)
    {
        var failures = new List<string>();
        var hasSecret = !string.IsNullOrEmpty(options.JwtSecret);
        var hasAuthority = !string.IsNullOrEmpty(options.JwtAuthority);

        if (options.ApiKeys.Count == 0 && !hasSecret && !hasAuthority)
        {
            failures.Add($"No credentials are configured: set {ApiKeys} (comma-separated API keys, optionally name:key), {JwtSecret}, or {JwtAuthority}.");
        }

        if (!ApiKeyRegistry.TryParse(options.ApiKeys, out _, out var keyError))
        {
            failures.Add(keyError!);
        }

        if (!ApiKeyRegistry.TryParse(options.AdminApiKeys, out _, out var adminError, ApiKeyRegistry.AdminSetting))
        {
            failures.Add(adminError!);
        }

        if (string.IsNullOrWhiteSpace(options.AdminRole) || options.AdminRole.Any(char.IsWhiteSpace))
        {
            failures.Add($"{Name(nameof(HokusaiAuthenticationOptions.AdminRole))} must be a non-empty role or scope name without spaces.");
        }

        if (hasSecret && Encoding.UTF8.GetByteCount(options.JwtSecret!) < MinSecretBytes)
        {
            failures.Add($"{JwtSecret} must be at least {MinSecretBytes} bytes long for HS256.");
        }

        if (hasAuthority
            && (!Uri.TryCreate(options.JwtAuthority, UriKind.Absolute, out var authority)
                || !(authority.Scheme == Uri.UriSchemeHttps || (authority.Scheme == Uri.UriSchemeHttp && authority.IsLoopback))))
        {
            failures.Add($"{JwtAuthority} must be an absolute https URI (http only on a loopback host).");
        }

        if (options.JwtIssuer is { Length: 0 } || options.JwtAudience is { Length: 0 })
        {
            failures.Add($"{Name(nameof(HokusaiAuthenticationOptions.JwtIssuer))} and {Name(nameof(HokusaiAuthenticationOptions.JwtAudience))} must not be empty when set.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            failures.Add("HokusaiContracts:Authentication:ClockSkew must be between 0 and 5 minutes.");
        }

        return failures.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(failures.Select(f => HokusaiEnvironmentVariables.Rewrite(f, configuration)));
    }
}
