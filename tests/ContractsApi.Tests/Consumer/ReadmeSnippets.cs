using System.Text.RegularExpressions;

namespace ContractsApi.Tests.Consumer;

/// <summary>A C# block of README.md marked <c>&lt;!-- snippet: name --&gt;</c>: a whole Program.cs a consumer can paste.</summary>
internal sealed record ReadmeSnippet(string Name, string Code)
{
    /// <summary>The consumer project's folder and assembly name, e.g. <c>embedding</c> → <c>Consumer.Embedding</c>.</summary>
    public string ProjectName => "Consumer." + string.Concat(Name.Split('-').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}

/// <summary>Finds the README's compilable snippets and turns a consumer build's output into per-snippet compiler errors.</summary>
internal static partial class ReadmeSnippets
{
    /// <summary>Every <c>&lt;!-- snippet: name --&gt;</c> marker followed by a <c>```csharp</c> block, in order.</summary>
    public static IReadOnlyList<ReadmeSnippet> Extract(string readme) =>
        [.. SnippetPattern().Matches(readme.ReplaceLineEndings("\n")).Select(m => new ReadmeSnippet(m.Groups["name"].Value, m.Groups["code"].Value))];

    /// <summary>
    /// The compiler and restore errors MSBuild reported for <paramref name="projectDirectory"/>, once each, with the
    /// temporary path and the trailing project name removed (<c>Program.cs(3,1): error CS0246: …</c>).
    /// </summary>
    public static IReadOnlyList<string> ErrorsOf(string buildOutput, string projectDirectory)
    {
        var prefix = projectDirectory.TrimEnd('/') + "/";
        return [.. buildOutput.ReplaceLineEndings("\n").Split('\n')
            .Select(l => l.Trim())
            .Where(l => ErrorPattern().IsMatch(l) && l.Contains(prefix, StringComparison.Ordinal))
            .Select(l => TrailingProjectPattern().Replace(l, string.Empty).Replace(prefix, string.Empty, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The message a failed snippet build fails the test with: each snippet and its compiler errors.</summary>
    public static string Describe(IReadOnlyList<ReadmeSnippet> snippets, string buildOutput, Func<ReadmeSnippet, string> projectDirectory)
    {
        var parts = new List<string>();
        foreach (var snippet in snippets)
        {
            var errors = ErrorsOf(buildOutput, projectDirectory(snippet));
            if (errors.Count > 0)
            {
                parts.Add($"README.md snippet '{snippet.Name}' (the ```csharp block after <!-- snippet: {snippet.Name} -->) does not compile against the packed packages:\n  "
                    + string.Join("\n  ", errors));
            }
        }

        // An error no snippet owns (a feed or SDK problem) is shown whole.
        return parts.Count > 0 ? string.Join("\n\n", parts) : "The consumer build failed:\n" + buildOutput;
    }

    [GeneratedRegex(@"<!--\s*snippet:\s*(?<name>[a-z0-9-]+)\s*-->\s*\n```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SnippetPattern();

    [GeneratedRegex(@": error [A-Z]+\d+:")]
    private static partial Regex ErrorPattern();

    [GeneratedRegex(@"\s*\[[^\]]+\.(?:csproj|slnx?)\]$")]
    private static partial Regex TrailingProjectPattern();
}
