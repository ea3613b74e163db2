using System.Text.Json;
using ContractsApi.Tests.Infrastructure;

namespace ContractsApi.Tests;

public sealed class ContainerFileTests
{
    private static readonly string Dockerfile = Repo.Read("Dockerfile");

    [Fact]
    public async Task Dockerfile_Dockerfilelint_ReportsNoIssues()
    {
        var result = await Shell.RunAsync(Repo.PathOf("node_modules", ".bin", "dockerfilelint"), [Repo.PathOf("Dockerfile")]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Issues: None found", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_RuntimeIsSmallAspNetImageAsNonRootUnderInit()
    {
        var froms = Dockerfile.Split('\n').Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();

        Assert.True(froms.Count >= 2, "multi-stage build");
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-alpine", froms[^1], StringComparison.Ordinal);
        Assert.Contains("\nUSER appuser\n", Dockerfile, StringComparison.Ordinal);
        Assert.Contains("apk add --no-cache dumb-init", Dockerfile, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"/usr/bin/dumb-init\", \"--\"]", Dockerfile, StringComparison.Ordinal);
        Assert.Contains("\nEXPOSE 3001 9091\n", Dockerfile, StringComparison.Ordinal);
        Assert.Contains("\nSTOPSIGNAL SIGTERM\n", Dockerfile, StringComparison.Ordinal);
        Assert.Contains("HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ", Dockerfile, StringComparison.Ordinal);
        Assert.Contains("/health", ContainerContractTests.HealthcheckCommand(), StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_RestoresFromProjectFilesBeforeCopyingSources()
    {
        var lines = Dockerfile.Split('\n').ToList();
        var restore = lines.FindIndex(l => l.StartsWith("RUN dotnet restore", StringComparison.Ordinal));
        var sources = lines.FindIndex(l => l.StartsWith("COPY src/ ", StringComparison.Ordinal));

        Assert.InRange(restore, 0, sources - 1);
        Assert.All(lines.Take(restore).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)),
            l => Assert.DoesNotContain("/ src/", l, StringComparison.Ordinal));
        var projects = ProjectsOfTheHost().ToList();
        Assert.Contains(projects, p => p.EndsWith("Hokusai.Contracts.Core.csproj", StringComparison.Ordinal));
        foreach (var csproj in projects)
        {
            var relative = Path.GetRelativePath(Repo.Root, csproj).Replace('\\', '/');
            Assert.Contains($"COPY {relative} ", string.Join('\n', lines.Take(restore)), StringComparison.Ordinal);
        }
    }

    /// <summary>The host's own project file and every src project it references, transitively.</summary>
    private static IEnumerable<string> ProjectsOfTheHost()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Repo.PathOf("samples", "ContractsApi", "ContractsApi.csproj")]);
        while (pending.Count > 0)
        {
            var project = Path.GetFullPath(pending.Pop());
            if (!seen.Add(project))
            {
                continue;
            }

            var references = System.Xml.Linq.XDocument.Load(project).Descendants("ProjectReference")
                .Select(r => (string?)r.Attribute("Include"))
                .OfType<string>();
            foreach (var reference in references)
            {
                pending.Push(Path.Combine(Path.GetDirectoryName(project)!, reference.Replace('\\', '/')));
            }
        }

        return seen.Where(p => Path.GetRelativePath(Repo.Root, p).Replace('\\', '/').StartsWith("src/", StringComparison.Ordinal));
    }

    [Fact]
    public void Dockerignore_KeepsBuildOutputsAndSecretsOut()
    {
        var ignore = Repo.Read(".dockerignore").Split('\n').Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);

        Assert.Contains("**/bin/", ignore);
        Assert.Contains("**/obj/", ignore);
        Assert.Contains("**/node_modules/", ignore);
        Assert.Contains(".git/", ignore);
    }

    [Fact]
    public async Task Compose_RunsRedisAnvilAndTheService()
    {
        var result = await Shell.RunAsync("node", [Repo.PathOf("node_modules", "js-yaml", "bin", "js-yaml.js"), Repo.PathOf("docker-compose.yml")]);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.StdOut);
        var services = doc.RootElement.GetProperty("services");

        Assert.True(services.TryGetProperty("redis", out _));
        Assert.Contains("@foundry-rs/anvil", string.Join(' ', services.GetProperty("anvil").GetProperty("command").EnumerateArray().Select(e => e.GetString())), StringComparison.Ordinal);
        var app = services.GetProperty("contracts");
        Assert.Equal(".", app.GetProperty("build").GetString());
        var env = app.GetProperty("environment");
        Assert.Equal("http://anvil:8545", env.GetProperty("RPC_URL").GetString());
        Assert.Equal("redis://redis:6379", env.GetProperty("REDIS_URL").GetString());
        Assert.Equal(["3001:3001", "9091:9091"], app.GetProperty("ports").EnumerateArray().Select(p => p.GetString()));
    }
}
