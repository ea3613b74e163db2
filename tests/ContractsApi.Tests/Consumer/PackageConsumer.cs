using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using ContractsApi.Tests.Infrastructure;

namespace ContractsApi.Tests.Consumer;

/// <summary>
/// The packages as a consumer gets them, once per test run: every shipped project (<c>src/*</c>) packed
/// into a temporary folder feed under a version no cache has seen, and one separate project per README
/// snippet (Program.cs = the snippet, verbatim) referencing the library packages from that feed, restored
/// into an empty package folder and built together. Nothing here references the repository's projects.
/// </summary>
public sealed class PackageConsumer : IAsyncLifetime
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);
    private static readonly string[] RepositoryBuildFiles = ["Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props"];

    /// <summary>The temporary folder holding the feed, the package folder and the consumer projects.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "hokusai-consumer-" + Guid.NewGuid().ToString("N")[..12]);

    public string Feed => Path.Combine(Root, "feed");

    /// <summary>The package folder the consumer restores into (starts empty: nothing stale can stand in for a package).</summary>
    public string PackagesFolder => Path.Combine(Root, "packages");

    /// <summary>The packed version, e.g. <c>1.1.0-consumer-3f2b1c0d9e8a</c>.</summary>
    public string Version { get; private set; } = "";

    /// <summary>Library package ids in the feed (dotnet tools are packed but cannot be referenced).</summary>
    public IReadOnlyList<string> LibraryPackages { get; private set; } = [];

    internal IReadOnlyList<ReadmeSnippet> Snippets { get; private set; } = [];

    /// <summary>The consumer build's result (a failure is reported by the tests, per snippet).</summary>
    internal ShellResult Build { get; private set; } = new(-1, "", "not built");

    internal string ProjectDirectory(ReadmeSnippet snippet) => Path.Combine(Root, snippet.Name);

    internal string AssemblyPath(ReadmeSnippet snippet) =>
        Path.Combine(ProjectDirectory(snippet), "bin", "Release", "net10.0", snippet.ProjectName + ".dll");

    internal ReadmeSnippet Snippet(string name) =>
        Snippets.SingleOrDefault(s => s.Name == name)
        ?? throw new InvalidOperationException($"README.md has no ```csharp block after <!-- snippet: {name} --> (found: {string.Join(", ", Snippets.Select(s => s.Name))}).");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(PackagesFolder);
        Snippets = ReadmeSnippets.Extract(Repo.Read("README.md"));
        await PackAsync();
        WriteConsumer();
        Build = await Shell.RunAsync(
            "dotnet",
            ["build", Path.Combine(Root, "consumer.slnx"), "-c", "Release", "-nologo", "-nodeReuse:false", "-clp:NoSummary"],
            workingDirectory: Root,
            environment: BuildEnvironment(),
            timeout: BuildTimeout);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Packs every project under <c>src/</c> in one <c>dotnet pack</c> of a solution filter. The test run built
    /// them already (<c>./dev test</c> builds the solution), so the outputs are packed as they are; a project
    /// whose sources are newer than its output is built first.
    /// </summary>
    private async Task PackAsync()
    {
        var solution = Repo.PathOf("Hokusai.Contracts.sln");
        var listed = await File.ReadAllTextAsync(solution);
        var projects = Directory.GetDirectories(Repo.PathOf("src"))
            .SelectMany(d => Directory.GetFiles(d, "*.csproj"))
            .Select(p => Path.GetRelativePath(Repo.Root, p).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        var missing = projects.Where(p => !listed.Contains(p.Replace('/', '\\'), StringComparison.Ordinal) && !listed.Contains(p, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"Shipped projects missing from Hokusai.Contracts.sln (so `./dev test` would neither build nor pack them): {string.Join(", ", missing)}");

        var filter = Path.Combine(Root, "packages.slnf");
        await File.WriteAllTextAsync(filter, JsonSerializer.Serialize(new { solution = new { path = solution, projects } }));

        // A version no package cache can hold: a stale extracted package can never hide a packaging error.
        var suffix = "consumer-" + Guid.NewGuid().ToString("N")[..12];
        // The .nuspec files go to the temporary folder too, not into the projects' obj folders.
        List<string> arguments = ["pack", filter, "-c", Repo.Configuration, "-o", Feed, "-nologo", "-nodeReuse:false", "-clp:ErrorsOnly",
            "-p:VersionSuffix=" + suffix, "-p:NuspecOutputPath=" + Path.Combine(Root, "nuspec") + "/"];
        if (AreBuilt(projects))
        {
            arguments.Add("--no-build");
        }

        var pack = await Shell.RunAsync("dotnet", arguments, timeout: PackTimeout);
        Assert.True(pack.ExitCode == 0, "dotnet pack failed:\n" + pack);

        var packages = Directory.GetFiles(Feed, "*.nupkg").Select(ReadNuspec).ToList();
        Assert.True(packages.Count == projects.Count, $"{projects.Count} shipped projects but {packages.Count} packages in the feed:\n{pack}");
        Version = packages.Select(p => p.Version).Distinct().Single();
        Assert.EndsWith("-" + suffix, Version, StringComparison.Ordinal);
        LibraryPackages = [.. packages.Where(p => !p.IsTool).Select(p => p.Id).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// True when every project's assembly is newer than every shipped project's sources and the repository-wide build
    /// files (the packages build on each other, so a change to one makes all of them stale).
    /// </summary>
    private static bool AreBuilt(IReadOnlyList<string> projects)
    {
        var outputs = projects.Select(p => Path.Combine(Path.GetDirectoryName(Repo.PathOf(p))!, "bin", Repo.Configuration, "net10.0", Path.GetFileNameWithoutExtension(p) + ".dll")).ToList();
        if (!outputs.All(File.Exists))
        {
            return false;
        }

        var inputs = projects.SelectMany(p => Directory.EnumerateFiles(Path.GetDirectoryName(Repo.PathOf(p))!, "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Concat(RepositoryBuildFiles.Select(f => Repo.PathOf(f)).Where(File.Exists))
            .Concat(Directory.EnumerateFiles(Repo.PathOf("contracts", "artifacts"), "*.json"));
        var oldestOutput = outputs.Min(File.GetLastWriteTimeUtc);
        return inputs.All(f => File.GetLastWriteTimeUtc(f) <= oldestOutput);
    }

    private static (string Id, string Version, bool IsTool) ReadNuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using var stream = entry.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Value(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
        var isTool = metadata.Elements().Where(e => e.Name.LocalName == "packageTypes").Elements()
            .Any(t => string.Equals((string?)t.Attribute("name"), "DotnetTool", StringComparison.OrdinalIgnoreCase));
        return (Value("id"), Value("version"), isTool);
    }

    /// <summary>The consumer: a nuget.config, one web project per snippet, and a solution to build them in one go.</summary>
    private void WriteConsumer()
    {
        // Empty build files stop MSBuild from importing any found further up (the temporary folder's parents).
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />\n");

        // The local feed on top of the machine's own sources (inherited from the user's NuGet.Config); packages are
        // extracted into the empty folder, while their dependencies are read from the machine's cache when present.
        var machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        new XDocument(new XElement("configuration",
            new XElement("config", Add("globalPackagesFolder", PackagesFolder)),
            new XElement("packageSources", Add("hokusai-local-feed", Feed)),
            new XElement("fallbackPackageFolders", Add("machine-cache", machineCache))))
            .Save(Path.Combine(Root, "nuget.config"));

        foreach (var snippet in Snippets)
        {
            var directory = ProjectDirectory(snippet);
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "Program.cs"), snippet.Code);
            new XDocument(new XElement("Project", new XAttribute("Sdk", "Microsoft.NET.Sdk.Web"),
                new XElement("PropertyGroup",
                    new XElement("TargetFramework", "net10.0"),
                    new XElement("Nullable", "enable"),
                    new XElement("ImplicitUsings", "enable"),
                    // What a consumer's warnings-as-errors build would say about the snippet, it says here.
                    new XElement("TreatWarningsAsErrors", "true"),
                    // Advisories depend on the day and on the source serving them, not on the snippet.
                    new XElement("NuGetAudit", "false")),
                new XElement("ItemGroup", LibraryPackages.Select(id =>
                    new XElement("PackageReference", new XAttribute("Include", id), new XAttribute("Version", Version))))))
                .Save(Path.Combine(directory, snippet.ProjectName + ".csproj"));
        }

        new XDocument(new XElement("Solution", Snippets.Select(s =>
            new XElement("Project", new XAttribute("Path", $"{s.Name}/{s.ProjectName}.csproj")))))
            .Save(Path.Combine(Root, "consumer.slnx"));

        static XElement Add(string key, string value) => new("add", new XAttribute("key", key), new XAttribute("value", value));
    }

    private Dictionary<string, string?> BuildEnvironment() => new()
    {
        ["NUGET_PACKAGES"] = PackagesFolder,
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
    };
}
