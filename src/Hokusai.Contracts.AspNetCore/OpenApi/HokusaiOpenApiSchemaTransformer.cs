using System.Text.Json.Nodes;
using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Hokusai.Contracts.AspNetCore.OpenApi;

/// <summary>
/// Tightens the generated schemas so a generated client can type them: <c>status</c> and <c>currentStep</c> become
/// enums of their wire values, integers are integers (the web serializer defaults would also allow numeric
/// strings), and the request fields carry the patterns and examples the validator enforces.
/// </summary>
internal sealed class HokusaiOpenApiSchemaTransformer : IOpenApiSchemaTransformer
{
    private static readonly string[] s_statuses = Enum.GetValues<DeploymentStatus>().Select(s => s.ToWireValue()).ToArray();
    private static readonly string[] s_steps = Enum.GetValues<DeploymentStep>().Select(s => s.ToWireValue()).ToArray();

    /// <summary>Request fields: the pattern the validator enforces and an example value.</summary>
    private static readonly Dictionary<string, (string Pattern, string Example)> s_requestFields = new(StringComparer.Ordinal)
    {
        ["modelId"] = ("^[A-Za-z0-9_-]{1,64}$", "sentiment-v2"),
        ["userAddress"] = ("^0x[0-9a-fA-F]{40}$", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        ["tokenName"] = ("^[A-Za-z0-9 _-]{1,50}$", "Sentiment Token"),
        ["tokenSymbol"] = ("^[A-Z0-9-]{1,10}$", "SENT"),
        ["initialSupply"] = ("^[0-9]{1,78}$", "1000000000000000000000"),
        ["performanceMetric"] = ("^[A-Za-z0-9 _.:/-]{1,64}$", "accuracy"),
    };

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (type == typeof(int) || type == typeof(long) || type == typeof(ulong))
        {
            // JsonSerializerDefaults.Web reads numbers from strings too; the API always writes numbers.
            schema.Type = JsonSchemaType.Integer;
            schema.Pattern = null;
        }

        var property = context.JsonPropertyInfo;
        if (property is null)
        {
            return Task.CompletedTask;
        }

        var owner = property.DeclaringType;
        var isJobView = owner == typeof(DeploymentStatusData) || owner == typeof(DeploymentSummaryData) || owner == typeof(DeploymentAcceptedData);
        switch (property.Name)
        {
            case "status" when isJobView:
                SetEnum(schema, s_statuses);
                break;
            case "currentStep" when isJobView:
                SetEnum(schema, s_steps);
                break;
            case "progress" when isJobView:
                schema.Type = JsonSchemaType.Integer;
                schema.Minimum = "0";
                schema.Maximum = "100";
                break;
            default:
                if (owner == typeof(DeploymentRequestBody) && s_requestFields.TryGetValue(property.Name, out var field))
                {
                    schema.Pattern = field.Pattern;
                    schema.Examples = [JsonValue.Create(field.Example)];
                }

                break;
        }

        return Task.CompletedTask;
    }

    private static void SetEnum(OpenApiSchema schema, string[] values)
    {
        schema.Type = JsonSchemaType.String;
        schema.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
    }
}
