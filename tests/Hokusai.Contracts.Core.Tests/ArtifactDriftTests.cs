using System.Diagnostics;
using System.Text.Json;

namespace Hokusai.Contracts.Tests;

public sealed class ArtifactDriftTests
{
    private static string RepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "contracts", "compile.js")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Repository root (contracts/compile.js) not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task CompileCheck_CommittedArtefacts_MatchFreshCompile()
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = RepoRoot(), RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("contracts/compile.js");
        start.ArgumentList.Add("--check");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, $"contracts/compile.js --check failed ({process.ExitCode}): {await stdout}{await stderr}");
        Assert.Contains("match a fresh compile", await stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HokusaiToken")]
    [InlineData("ModelRegistry")]
    [InlineData("TokenManager")]
    public void EmbeddedArtefact_SameAsCommittedFile(string name)
    {
        using var stream = typeof(HokusaiContractsOptions).Assembly.GetManifestResourceStream($"Hokusai.Contracts.Artifacts.{name}.json");
        Assert.NotNull(stream);
        using var embedded = JsonDocument.Parse(stream);
        using var committed = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "contracts", "artifacts", name + ".json")));

        Assert.Equal(name, embedded.RootElement.GetProperty("contractName").GetString());
        Assert.Equal(committed.RootElement.GetProperty("bytecode").GetString(), embedded.RootElement.GetProperty("bytecode").GetString());
        Assert.StartsWith("0x60", embedded.RootElement.GetProperty("bytecode").GetString(), StringComparison.Ordinal);
    }
}
