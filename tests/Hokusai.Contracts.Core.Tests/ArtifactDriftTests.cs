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

    private static async Task<(int ExitCode, string Output)> CheckAsync(string root)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("contracts/compile.js");
        start.ArgumentList.Add("--check");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task CompileCheck_CommittedArtefacts_MatchFreshCompile()
    {
        var (exitCode, output) = await CheckAsync(RepoRoot());

        Assert.True(exitCode == 0, $"contracts/compile.js --check failed ({exitCode}): {output}");
        Assert.Contains("match a fresh compile", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompileCheck_ArtefactEditedByHand_FailsNamingIt()
    {
        var root = RepoRoot();
        var copy = Directory.CreateTempSubdirectory("hokusai-drift-");
        try
        {
            var contracts = Directory.CreateDirectory(Path.Combine(copy.FullName, "contracts", "artifacts"));
            foreach (var file in Directory.GetFiles(Path.Combine(root, "contracts")))
            {
                File.Copy(file, Path.Combine(copy.FullName, "contracts", Path.GetFileName(file)));
            }

            foreach (var file in Directory.GetFiles(Path.Combine(root, "contracts", "artifacts")))
            {
                File.Copy(file, Path.Combine(contracts.FullName, Path.GetFileName(file)));
            }

            File.CreateSymbolicLink(Path.Combine(copy.FullName, "node_modules"), Path.Combine(root, "node_modules"));
            var edited = Path.Combine(contracts.FullName, "ModelRegistry.json");
            File.WriteAllText(edited, File.ReadAllText(edited).Replace("\"bytecode\": \"0x60", "\"bytecode\": \"0x61", StringComparison.Ordinal));

            var (exitCode, output) = await CheckAsync(copy.FullName);

            Assert.NotEqual(0, exitCode);
            Assert.Contains("ModelRegistry", output, StringComparison.Ordinal);
            Assert.Contains("npm run compile", output, StringComparison.Ordinal);
        }
        finally
        {
            // Remove the link itself first so the recursive delete can never reach the real node_modules.
            var link = new FileInfo(Path.Combine(copy.FullName, "node_modules"));
            if (link.LinkTarget is not null)
            {
                link.Delete();
            }

            copy.Delete(recursive: true);
        }
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
