using System.Net;
using System.Text.Json;
using ContractsApi.Tests.EndToEnd;
using ContractsApi.Tests.Infrastructure;
using Microsoft.Playwright;

namespace ContractsApi.Tests.Host;

/// <summary>
/// The Scalar API reference page in a real headless browser (Debian's <c>chromium</c>, driven by Playwright; no
/// browser is downloaded): it renders offline, loads the OpenAPI document and runs under the host's CSP with
/// no violation or console error.
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class ApiReferencePageTests(DevChainFixture fixture)
{
    private const string Chromium = "/usr/bin/chromium";

    private static readonly string[] s_browserArgs =
        ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private static Dictionary<string, string> Development => new() { ["environment"] = "Development" };

    [Fact]
    public async Task ScalarPage_InDevelopment_RendersOperationsWithoutCspViolations()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install the Debian package chromium (./dev test does)");
        await using var host = new ComposedHost(fixture.Chain, Development);
        using var client = host.CreateApiClient();
        var baseAddress = client.BaseAddress!;
        var document = await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        var operations = Operations(document);
        Assert.NotEmpty(operations);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = s_browserArgs,
        });
        var page = await browser.NewPageAsync();
        var problems = new List<string>();
        var external = new List<string>();
        var documentLoaded = false;
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning" && message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)
                || message.Type == "error")
            {
                problems.Add($"console {message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => problems.Add("page error: " + error);
        page.RequestFailed += (_, request) => problems.Add($"request failed: {request.Url} ({request.Failure})");
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(baseAddress.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                external.Add(request.Url);
            }
        };
        var responses = new List<string>();
        page.Response += (_, response) => responses.Add($"{response.Status} {response.Url}");
        page.Response += (_, response) => documentLoaded |= response.Url.EndsWith("/openapi/v1.json", StringComparison.Ordinal) && response.Status == 200;
        // Violations are also reported as events inside the page, which catches those the console does not show.
        await page.AddInitScriptAsync("""
            window.__cspViolations = [];
            document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
            """);

        var response = await page.GotoAsync(new Uri(baseAddress, "/scalar").ToString(), new PageGotoOptions { Timeout = 60_000 });
        Assert.Equal((int)HttpStatusCode.OK, response?.Status);
        var csp = await response!.HeaderValueAsync("content-security-policy");
        Assert.NotNull(csp);
        Assert.Contains("'nonce-", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("script-src 'self' 'unsafe-inline'", csp, StringComparison.Ordinal);

        // The page shows every tag of the document as a group; opened, each shows its operations (by summary, else path).
        foreach (var tag in Tags(document))
        {
            await page.GetByText(tag, new PageGetByTextOptions { Exact = true }).First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            var open = page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Open Group - " + tag });
            if (await open.CountAsync() > 0)
            {
                await open.First.ClickAsync();
            }
        }

        foreach (var operation in operations)
        {
            try
            {
                await page.GetByText(operation).First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            }
            catch (TimeoutException)
            {
                var shown = await page.EvaluateAsync<string>("document.body ? document.body.innerText.slice(0, 3000) : ''");
                var seen = await page.EvaluateAsync<string[]>("window.__cspViolations");
                Assert.Fail($"'{operation}' never appeared. Problems: {string.Join(" | ", problems)}; CSP violations: {string.Join(" | ", seen)}; external requests: {string.Join(" ", external)}; responses: {string.Join(" ", responses)}; page text: {shown}");
            }
        }

        var violations = await page.EvaluateAsync<string[]>("window.__cspViolations");
        Assert.True(documentLoaded, "the page never loaded /openapi/v1.json");
        Assert.Empty(violations);
        Assert.Empty(problems);
        Assert.Empty(external);
    }

    [Fact]
    public async Task ScalarPage_InProduction_IsNotServed()
    {
        await using var host = new ComposedHost(fixture.Chain);
        using var client = host.CreateApiClient();

        using var response = await client.GetAsync(new Uri("/scalar", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ApiResponses_InDevelopment_KeepTheStrictApiPolicy()
    {
        await using var host = new ComposedHost(fixture.Chain, Development);
        using var client = host.CreateApiClient();

        using var response = await client.GetAsync(new Uri("/health", UriKind.Relative));

        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("script-src", csp, StringComparison.Ordinal);
    }

    private static HashSet<string> Tags(string openApi)
    {
        using var json = JsonDocument.Parse(openApi);
        var tags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in json.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (operation.Value.TryGetProperty("tags", out var names))
                {
                    tags.UnionWith(names.EnumerateArray().Select(t => t.GetString()!));
                }
            }
        }

        return tags;
    }

    private static List<string> Operations(string openApi)
    {
        using var json = JsonDocument.Parse(openApi);
        var result = new List<string>();
        foreach (var path in json.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                result.Add(operation.Value.TryGetProperty("summary", out var summary) && summary.GetString() is { Length: > 0 } text ? text : path.Name);
            }
        }

        return result;
    }
}
