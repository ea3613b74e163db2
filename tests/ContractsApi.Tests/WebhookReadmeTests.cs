using System.Text.Json;
using System.Text.RegularExpressions;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts.Client;
using Hokusai.Contracts.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;

namespace ContractsApi.Tests;

/// <summary>The README's verification snippets accept what the service signs and reject what they must.</summary>
public sealed partial class WebhookReadmeTests
{
    private const string Secret = "whsec-readme-0123456789abcdef";
    private const string Body = """{"eventId":"e1","type":"deployment.completed","data":{"status":"completed"}}""";

    [GeneratedRegex("```js\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsBlock();

    [Fact]
    public async Task NodeSnippet_ServiceSignatures_AcceptedAndTamperedOrStaleRejected()
    {
        var readme = Repo.Read("README.md");
        var webhooks = readme[readme.IndexOf("## Webhooks", StringComparison.Ordinal)..];
        var snippet = JsBlock().Match(webhooks).Groups["code"].Value;
        Assert.Contains("function verifyHokusai", snippet, StringComparison.Ordinal);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        (string? Header, string Body, string[] Secrets, bool Expected)[] cases =
        [
            (WebhookSigner.Header([Secret], now, Body), Body, [Secret], true),
            (WebhookSigner.Header(["whsec-new-0123456789abcdef", Secret], now, Body), Body, [Secret], true),
            (WebhookSigner.Header([Secret], now, Body), Body.Replace("completed\"}", "failed\"}", StringComparison.Ordinal), [Secret], false),
            (WebhookSigner.Header([Secret], now - 301, Body), Body, [Secret], false),
            (WebhookSigner.Header(["whsec-other-0123456789abcdef"], now, Body), Body, [Secret], false),
            (null, Body, [Secret], false),
        ];
        var script = Path.Combine(Path.GetTempPath(), $"hokusai-readme-{Guid.NewGuid():N}.js");
        await File.WriteAllTextAsync(script, snippet + $$"""

            const cases = {{JsonSerializer.Serialize(cases.Select(c => new object?[] { c.Header, c.Body, c.Secrets }))}};
            console.log(JSON.stringify(cases.map(([header, body, secrets]) => verifyHokusai(Buffer.from(body), header, secrets))));
            """);
        try
        {
            var result = await Shell.RunAsync("node", [script], timeout: TimeSpan.FromSeconds(30));

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(JsonSerializer.Serialize(cases.Select(c => c.Expected)), result.StdOut.Trim());
        }
        finally
        {
            File.Delete(script);
        }

        // The C# verifier the README shows agrees on every case.
        var verifier = new WebhookSignatureVerifier(Secret);
        Assert.All(cases, c => Assert.Equal(c.Expected, verifier.IsValid(c.Header, c.Body)));
    }

    [Fact]
    public async Task CSharpSnippet_ReceiverAsWritten_AcceptsSignedAndRejectsTampered()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();
        var secret = Secret;

        // The README's receiver, as written there.
        var verifier = new WebhookSignatureVerifier(secret);
        app.MapPost("/hooks/hokusai", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            var failure = verifier.Verify(request.Headers["Hokusai-Signature"], body);
            if (failure != WebhookSignatureFailure.None) return Results.Unauthorized();
            var eventId = request.Headers["Hokusai-Event-Id"].ToString();
            return Results.Ok();
        });
        await app.StartAsync();
        using var client = app.GetTestClient();

        async Task<int> SendAsync(string body, string signedBody)
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            content.Headers.Add("Hokusai-Signature", WebhookSigner.Header([Secret], DateTimeOffset.UtcNow.ToUnixTimeSeconds(), signedBody));
            using var response = await client.PostAsync(new Uri("/hooks/hokusai", UriKind.Relative), content);
            return (int)response.StatusCode;
        }

        Assert.Equal(200, await SendAsync(Body, Body));
        Assert.Equal(401, await SendAsync(Body.Replace("completed\"}", "failed\"}", StringComparison.Ordinal), Body));
    }
}
