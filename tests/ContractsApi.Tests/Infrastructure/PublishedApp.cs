namespace ContractsApi.Tests.Infrastructure;

/// <summary>
/// Publishes the reference host once per test run into a temporary folder readable by an
/// unprivileged user (as the image's <c>COPY</c> leaves it), reusing the build the tests ran on.
/// </summary>
public sealed class PublishedApp : IAsyncLifetime
{
    public string Directory { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "hokusai-contracts-publish-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        var result = await Shell.RunAsync(
            "dotnet",
            ["publish", Repo.PathOf("samples", "ContractsApi", "ContractsApi.csproj"), "-c", Repo.Configuration, "--no-build", "-o", dir, "-nologo"],
            timeout: TimeSpan.FromMinutes(5));
        Assert.True(result.ExitCode == 0, result.ToString());
        // Like the image: root owns the files, everyone may read them, nobody may write them.
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Directory = dir;
    }

    public Task DisposeAsync()
    {
        if (Directory.Length > 0)
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PublishedAppGroup : ICollectionFixture<PublishedApp>, ICollectionFixture<DevChainFixture>
{
    public const string Name = "published app";
}
