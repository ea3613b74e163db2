using System.Collections;

namespace Hokusai.Contracts;

/// <summary>
/// Finds the anvil binary: an explicit path, <c>ANVIL_PATH</c>, <c>PATH</c>, then the npm package's
/// <c>node_modules/@foundry-rs/anvil-*/bin/anvil</c> above the current directory and above the
/// application's base directory. The environment and the starting directories are inputs, so the order
/// can be tested against temporary directories.
/// </summary>
internal sealed class AnvilLocator(IDictionary environment, string currentDirectory, string baseDirectory)
{
    private static readonly string BinaryName = OperatingSystem.IsWindows() ? "anvil.exe" : "anvil";

    public static AnvilLocator ForThisProcess() =>
        new(Environment.GetEnvironmentVariables(), Directory.GetCurrentDirectory(), AppContext.BaseDirectory);

    public string Find(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw new FileNotFoundException($"anvil was not found at {explicitPath} (DevChainOptions.AnvilPath).", explicitPath);
        }

        if (environment["ANVIL_PATH"] is string fromEnvironment && !string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return File.Exists(fromEnvironment)
                ? Path.GetFullPath(fromEnvironment)
                : throw new FileNotFoundException($"anvil was not found at {fromEnvironment} (ANVIL_PATH).", fromEnvironment);
        }

        var pathDirectories = (environment["PATH"] as string ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var directory in pathDirectories)
        {
            var candidate = Path.Combine(directory, BinaryName);
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        var searched = new List<string>();
        foreach (var origin in new[] { currentDirectory, baseDirectory })
        {
            for (var directory = new DirectoryInfo(origin); directory is not null; directory = directory.Parent)
            {
                if (searched.Contains(directory.FullName, StringComparer.Ordinal))
                {
                    continue;
                }

                searched.Add(directory.FullName);
                if (FromNpmPackage(directory.FullName) is { } found)
                {
                    return found;
                }
            }
        }

        throw new FileNotFoundException(
            $"anvil was not found. Install the npm package @foundry-rs/anvil (version 1.7.1: `npm install {DevChain.AnvilPackage}`), "
            + "put anvil on PATH, or set ANVIL_PATH (or DevChainOptions.AnvilPath) to the binary. Looked in: "
            + "DevChainOptions.AnvilPath (not set); ANVIL_PATH (not set); "
            + $"PATH ({(pathDirectories.Length == 0 ? "empty" : string.Join(", ", pathDirectories))}); "
            + $"node_modules/@foundry-rs/anvil-*/bin/{BinaryName} under {string.Join(", ", searched)}.");
    }

    /// <summary>The binary of any platform package (<c>anvil-linux-amd64</c>, <c>anvil-darwin-arm64</c>, …) under <paramref name="directory"/>.</summary>
    private static string? FromNpmPackage(string directory)
    {
        var scope = Path.Combine(directory, "node_modules", "@foundry-rs");
        if (!Directory.Exists(scope))
        {
            return null;
        }

        return Directory.EnumerateDirectories(scope, "anvil-*")
            .Order(StringComparer.Ordinal)
            .Select(package => Path.Combine(package, "bin", BinaryName))
            .FirstOrDefault(File.Exists);
    }
}
