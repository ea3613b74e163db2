using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Hokusai.Contracts.AspNetCore.Tests.Infrastructure;

/// <summary>A real ASP.NET Core host on a TestServer, composed like the reference host, with a fake job engine.</summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public const string AliceKey = "alice-key-0123456789abcdef";
    public const string BobKey = "bob-key-0123456789abcdef01";
    public const string BareKey = "bare-key-0123456789abcdef02";
    public const string JwtSecret = "test-secret-for-hs256-at-least-32-bytes-long!";
    public const string JwtIssuer = "https://issuer.hokusai.test";
    public const string JwtAudience = "hokusai-contracts";
    public const string Address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    public static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private ApiHost(WebApplication app, FakeDeploymentService service, FakeTimeProvider time)
    {
        App = app;
        Service = service;
        Time = time;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }
    public FakeDeploymentService Service { get; }
    public FakeTimeProvider Time { get; }
    public HttpClient Client { get; }

    public static Dictionary<string, string?> DefaultSettings() => new()
    {
        ["VALID_API_KEYS"] = $"alice:{AliceKey}, bob:{BobKey},{BareKey}",
        ["JWT_SECRET"] = JwtSecret,
        ["JWT_ISSUER"] = JwtIssuer,
        ["JWT_AUDIENCE"] = JwtAudience,
    };

    public static async Task<ApiHost> StartAsync(Action<Dictionary<string, string?>>? configure = null, Action<IServiceCollection>? services = null, Action<WebApplication>? map = null, bool hostMiddleware = true, string? prefix = null)
    {
        var settings = DefaultSettings();
        configure?.Invoke(settings);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddHokusaiEnvironmentVariables(settings);
        var time = new FakeTimeProvider(Now);
        var service = new FakeDeploymentService(time);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddSingleton<IDeploymentService>(service);
        builder.Services.AddOptions<HokusaiContractsOptions>();
        builder.Services.AddHokusaiApi(builder.Configuration).AddHokusaiRateLimiter();
        services?.Invoke(builder.Services);

        var app = builder.Build();
        if (hostMiddleware)
        {
            app.UseHokusaiRequestIds();
            app.UseHokusaiErrorEnvelopes();
        }

        app.UseAuthentication();
        if (hostMiddleware)
        {
            app.UseRateLimiter();
        }

        app.UseAuthorization();
        if (prefix is null)
        {
            app.MapHokusaiContracts();
        }
        else
        {
            app.MapGroup(prefix).MapHokusaiContracts();
        }

        app.MapOpenApi();
        map?.Invoke(app);
        await app.StartAsync();
        return new ApiHost(app, service, time);
    }

    public static DeploymentRequest Request(string modelId = "model-1") => new()
    {
        ModelId = modelId,
        UserAddress = Address,
        TokenName = "Hokusai " + modelId,
        TokenSymbol = "HKMODEL1",
        PerformanceMetric = "accuracy",
    };

    public HttpRequestMessage Message(HttpMethod method, string url, string? apiKey = AliceKey, string? json = null, string contentType = "application/json")
    {
        var message = new HttpRequestMessage(method, url);
        if (apiKey is not null)
        {
            message.Headers.Add("X-API-Key", apiKey);
        }

        if (json is not null)
        {
            message.Content = new StringContent(json, Encoding.UTF8);
            message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return message;
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? apiKey = AliceKey, string? json = null, string contentType = "application/json") =>
        Client.SendAsync(Message(method, url, apiKey, json, contentType));

    public Task<HttpResponseMessage> PostDeploymentAsync(string json, string? apiKey = AliceKey) =>
        SendAsync(HttpMethod.Post, "/api/deployments", apiKey, json);

    public Task<HttpResponseMessage> WithBearerAsync(HttpMethod method, string url, string token, string? json = null)
    {
        var message = Message(method, url, apiKey: null, json);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Client.SendAsync(message);
    }

    public static string Body(string modelId = "model-1", string address = Address, string extra = "") =>
        $$"""{"modelId":"{{modelId}}","userAddress":"{{address}}"{{extra}}}""";

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

internal static class ResponseExtensions
{
    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static async Task<JsonObject> ErrorAsync(this HttpResponseMessage response, int status, string code)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var json = await response.JsonAsync();
        Assert.False(json["success"]!.GetValue<bool>());
        Assert.Equal(code, json["error"]!["code"]!.GetValue<string>());
        Assert.True(response.Headers.Contains("X-Request-Id"));
        return json["error"]!.AsObject();
    }

    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues)
        : throw new Xunit.Sdk.XunitException($"Missing header {name}");
}
