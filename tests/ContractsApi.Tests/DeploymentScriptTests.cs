using System.Text.Json;
using ContractsApi.Tests.Infrastructure;

namespace ContractsApi.Tests;

public sealed class DeploymentScriptTests
{
    private const string Registry = "932100697590.dkr.ecr.us-east-1.amazonaws.com";
    private const string Image = Registry + "/hokusai/contracts";

    private static async Task<string> GitShaAsync()
    {
        var result = await Shell.RunAsync("git", ["rev-parse", "--short=12", "HEAD"]);
        Assert.Equal(0, result.ExitCode);
        return result.StdOut.Trim();
    }

    private static string[] Commands(ShellResult result) =>
        result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("+ ", StringComparison.Ordinal)).ToArray();

    private static Task<ShellResult> RunScriptAsync(string script, params string[] args) =>
        Shell.RunAsync("bash", [Repo.PathOf("deploy", script), .. args],
            environment: new Dictionary<string, string?> { ["AWS_ACCOUNT_ID"] = null, ["AWS_REGION"] = null, ["CHAIN_ID"] = null, ["NETWORK_NAME"] = null, ["CONFIRMATION_BLOCKS"] = null });

    [Fact]
    public async Task BuildAndPush_DryRun_PrintsBuildTagLoginAndPushForShaVersionAndLatest()
    {
        var sha = await GitShaAsync();

        var result = await RunScriptAsync("build-and-push.sh", "--dry-run", "--version", "1.4.2");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            [
                $"+ docker build --pull --label org.opencontainers.image.revision={sha} --label org.opencontainers.image.version=1.4.2 -t contracts-api:{sha} .",
                $"+ docker tag contracts-api:{sha} {Image}:{sha}",
                $"+ docker tag contracts-api:{sha} {Image}:1.4.2",
                $"+ docker tag contracts-api:{sha} {Image}:latest",
                $"+ aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin {Registry}",
                $"+ docker push {Image}:{sha}",
                $"+ docker push {Image}:1.4.2",
                $"+ docker push {Image}:latest",
            ],
            Commands(result));
        Assert.Equal($"image: {Image}:{sha}", result.StdOut.Trim());
    }

    [Fact]
    public async Task BuildAndPush_DryRunWithoutVersion_UsesTheProjectVersion()
    {
        var version = System.Text.RegularExpressions.Regex.Match(Repo.Read("Directory.Build.props"), "<Version(?:Prefix)?>(.+)</Version(?:Prefix)?>").Groups[1].Value;

        var result = await RunScriptAsync("build-and-push.sh", "--dry-run");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"+ docker push {Image}:{version}", Commands(result));
    }

    [Fact]
    public async Task BuildAndPush_BadVersion_RefusesWithExit2()
    {
        var result = await RunScriptAsync("build-and-push.sh", "--dry-run", "--version", "latest; rm -rf /");

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(Commands(result));
    }

    [Fact]
    public async Task Deploy_DryRun_RegistersUpdatesAndWaitsWithoutRollback()
    {
        var result = await RunScriptAsync("deploy.sh", "--env", "development", "--image-tag", "abc123", "--dry-run");

        Assert.True(result.ExitCode == 0, result.ToString());
        var commands = Commands(result);
        Assert.Equal(4, commands.Length);
        Assert.Equal("+ aws ecs describe-services --region us-east-1 --cluster hokusai-development --services hokusai-contracts-development --query services\\[0\\].taskDefinition --output text", commands[0]);
        Assert.Matches(@"^\+ aws ecs register-task-definition --region us-east-1 --cli-input-json file://\S+\.json --query taskDefinition\.taskDefinitionArn --output text$", commands[1]);
        Assert.Equal("+ aws ecs update-service --region us-east-1 --cluster hokusai-development --service hokusai-contracts-development --task-definition arn:aws:ecs:us-east-1:932100697590:task-definition/hokusai-contracts-development:42 --force-new-deployment --output text --query service.serviceName", commands[2]);
        Assert.Equal("+ aws ecs wait services-stable --region us-east-1 --cluster hokusai-development --services hokusai-contracts-development", commands[3]);
        Assert.DoesNotContain("rolling back", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_DryRunWithSimulatedFailure_RollsBackToPreviousRevisionAndExits1()
    {
        var result = await RunScriptAsync("deploy.sh", "--env", "development", "--image-tag", "abc123", "--dry-run", "--simulate-failure");

        Assert.Equal(1, result.ExitCode);
        var commands = Commands(result);
        Assert.Equal(6, commands.Length);
        Assert.Contains(":task-definition/hokusai-contracts-development:42 ", commands[2], StringComparison.Ordinal);
        Assert.Equal("+ aws ecs update-service --region us-east-1 --cluster hokusai-development --service hokusai-contracts-development --task-definition arn:aws:ecs:us-east-1:932100697590:task-definition/hokusai-contracts-development:41 --force-new-deployment --output text --query service.serviceName", commands[4]);
        Assert.Equal(commands[3], commands[5]);
        Assert.Contains("rolling back to arn:aws:ecs:us-east-1:932100697590:task-definition/hokusai-contracts-development:41", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("rolled back", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_WithoutEnvironment_RefusesWithExit2()
    {
        var result = await RunScriptAsync("deploy.sh", "--dry-run");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--env", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_SimulateFailureWithoutDryRun_Refuses()
    {
        var result = await RunScriptAsync("deploy.sh", "--env", "development", "--simulate-failure");

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(Commands(result));
    }

    [Fact]
    public async Task Deploy_Render_FillsEveryPlaceholderWithTheEnvironmentAndImage()
    {
        var result = await RunScriptAsync("deploy.sh", "--env", "staging", "--image-tag", "1.2.3", "--render");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("{{", result.StdOut, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(result.StdOut);
        var container = doc.RootElement.GetProperty("containerDefinitions")[0];
        Assert.Equal("hokusai-contracts-staging", doc.RootElement.GetProperty("family").GetString());
        Assert.Equal(Image + ":1.2.3", container.GetProperty("image").GetString());
        Assert.All(container.GetProperty("secrets").EnumerateArray(), s =>
            Assert.StartsWith("arn:aws:ssm:us-east-1:932100697590:parameter/hokusai/staging/contracts/", s.GetProperty("valueFrom").GetString(), StringComparison.Ordinal));
        var env = container.GetProperty("environment").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString());
        Assert.Equal("137", env["CHAIN_ID"]);
        Assert.Equal("polygon", env["NETWORK_NAME"]);
    }

    [Theory]
    [InlineData("deploy/build-and-push.sh")]
    [InlineData("deploy/deploy.sh")]
    public async Task Scripts_Shellcheck_Clean(string script)
    {
        var result = await Shell.RunAsync("shellcheck", ["--severity=style", Repo.PathOf(script)]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Theory]
    [InlineData("deploy/build-and-push.sh")]
    [InlineData("deploy/deploy.sh")]
    public void Scripts_StrictModeAndExecutable(string script)
    {
        Assert.Contains("set -euo pipefail", Repo.Read(script), StringComparison.Ordinal);
        Assert.True(File.GetUnixFileMode(Repo.PathOf(script)).HasFlag(UnixFileMode.UserExecute));
    }
}
