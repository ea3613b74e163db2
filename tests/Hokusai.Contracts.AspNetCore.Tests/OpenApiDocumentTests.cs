using System.Net;
using System.Text.Json.Nodes;
using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class OpenApiDocumentTests
{
    private static async Task<JsonObject> GetDocumentAsync(ApiHost host)
    {
        using var response = await host.SendAsync(HttpMethod.Get, "/openapi/v1.json", apiKey: null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.JsonAsync();
    }

    [Theory]
    [InlineData("/api/deployments", "post", "CreateDeployment", new[] { "202", "400", "401", "403", "409", "413", "415", "422", "429", "500", "503" })]
    [InlineData("/api/deployments", "get", "ListDeployments", new[] { "200", "400", "401", "500", "503" })]
    [InlineData("/api/deployments/{id}/status", "get", "GetDeploymentStatus", new[] { "200", "400", "401", "404", "500", "503" })]
    [InlineData("/api/deployments/{id}", "get", "GetDeployment", new[] { "301", "400", "401" })]
    [InlineData("/api/deployments/{id}/cancel", "post", "CancelDeployment", new[] { "200", "400", "401", "404", "409", "500", "503" })]
    public async Task Document_DescribesEachRouteWithItsResponses(string path, string method, string operationId, string[] statuses)
    {
        await using var host = await ApiHost.StartAsync();

        var document = await GetDocumentAsync(host);

        var operation = document["paths"]![path]![method]!;
        Assert.Equal(operationId, operation["operationId"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(operation["summary"]?.GetValue<string>()));
        Assert.Equal("Deployments", operation["tags"]![0]!.GetValue<string>());
        var responses = operation["responses"]!.AsObject().Select(r => r.Key).ToList();
        foreach (var status in statuses)
        {
            Assert.Contains(status, responses);
        }

        var unauthorized = operation["responses"]!["401"]!["description"]!.GetValue<string>();
        Assert.Contains("INVALID_TOKEN", unauthorized);
        Assert.Contains("TOKEN_EXPIRED", unauthorized);
        var security = operation["security"]!.AsArray().SelectMany(s => s!.AsObject().Select(p => p.Key)).ToList();
        Assert.Equal(["ApiKey", "Bearer"], security);
    }

    [Fact]
    public async Task Document_DeclaresApiKeyAndBearerSecuritySchemes()
    {
        await using var host = await ApiHost.StartAsync();

        var document = await GetDocumentAsync(host);

        var schemes = document["components"]!["securitySchemes"]!;
        Assert.Equal("apiKey", schemes["ApiKey"]!["type"]!.GetValue<string>());
        Assert.Equal("header", schemes["ApiKey"]!["in"]!.GetValue<string>());
        Assert.Equal("X-API-Key", schemes["ApiKey"]!["name"]!.GetValue<string>());
        Assert.Equal("http", schemes["Bearer"]!["type"]!.GetValue<string>());
        Assert.Equal("bearer", schemes["Bearer"]!["scheme"]!.GetValue<string>());
        Assert.Equal("JWT", schemes["Bearer"]!["bearerFormat"]!.GetValue<string>());
    }

    [Fact]
    public async Task Document_DescribesRequestBodyAndEnvelopes()
    {
        await using var host = await ApiHost.StartAsync();

        var document = await GetDocumentAsync(host);

        var text = document.ToJsonString();
        var post = document["paths"]!["/api/deployments"]!["post"]!;
        Assert.NotNull(post["requestBody"]!["content"]!["application/json"]);
        var schemas = document["components"]!["schemas"]!.AsObject();
        var body = schemas["DeploymentRequestBody"]!;
        Assert.Equal(["modelId", "userAddress"], body["required"]!.AsArray().Select(n => n!.GetValue<string>()).Order().ToList());
        Assert.Contains("initialSupply", body["properties"]!.AsObject().Select(p => p.Key));
        Assert.Contains("metadata", body["properties"]!.AsObject().Select(p => p.Key));
        Assert.Contains("ApiFailure", schemas.Select(s => s.Key));
        Assert.Contains("suggestions", schemas["ApiError"]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.Contains("retryable", text);
        Assert.Contains("pagination", text);
        Assert.Contains("tokenDetails", text);
    }

    [Fact]
    public async Task Document_ListRouteDocumentsQueryParameters()
    {
        await using var host = await ApiHost.StartAsync();

        var document = await GetDocumentAsync(host);

        var parameters = document["paths"]!["/api/deployments"]!["get"]!["parameters"]!.AsArray()
            .Select(p => p!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["status", "modelId", "page", "limit"], parameters);
    }

    [Fact]
    public async Task Document_CreateRouteDocumentsIdempotencyKeyHeader()
    {
        await using var host = await ApiHost.StartAsync();

        var document = await GetDocumentAsync(host);

        var parameters = document["paths"]!["/api/deployments"]!["post"]!["parameters"]!.AsArray();
        Assert.Contains(parameters, p => p!["name"]!.GetValue<string>() == "Idempotency-Key" && p["in"]!.GetValue<string>() == "header");
    }

    [Theory]
    [InlineData("DeploymentStatusData")]
    [InlineData("DeploymentSummaryData")]
    public async Task Document_JobViews_TypeStatusAndStepAsEnumsAndProgressAsInteger(string schemaName)
    {
        await using var host = await ApiHost.StartAsync();

        var document = await GetDocumentAsync(host);

        var properties = document["components"]!["schemas"]![schemaName]!["properties"]!;
        Assert.Equal(
            ["pending", "processing", "completed", "failed", "cancelled"],
            properties["status"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(
            ["queued", "deploying_token", "registering_model", "minting_tokens", "confirming", "done"],
            properties["currentStep"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("integer", properties["progress"]!["type"]!.GetValue<string>());
        Assert.Equal(100, properties["progress"]!["maximum"]!.GetValue<int>());
    }

    [Fact]
    public async Task Document_RequestBody_CarriesValidatorPatternsAndExamples()
    {
        await using var host = await ApiHost.StartAsync();

        var document = await GetDocumentAsync(host);

        var properties = document["components"]!["schemas"]!["DeploymentRequestBody"]!["properties"]!;
        Assert.Equal("^[A-Za-z0-9_-]{1,64}$", properties["modelId"]!["pattern"]!.GetValue<string>());
        Assert.Equal("^0x[0-9a-fA-F]{40}$", properties["userAddress"]!["pattern"]!.GetValue<string>());
        Assert.Matches(properties["initialSupply"]!["pattern"]!.GetValue<string>(), properties["initialSupply"]!["examples"]![0]!.GetValue<string>());
    }
}
