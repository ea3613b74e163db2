using System.Text.Json;
using System.Text.RegularExpressions;
using ContractsApi.Tests.Infrastructure;
using Hokusai.Contracts.Client;
using Hokusai.Contracts.Webhooks;

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
}
