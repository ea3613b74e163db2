using System.Collections;

namespace Hokusai.Contracts.Tests;

public sealed class AnvilLocatorTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("anvil-locator-");

    public void Dispose() => _root.Delete(recursive: true);

    private string Dir(params string[] parts)
    {
        var path = Path.Combine([_root.FullName, .. parts]);
        Directory.CreateDirectory(path);
        return path;
    }

    private string Binary(params string[] parts)
    {
        var path = Path.Combine([_root.FullName, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\n");
        return path;
    }

    private static Hashtable Env(string? anvilPath = null, string? path = null) => new() { ["ANVIL_PATH"] = anvilPath, ["PATH"] = path };

    [Fact]
    public void Find_ExplicitPath_WinsOverEverythingElse()
    {
        var explicitBinary = Binary("explicit", "anvil");
        var fromEnvironment = Binary("env", "anvil");
        var onPath = Binary("bin", "anvil");

        var found = new AnvilLocator(Env(fromEnvironment, Path.GetDirectoryName(onPath)), Dir("work"), Dir("app")).Find(explicitBinary);

        Assert.Equal(explicitBinary, found);
    }

    [Fact]
    public void Find_AnvilPathVariable_WinsOverPathAndNodeModules()
    {
        var fromEnvironment = Binary("env", "anvil");
        var onPath = Binary("bin", "anvil");
        Binary("work", "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");

        var found = new AnvilLocator(Env(fromEnvironment, Path.GetDirectoryName(onPath)), Dir("work"), Dir("app")).Find(null);

        Assert.Equal(fromEnvironment, found);
    }

    [Fact]
    public void Find_OnPath_WinsOverNodeModules()
    {
        var onPath = Binary("bin", "anvil");
        Binary("work", "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");
        var path = string.Join(Path.PathSeparator, Dir("empty"), Path.GetDirectoryName(onPath));

        var found = new AnvilLocator(Env(path: path), Dir("work"), Dir("app")).Find(null);

        Assert.Equal(onPath, found);
    }

    [Fact]
    public void Find_NodeModulesAboveTheCurrentDirectory_AnyPlatformPackage()
    {
        var npm = Binary("repo", "node_modules", "@foundry-rs", "anvil-darwin-arm64", "bin", "anvil");

        var found = new AnvilLocator(Env(path: Dir("empty")), Dir("repo", "src", "deep"), Dir("app")).Find(null);

        Assert.Equal(npm, found);
    }

    [Fact]
    public void Find_NodeModulesAboveTheBaseDirectory_WhenNoneAboveTheCurrentOne()
    {
        var npm = Binary("app", "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");

        var found = new AnvilLocator(Env(), Dir("work"), Dir("app", "bin", "Release")).Find(null);

        Assert.Equal(npm, found);
    }

    [Fact]
    public void Find_NothingAnywhere_NamesThePackageVersionAndEveryPlaceLooked()
    {
        var work = Dir("work", "inner");
        var app = Dir("app");
        var pathDirectory = Dir("bin");

        var error = Assert.Throws<FileNotFoundException>(() => new AnvilLocator(Env(path: pathDirectory), work, app).Find(null));

        Assert.Contains("@foundry-rs/anvil", error.Message, StringComparison.Ordinal);
        Assert.Contains("1.7.1", error.Message, StringComparison.Ordinal);
        Assert.Contains("ANVIL_PATH", error.Message, StringComparison.Ordinal);
        Assert.Contains("DevChainOptions.AnvilPath", error.Message, StringComparison.Ordinal);
        Assert.Contains(pathDirectory, error.Message, StringComparison.Ordinal);
        Assert.Contains(work, error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_root.FullName, "work"), error.Message, StringComparison.Ordinal);
        Assert.Contains(app, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("npm ci", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("repository", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Find_AnvilPathVariableMissingFile_ThrowsNamingTheVariable()
    {
        var missing = Path.Combine(_root.FullName, "nope", "anvil");

        var error = Assert.Throws<FileNotFoundException>(() => new AnvilLocator(Env(missing), Dir("work"), Dir("app")).Find(null));

        Assert.Contains("ANVIL_PATH", error.Message, StringComparison.Ordinal);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }
}
