using System.Text;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore.Authentication;

/// <summary>Checks the credentials settings at start-up; messages name the environment variable, never a secret.</summary>
internal sealed class HokusaiAuthenticationOptionsValidator : IValidateOptions<HokusaiAuthenticationOptions>
{
    public const int MinSecretBytes = 32;

    public ValidateOptionsResult Validate(string? name, HokusaiAuthenticationOptions options)
    {
        var failures = new List<string>();
        var hasSecret = !string.IsNullOrEmpty(options.JwtSecret);
        var hasAuthority = !string.IsNullOrEmpty(options.JwtAuthority);

        if (options.ApiKeys.Count == 0 && !hasSecret && !hasAuthority)
        {
            failures.Add("No credentials are configured: set VALID_API_KEYS (comma-separated API keys, optionally name:key), JWT_SECRET, or JWT_AUTHORITY.");
        }

        if (!ApiKeyRegistry.TryParse(options.ApiKeys, out _, out var keyError))
        {
            failures.Add(keyError!);
        }

        if (!ApiKeyRegistry.TryParse(options.AdminApiKeys, out _, out var adminError, ApiKeyRegistry.AdminVariable))
        {
            failures.Add(adminError!);
        }

        if (options.LegacyJwtOwnersSetting is { } legacy && !bool.TryParse(legacy, out _))
        {
            failures.Add("JWT_LEGACY_OWNERS must be true or false.");
        }

        if (string.IsNullOrWhiteSpace(options.AdminRole) || options.AdminRole.Any(char.IsWhiteSpace))
        {
            failures.Add("JWT_ADMIN_ROLE must be a non-empty role or scope name without spaces.");
        }

        if (hasSecret && Encoding.UTF8.GetByteCount(options.JwtSecret!) < MinSecretBytes)
        {
            failures.Add($"JWT_SECRET must be at least {MinSecretBytes} bytes long for HS256.");
        }

        if (hasAuthority
            && (!Uri.TryCreate(options.JwtAuthority, UriKind.Absolute, out var authority)
                || !(authority.Scheme == Uri.UriSchemeHttps || (authority.Scheme == Uri.UriSchemeHttp && authority.IsLoopback))))
        {
            failures.Add("JWT_AUTHORITY must be an absolute https URI (http only on a loopback host).");
        }

        if (options.JwtIssuer is { Length: 0 } || options.JwtAudience is { Length: 0 })
        {
            failures.Add("JWT_ISSUER and JWT_AUDIENCE must not be empty when set.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            failures.Add("HokusaiContracts:Authentication:ClockSkew must be between 0 and 5 minutes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
