using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>The success envelope: <c>{"success":true,"data":{...},"meta":{...}}</c>.</summary>
internal sealed class ApiSuccess<T>
{
    public bool Success { get; } = true;

    public required T Data { get; init; }

    public required ApiMeta Meta { get; init; }
}

/// <summary>The <c>meta</c> block of a success envelope.</summary>
internal sealed record ApiMeta(string RequestId, DateTime Timestamp, string Version);

/// <summary>The error envelope: <c>{"success":false,"error":{...}}</c>.</summary>
internal sealed class ApiFailure
{
    public bool Success { get; }

    public required ApiError Error { get; init; }
}

/// <summary>The <c>error</c> block, also used for a failed job's error.</summary>
internal sealed class ApiError
{
    public required string Code { get; init; }

    public required string Message { get; init; }

    /// <summary>
    /// Structured details, always a JSON object: <c>{"fields":[{field,message}…]}</c> for validation errors,
    /// named values otherwise (e.g. <c>{modelId, tokenAddress}</c>), <c>{}</c> when there is nothing to add.
    /// </summary>
    public object Details { get => field ?? EmptyDetails; init; }

    /// <summary>The details of an error with nothing to add.</summary>
    internal static readonly IReadOnlyDictionary<string, string> EmptyDetails = new Dictionary<string, string>();

    public IReadOnlyList<string> Suggestions { get; init; } = [];

    public required DateTime Timestamp { get; init; }

    public bool Retryable { get; init; }
}

/// <summary><c>details</c> of a validation error.</summary>
internal sealed record ValidationDetails(IReadOnlyList<FieldError> Fields);

/// <summary><c>data</c> of an accepted (or replayed) submission.</summary>
internal sealed record DeploymentAcceptedData(
    Guid RequestId,
    string Status,
    int EstimatedCompletionTime,
    string Message,
    DeploymentLinks Links,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PredictedTokenAddress = null);

/// <summary>Where to poll and cancel a job.</summary>
internal sealed record DeploymentLinks(string Status, string Cancel);

/// <summary><c>data</c> of the status route and of cancel; absent optional fields are omitted.</summary>
internal sealed class DeploymentStatusData
{
    public required Guid RequestId { get; init; }

    public required string Status { get; init; }

    public required int Progress { get; init; }

    public required string CurrentStep { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StepDetail { get; init; }

    public required DateTime LastUpdated { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? EstimatedCompletion { get; init; }

    /// <summary>Factory mode: the address the token is (or will be) created at; the final tokenAddress equals it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PredictedTokenAddress { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TokenDetailsData? TokenDetails { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ApiError? Error { get; init; }
}

/// <summary>A completed deployment's on-chain result.</summary>
internal sealed class TokenDetailsData
{
    public required string TokenAddress { get; init; }

    public required string TokenName { get; init; }

    public required string TokenSymbol { get; init; }

    public required string TransactionHash { get; init; }

    public required string RegistryTransactionHash { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MintTransactionHash { get; init; }

    public required ulong BlockNumber { get; init; }

    public required string GasUsed { get; init; }

    public required string GasPrice { get; init; }

    public required DateTime DeploymentTime { get; init; }

    public required string Network { get; init; }

    public required long ChainId { get; init; }
}

/// <summary>One entry of the list route.</summary>
internal sealed class DeploymentSummaryData
{
    public required Guid RequestId { get; init; }

    public required string ModelId { get; init; }

    public required string TokenName { get; init; }

    public required string TokenSymbol { get; init; }

    public required string Status { get; init; }

    public required int Progress { get; init; }

    public required string CurrentStep { get; init; }

    public required DateTime CreatedAt { get; init; }

    public required DateTime LastUpdated { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TokenDetailsData? TokenDetails { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ApiError? Error { get; init; }
}

/// <summary><c>data</c> of the list route.</summary>
internal sealed record DeploymentListData(IReadOnlyList<DeploymentSummaryData> Deployments, PaginationData Pagination);

/// <summary>Pagination of the list route.</summary>
internal sealed record PaginationData(long Total, int Page, int Limit, bool HasNext, bool HasPrevious);

/// <summary>The request body as documented in OpenAPI (the handler validates the raw JSON itself).</summary>
internal sealed class DeploymentRequestBody
{
    public required string ModelId { get; init; }

    public required string UserAddress { get; init; }

    public string? TokenName { get; init; }

    public string? TokenSymbol { get; init; }

    public string? InitialSupply { get; init; }

    public string? PerformanceMetric { get; init; }

    public DeploymentMetadataBody? Metadata { get; init; }

    /// <summary>Optional https URL that receives the job's signed final event.</summary>
    public Uri? CallbackUrl { get; init; }
}

/// <summary>The optional metadata of the request body.</summary>
internal sealed class DeploymentMetadataBody
{
    public string? Description { get; init; }

    public Uri? Website { get; init; }

    public Uri? Whitepaper { get; init; }

    public IDictionary<string, string>? Tags { get; init; }
}

/// <summary>Serializer settings of every envelope: camelCase, ISO-8601 UTC timestamps with milliseconds.</summary>
internal static class ApiJson
{
    /// <summary>
    /// Read-only, with its resolver in place, before any request sees it: <c>TypedResults.Json</c> sets a missing
    /// resolver on options that are still writable, and two first requests racing to do that failed one of them
    /// (500) under load.
    /// </summary>
    public static JsonSerializerOptions Options { get; } = Create();

    internal static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            Converters = { new UtcTimestampConverter() },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Writes <c>2026-01-02T03:04:05.123Z</c>, the format of JavaScript's <c>toISOString()</c> the original clients parse.</summary>
    private sealed class UtcTimestampConverter : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTime().ToUniversalTime();

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
    }
}
