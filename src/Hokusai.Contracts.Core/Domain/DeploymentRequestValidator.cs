using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Hokusai.Contracts;

/// <summary>
/// Validates a deployment request body (camelCase JSON) into a <see cref="DeploymentRequest"/> and applies the
/// documented defaults. Unknown fields, including the legacy <c>token</c> field, are ignored.
/// </summary>
/// <remarks>
/// Beside the record it builds, so every host (the HTTP endpoints, a queue consumer, a test) applies the same rules.
/// </remarks>
public static partial class DeploymentRequestValidator
{
    internal const int MaxDescriptionLength = 500;
    internal const int MaxTags = 20;
    internal const int MaxTagKeyLength = 64;
    internal const int MaxTagValueLength = 256;
    internal const int MaxUriLength = 2048;
    internal const int MaxTokenNameLength = 50;
    internal const int MaxTokenSymbolLength = 10;
    internal const string SymbolPrefix = "HK";

    /// <summary>2^256 - 1, the largest ERC-20 amount.</summary>
    internal static readonly BigInteger MaxSupply = BigInteger.Pow(2, 256) - 1;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}\\z", RegexOptions.CultureInvariant)]
    internal static partial Regex ModelIdPattern();

    [GeneratedRegex("^[A-Za-z0-9 _-]{1,50}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TokenNamePattern();

    [GeneratedRegex("^[A-Z0-9-]{1,10}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex TokenSymbolPattern();

    [GeneratedRegex("^[0-9]{1,78}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalPattern();

    [GeneratedRegex("^[A-Za-z0-9 _.:/-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex PerformanceMetricPattern();

    /// <summary>True when <paramref name="modelId"/> is 1-64 letters, digits, <c>_</c> or <c>-</c>.</summary>
    /// <param name="modelId">The model id to check.</param>
    /// <returns>Whether a request or a query may name this model id.</returns>
    public static bool IsValidModelId(string? modelId) => modelId is not null && ModelIdPattern().IsMatch(modelId);

    /// <summary>Validates <paramref name="root"/>; returns the request, or null with <paramref name="errors"/> filled.</summary>
    /// <param name="root">The parsed body.</param>
    /// <param name="defaultPerformanceMetric">Applied when the body has none.</param>
    /// <param name="errors">The field errors when the request is invalid.</param>
    /// <param name="chain">The chain settings, so the service's own contracts are refused as recipients; null skips that check.</param>
    /// <returns>The validated request with defaults applied, or null when <paramref name="errors"/> is not empty.</returns>
    public static DeploymentRequest? Validate(JsonElement root, string defaultPerformanceMetric, out IReadOnlyList<FieldError> errors, ChainOptions? chain = null)
    {
        var list = new List<FieldError>();
        errors = list;
        try
        {
            return ValidateCore(root, defaultPerformanceMetric, list, chain);
        }
        catch (InvalidOperationException)
        {
            // A property name that is not valid Unicode trips System.Text.Json's lookups themselves.
            list.Add(new FieldError("body", "The body must be valid Unicode text (no lone surrogates or invalid UTF-8)."));
            return null;
        }
    }

    private static DeploymentRequest? ValidateCore(JsonElement root, string defaultPerformanceMetric, List<FieldError> list, ChainOptions? chain)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            list.Add(new FieldError("body", "The body must be a JSON object."));
            return null;
        }

        var modelId = RequiredString(root, "modelId", list);
        if (modelId is not null && !ModelIdPattern().IsMatch(modelId))
        {
            list.Add(new FieldError("modelId", "modelId must be 1-64 characters of letters, digits, '_' or '-'."));
            modelId = null;
        }

        string? userAddress = null;
        var rawAddress = RequiredString(root, "userAddress", list);
        if (rawAddress is not null)
        {
            switch (EthereumAddress.TryNormalize(rawAddress, out var checksummed))
            {
                case EthereumAddress.Problem.None when RecipientRules.Problem(checksummed, chain) is { } problem:
                    list.Add(new FieldError("userAddress", $"userAddress {problem}."));
                    break;
                case EthereumAddress.Problem.None:
                    userAddress = checksummed;
                    break;
                case EthereumAddress.Problem.Checksum:
                    list.Add(new FieldError("userAddress", "userAddress has mixed case but an invalid EIP-55 checksum."));
                    break;
                default:
                    list.Add(new FieldError("userAddress", "userAddress must be 0x followed by 40 hex digits."));
                    break;
            }
        }

        var tokenName = OptionalString(root, "tokenName", list);
        if (tokenName is not null && !TokenNamePattern().IsMatch(tokenName))
        {
            list.Add(new FieldError("tokenName", "tokenName must be 1-50 characters of letters, digits, spaces, '_' or '-'."));
        }

        var tokenSymbol = OptionalString(root, "tokenSymbol", list);
        if (tokenSymbol is not null && !TokenSymbolPattern().IsMatch(tokenSymbol))
        {
            list.Add(new FieldError("tokenSymbol", "tokenSymbol must be 1-10 characters of upper-case letters, digits or '-'."));
        }

        var supply = ParseSupply(root, list);

        var metric = OptionalString(root, "performanceMetric", list);
        if (metric is not null && !PerformanceMetricPattern().IsMatch(metric))
        {
            list.Add(new FieldError("performanceMetric", "performanceMetric must be 1-64 characters of letters, digits, spaces or '_ . : / -'."));
        }

        var metadata = ParseMetadata(root, list);

        if (list.Count > 0 || modelId is null || userAddress is null)
        {
            return null;
        }

        return new DeploymentRequest
        {
            ModelId = modelId,
            UserAddress = userAddress,
            TokenName = tokenName ?? DefaultTokenName(modelId),
            TokenSymbol = tokenSymbol ?? DefaultTokenSymbol(modelId),
            InitialSupply = supply,
            PerformanceMetric = metric ?? defaultPerformanceMetric,
            Metadata = metadata,
        };
    }

    /// <summary><c>Hokusai &lt;modelId&gt;</c>, cut to 50 characters.</summary>
    /// <param name="modelId">A valid model id.</param>
    /// <returns>The token name used when a request names none.</returns>
    public static string DefaultTokenName(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        var name = "Hokusai " + modelId;
        return name.Length <= MaxTokenNameLength ? name : name[..MaxTokenNameLength].TrimEnd();
    }

    /// <summary><c>HK</c> followed by the model id's letters and digits upper-cased, at most 10 characters.</summary>
    /// <param name="modelId">A valid model id.</param>
    /// <returns>The token symbol used when a request names none.</returns>
    public static string DefaultTokenSymbol(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        var symbol = new StringBuilder(SymbolPrefix, MaxTokenSymbolLength);
        foreach (var c in modelId)
        {
            if (symbol.Length == MaxTokenSymbolLength)
            {
                break;
            }

            if (char.IsAsciiLetterOrDigit(c))
            {
                symbol.Append(char.ToUpperInvariant(c));
            }
        }

        return symbol.ToString();
    }

    private static string? RequiredString(JsonElement root, string name, List<FieldError> errors)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(new FieldError(name, $"{name} is required."));
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new FieldError(name, $"{name} must be a string."));
            return null;
        }

        return SafeString(value, name, errors);
    }

    /// <summary>
    /// The string value, or null with a field error when it is not valid Unicode (a lone surrogate
    /// escape such as <c>\ud800</c>, or bytes that are not UTF-8): <see cref="JsonElement.GetString"/>
    /// throws on those, and the body is the caller's fault, not the server's.
    /// </summary>
    internal static string? SafeString(JsonElement value, string field, List<FieldError> errors)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            errors.Add(new FieldError(field, $"{field} must be valid Unicode text (no lone surrogates or invalid UTF-8)."));
            return null;
        }
    }

    /// <summary>A property name, or null with a field error when it is not valid Unicode.</summary>
    internal static string? SafeName(JsonProperty property, string field, List<FieldError> errors)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            errors.Add(new FieldError(field, $"{field} names must be valid Unicode text (no lone surrogates or invalid UTF-8)."));
            return null;
        }
    }

    private static string? OptionalString(JsonElement root, string name, List<FieldError> errors, string? path = null)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new FieldError(path ?? name, $"{path ?? name} must be a string."));
            return null;
        }

        return SafeString(value, path ?? name, errors);
    }

    private static BigInteger ParseSupply(JsonElement root, List<FieldError> errors)
    {
        if (!root.TryGetProperty("initialSupply", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return BigInteger.Zero;
        }

        // A JSON number is accepted when it is a plain non-negative integer; strings are preferred
        // because JavaScript clients lose precision above 2^53.
        var text = value.ValueKind switch
        {
            JsonValueKind.String => SafeString(value, "initialSupply", errors),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        if (text is null && value.ValueKind == JsonValueKind.String)
        {
            return BigInteger.Zero;
        }

        if (text is null || !DecimalPattern().IsMatch(text))
        {
            errors.Add(new FieldError("initialSupply", "initialSupply must be a non-negative integer as a decimal string."));
            return BigInteger.Zero;
        }

        var supply = BigInteger.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        if (supply > MaxSupply)
        {
            errors.Add(new FieldError("initialSupply", "initialSupply must not exceed 2^256 - 1."));
            return BigInteger.Zero;
        }

        return supply;
    }

    private static DeploymentMetadata? ParseMetadata(JsonElement root, List<FieldError> errors)
    {
        if (!root.TryGetProperty("metadata", out var metadata) || metadata.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError("metadata", "metadata must be an object."));
            return null;
        }

        var description = OptionalString(metadata, "description", errors, "metadata.description");
        if (description is not null && description.Length > MaxDescriptionLength)
        {
            errors.Add(new FieldError("metadata.description", $"metadata.description must be at most {MaxDescriptionLength} characters."));
        }

        var website = OptionalUri(metadata, "website", errors);
        var whitepaper = OptionalUri(metadata, "whitepaper", errors);
        var tags = ParseTags(metadata, errors);

        return new DeploymentMetadata { Description = description, Website = website, Whitepaper = whitepaper, Tags = tags };
    }

    private static string? OptionalUri(JsonElement metadata, string name, List<FieldError> errors)
    {
        var path = "metadata." + name;
        var text = OptionalString(metadata, name, errors, path);
        if (text is null)
        {
            return null;
        }

        if (text.Length > MaxUriLength
            || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add(new FieldError(path, $"{path} must be an absolute http or https URI."));
            return null;
        }

        return text;
    }

    private static Dictionary<string, string>? ParseTags(JsonElement metadata, List<FieldError> errors)
    {
        if (!metadata.TryGetProperty("tags", out var tags) || tags.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tags.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError("metadata.tags", "metadata.tags must be an object of string values."));
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tag in tags.EnumerateObject())
        {
            if (result.Count == MaxTags)
            {
                errors.Add(new FieldError("metadata.tags", $"metadata.tags may hold at most {MaxTags} entries."));
                return null;
            }

            var name = SafeName(tag, "metadata.tags", errors);
            if (name is null)
            {
                return null;
            }

            if (name.Length is 0 or > MaxTagKeyLength)
            {
                errors.Add(new FieldError("metadata.tags", $"Tag names must be 1-{MaxTagKeyLength} characters."));
                return null;
            }

            var field = $"metadata.tags.{name}";
            var text = tag.Value.ValueKind == JsonValueKind.String ? SafeString(tag.Value, field, errors) : null;
            if (text is null && tag.Value.ValueKind == JsonValueKind.String)
            {
                return null;
            }

            if (text is null || text.Length > MaxTagValueLength)
            {
                errors.Add(new FieldError(field, $"Tag values must be strings of at most {MaxTagValueLength} characters."));
                return null;
            }

            result[name] = text;
        }

        return result;
    }
}
