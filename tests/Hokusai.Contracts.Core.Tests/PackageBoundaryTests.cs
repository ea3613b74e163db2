using System.Xml.Linq;

namespace Hokusai.Contracts.Tests;

/// <summary>The rules between the shipped packages (every project under src/), read from their project files.</summary>
public sealed class PackageBoundaryTests
{
    private static string RepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Hokusai.Contracts.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Repository root (Hokusai.Contracts.sln) not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<string> ShippedProjects() =>
        Directory.GetFiles(Path.Combine(RepoRoot(), "src"), "*.csproj", SearchOption.AllDirectories);

    [Fact]
    public void ShippedPackages_GrantNoInternalsToEachOtherOrToTheSample()
    {
        var shipped = ShippedProjects().Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.OrdinalIgnoreCase);
        shipped.Add("ContractsApi");

        var grants = ShippedProjects()
            .SelectMany(project => XDocument.Load(project).Descendants("InternalsVisibleTo")
                .Select(item => (Project: Path.GetFileNameWithoutExtension(project), Friend: (string?)item.Attribute("Include"))))
            .Where(grant => grant.Friend is not null && shipped.Contains(grant.Friend))
            .Select(grant => $"{grant.Project} -> {grant.Friend}")
            .ToList();

        Assert.Empty(grants);
    }

    [Fact]
    public void ShippedPackages_EachDeclaresItsPublicApi()
    {
        foreach (var project in ShippedProjects())
        {
            var directory = Path.GetDirectoryName(project)!;
            foreach (var file in new[] { "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt" })
            {
                var path = Path.Combine(directory, file);
                Assert.True(File.Exists(path), $"{path} is missing; run ./dev public-api");
                Assert.Equal("#nullable enable", File.ReadLines(path).First());
            }
        }
    }
}
