// The tests log through ILogger directly, as engine code may by mistake: that is what they check.
#pragma warning disable CA1873, CA2254
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Events;

namespace ContractsApi.Tests;

public sealed class LoggingTests
{
    private const string PrivateKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    private const string ApiKey = "hk_live_7f3a9c2e4b1d8f6a0c5e";
    private const string JwtSecret = "jwt-signing-secret-9d8c7b6a5f4e3d2c1b0a";
    private const string RedisPassword = "r3dis-pa55word-x7y8z9";
    private const string Jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl";

    private static readonly string[] Secrets = [PrivateKey, PrivateKey[2..], ApiKey, JwtSecret, RedisPassword, Jwt];

    private sealed record Credentials(string User, string Password, string ApiKey);

    private static async Task<(List<JsonElement> Lines, string Raw)> RunAsync(string logLevel, Func<ILogger, HttpContext, IResult> handler, string? logFormat = null)
    {
        var output = new StringWriter();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["LOG_LEVEL"] = logLevel, ["LOG_FORMAT"] = logFormat });
        builder.Configuration.AddHokusaiEnvironmentVariables(new Dictionary<string, string?>
        {
            ["DEPLOYER_PRIVATE_KEY"] = PrivateKey,
            ["VALID_API_KEYS"] = "ops:" + ApiKey + ",other-key-0123456789",
            ["JWT_SECRET"] = JwtSecret,
            ["REDIS_URL"] = $"redis://default:{RedisPassword}@cache.internal:6379",
        });
        builder.AddContractsLogging(output);
        await using (var app = builder.Build())
        {
            app.MapGet("/work", (ILoggerFactory factory, HttpContext ctx) => handler(factory.CreateLogger("Hokusai.Contracts.Jobs"), ctx));
            await app.StartAsync();
            using var client = app.GetTestClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/work");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Jwt);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await app.StopAsync();
        }

        var raw = output.ToString();
        var lines = logFormat == "text" ? [] : raw.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        return (lines, raw);
    }

    [Fact]
    public async Task Logs_InsideARequestAndJobScope_CarryRequestTraceJobAndModelIds()
    {
        var jobId = Guid.NewGuid();

        var (lines, _) = await RunAsync("info", (logger, _) =>
        {
            using (logger.BeginScope(new Dictionary<string, object> { ["JobId"] = jobId, ["ModelId"] = "model-7" }))
            {
                logger.LogInformation("Token deployment sent for {Step}", "deploying_token");
            }

            return TypedResults.Ok();
        });

        var line = Assert.Single(lines, l => l.GetProperty("@m").GetString()!.Contains("Token deployment sent", StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(line.GetProperty("RequestId").GetString()));
        Assert.Matches("^[0-9a-f]{32}$", line.GetProperty("@tr").GetString());
        Assert.Equal(jobId.ToString(), line.GetProperty("JobId").GetString());
        Assert.Equal("model-7", line.GetProperty("ModelId").GetString());
        Assert.Equal("Hokusai.Contracts.Jobs", line.GetProperty("SourceContext").GetString());
        Assert.True(line.TryGetProperty("@t", out _));
        var completion = Assert.Single(lines, l => l.TryGetProperty("StatusCode", out _) && l.GetProperty("RequestPath").GetString() == "/work");
        Assert.Equal(line.GetProperty("RequestId").GetString(), completion.GetProperty("RequestId").GetString());
        Assert.Equal(line.GetProperty("@tr").GetString(), completion.GetProperty("@tr").GetString());
    }

    [Fact]
    public async Task Logs_SecretsInPropertiesObjectsMessagesAndExceptions_NeverWritten()
    {
        var (lines, raw) = await RunAsync("debug", (logger, ctx) =>
        {
            logger.LogInformation("Signer configured with {Signer}", PrivateKey);
            logger.LogInformation("Caller {@Credentials}", new Credentials("ops", "hunter2-hunter2", ApiKey));
            logger.LogInformation("Header {Authorization}", ctx.Request.Headers.Authorization.ToString());
            logger.LogWarning("Redis connection string " + $"redis://default:{RedisPassword}@cache.internal:6379");
            logger.LogError(new InvalidOperationException($"JWT validation failed with key {JwtSecret} for token {Jwt}"), "Auth failure");
            return TypedResults.Ok();
        });

        Assert.True(lines.Count >= 5);
        foreach (var secret in Secrets.Append("hunter2-hunter2"))
        {
            Assert.DoesNotContain(secret, raw, StringComparison.Ordinal);
        }

        Assert.Contains("[REDACTED]", raw, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.TryGetProperty("@x", out var x) && x.GetString()!.Contains("JWT validation failed with key [REDACTED]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_FormatText_ReadableLinesSecretsRedacted()
    {
        var (_, raw) = await RunAsync("info", (logger, _) =>
        {
            logger.LogInformation("Signer configured with {Signer}", PrivateKey);
            return TypedResults.Ok();
        }, logFormat: "text");

        var lines = raw.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.Matches(@"^\[\d{2}:\d{2}:\d{2} (DBG|INF|WRN|ERR|FTL)\] \S", l));
        Assert.Contains(lines, l => l.EndsWith("] Signer configured with [REDACTED]", StringComparison.Ordinal));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"\] HTTP GET /work responded 200 in [0-9.]+ ms$"));
        Assert.DoesNotContain(PrivateKey[2..], raw, StringComparison.Ordinal);
        Assert.DoesNotContain("{\"@t\"", raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, true, "Text")]
    [InlineData("", false, "Json")]
    [InlineData("json", true, "Json")]
    [InlineData(" TEXT ", false, "Text")]
    public void ParseFormat_SettingAndTerminal_ChoosesTheFormat(string? value, bool terminal, string expected)
    {
        Assert.Equal(expected, Logging.ParseFormat(value, terminal).ToString());
    }

    [Fact]
    public void ParseFormat_UnknownValue_ThrowsNamingLogFormat()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Logging.ParseFormat("xml", stdoutIsTerminal: true));

        Assert.Contains("LOG_FORMAT", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_LevelError_DropsInformationKeepsErrors()
    {
        var (lines, _) = await RunAsync("error", (logger, _) =>
        {
            logger.LogInformation("routine detail");
            logger.LogError("deployment failed");
            return TypedResults.Ok();
        });

        Assert.DoesNotContain(lines, l => l.GetProperty("@m").GetString() == "routine detail");
        Assert.Contains(lines, l => l.GetProperty("@m").GetString() == "deployment failed" && l.GetProperty("@l").GetString() == "Error");
    }

    [Theory]
    [InlineData(null, LogEventLevel.Information)]
    [InlineData("error", LogEventLevel.Error)]
    [InlineData("WARN", LogEventLevel.Warning)]
    [InlineData("info", LogEventLevel.Information)]
    [InlineData(" debug ", LogEventLevel.Debug)]
    public void ParseLevel_KnownValues_Map(string? value, LogEventLevel expected) =>
        Assert.Equal(expected, Logging.ParseLevel(value));

    [Theory]
    [InlineData("verbose")]
    [InlineData("warning")]
    [InlineData("5")]
    public void ParseLevel_UnknownValue_FailsNamingLogLevel(string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Logging.ParseLevel(value));

        Assert.Contains("LOG_LEVEL", ex.Message, StringComparison.Ordinal);
        Assert.Contains("error, warn, info, debug", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis://default:p%40ss-word@host:6379", "p@ss-word")]
    [InlineData("rediss://:only-password@host:6380/0", "only-password")]
    [InlineData("cache:6379,password=plain-pass,ssl=true", "plain-pass")]
    [InlineData("redis://host:6379", null)]
    [InlineData(null, null)]
    public void RedisPassword_KnownForms_Extracted(string? url, string? expected) =>
        Assert.Equal(expected, Logging.RedisPassword(url));

    [Fact]
    public void SensitivePropertyNames_AreRecognised()
    {
        Assert.True(Logging.SensitivePropertyEnricher.IsSensitive("DeployerPrivateKey"));
        Assert.True(Logging.SensitivePropertyEnricher.IsSensitive("api-key"));
        Assert.True(Logging.SensitivePropertyEnricher.IsSensitive("Authorization"));
        Assert.False(Logging.SensitivePropertyEnricher.IsSensitive("TokenAddress"));
        Assert.False(Logging.SensitivePropertyEnricher.IsSensitive("ModelId"));
    }
    [Theory]
    [InlineData("hk_live_7f3a9c2e4b1d8f6a0c5e")]
    [InlineData("p@ss word/with+odd\"chars\\and ünïcode")]
    [InlineData("jwt-signing-secret-9d8c7b6a5f4e3d2c1b0a")]
    public void RedactingSink_SecretInAnyEncodingOrOffset_IsRedacted(string secret)
    {
        var writer = new StringWriter();
        var sink = new Logging.RedactingSink(writer, new Serilog.Formatting.Compact.RenderedCompactJsonFormatter(), [secret]);
        var utf8 = System.Text.Encoding.UTF8.GetBytes(secret);
        var forms = new List<string>
        {
            secret,
            Uri.EscapeDataString(secret),
            string.Concat(utf8.Select(b => "%" + b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))),
            secret.Replace(" ", "+", StringComparison.Ordinal),
        };
        for (var offset = 0; offset < 3; offset++)
        {
            // The secret at every alignment inside a larger base64 blob, as in a JWT payload or a Basic credential.
            var blob = System.Text.Encoding.UTF8.GetBytes(new string('x', offset) + secret + "-tail");
            forms.Add(Convert.ToBase64String(blob));
            forms.Add(Convert.ToBase64String(blob).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        }

        foreach (var form in forms)
        {
            sink.Emit(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null,
                new Serilog.Parsing.MessageTemplateParser().Parse("value {Value} end"),
                [new LogEventProperty("Value", new ScalarValue("<" + form + ">"))]));
        }

        var text = writer.ToString();
        Assert.Equal(forms.Count, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        foreach (var form in forms)
        {
            var core = form.Length > 12 ? form[4..^4] : form;
            Assert.DoesNotContain(core, text, StringComparison.Ordinal);
        }
    }
}
