using System.Text.Json;
using ContractsApi.Tests.Infrastructure;

namespace ContractsApi.Tests;

public sealed class DeploymentArtefactTests
{
    /// <summary>The SSM parameters the design document names under /hokusai/&lt;env&gt;/contracts/, plus the webhook signing secrets.</summary>
    public static readonly string[] SeedParameters =
        ["deployer_key", "deployer_keys", "token_manager_address", "model_registry_address", "rpc_endpoint", "redis_url", "api_keys", "jwt_secret", "webhook_secrets"];

    /// <summary>What the service needs in its environment to run in production.</summary>
    private static readonly string[] RequiredSecretVariables =
        ["DEPLOYER_PRIVATE_KEY", "TOKEN_MANAGER_ADDRESS", "MODEL_REGISTRY_ADDRESS", "REDIS_URL", "VALID_API_KEYS", "JWT_SECRET"];

    private static readonly string[] RequiredPlainVariables =
        ["PORT", "METRICS_PORT", "CHAIN_ID", "NETWORK_NAME", "LOG_LEVEL", "CONFIRMATION_BLOCKS"];

    private static JsonElement Json(params string[] path)
    {
        using var doc = JsonDocument.Parse(Repo.Read(path));
        return doc.RootElement.Clone();
    }

    private static JsonElement Container() => Json("deploy", "ecs", "task-definition.json").GetProperty("containerDefinitions")[0];

    private static Dictionary<string, string> Secrets() =>
        Container().GetProperty("secrets").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("valueFrom").GetString()!);

    private static Dictionary<string, string> Environment() =>
        Container().GetProperty("environment").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("value").GetString()!);

    [Fact]
    public void TaskDefinition_ProvidesEveryRequiredVariable()
    {
        var provided = Secrets().Keys.Concat(Environment().Keys).ToHashSet(StringComparer.Ordinal);

        Assert.All(RequiredSecretVariables.Concat(RequiredPlainVariables), v => Assert.Contains(v, provided));
        Assert.True(provided.Contains("RPC_URL") || provided.Contains("RPC_URLS"), "RPC_URL or RPC_URLS must be provided");
        var all = Container().GetProperty("secrets").EnumerateArray().Concat(Container().GetProperty("environment").EnumerateArray())
            .Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public void TaskDefinition_SecretsComeFromSsmOnly()
    {
        var secrets = Secrets();

        Assert.All(RequiredSecretVariables, v => Assert.True(secrets.ContainsKey(v), $"{v} must be an SSM secret, not plain environment"));
        Assert.DoesNotContain(Environment().Keys, k => RequiredSecretVariables.Contains(k));
        Assert.All(secrets.Values, arn => Assert.Matches(@"^arn:aws:ssm:\{\{REGION\}\}:\{\{ACCOUNT_ID\}\}:parameter/hokusai/\{\{ENV\}\}/contracts/[a-z_]+$", arn));
    }

    [Fact]
    public void TaskDefinition_UsesEverySsmParameterOfTheDesign()
    {
        var used = Secrets().Values.Select(arn => arn[(arn.LastIndexOf('/') + 1)..]).ToList();

        Assert.Equal(SeedParameters.Order(StringComparer.Ordinal), used.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TaskDefinition_MapsParametersToTheVariablesTheAppReads()
    {
        var byParameter = Secrets().ToDictionary(kv => kv.Value[(kv.Value.LastIndexOf('/') + 1)..], kv => kv.Key);

        Assert.Equal("DEPLOYER_PRIVATE_KEY", byParameter["deployer_key"]);
        Assert.Equal("DEPLOYER_PRIVATE_KEYS", byParameter["deployer_keys"]);
        Assert.Equal("TOKEN_MANAGER_ADDRESS", byParameter["token_manager_address"]);
        Assert.Equal("MODEL_REGISTRY_ADDRESS", byParameter["model_registry_address"]);
        Assert.Contains(byParameter["rpc_endpoint"], new[] { "RPC_URL", "RPC_URLS" });
        Assert.Equal("REDIS_URL", byParameter["redis_url"]);
        Assert.Equal("VALID_API_KEYS", byParameter["api_keys"]);
        Assert.Equal("JWT_SECRET", byParameter["jwt_secret"]);
        Assert.Equal("WEBHOOK_SECRETS", byParameter["webhook_secrets"]);
    }

    [Fact]
    public void TaskDefinition_SizingPortsLogsAndHealthCheck()
    {
        var task = Json("deploy", "ecs", "task-definition.json");
        var c = Container();

        Assert.Equal("256", task.GetProperty("cpu").GetString());
        Assert.Equal("1024", task.GetProperty("memory").GetString());
        Assert.Equal(1024, c.GetProperty("memory").GetInt32());
        Assert.Equal(512, c.GetProperty("memoryReservation").GetInt32());
        Assert.Equal([3001, 9091], c.GetProperty("portMappings").EnumerateArray().Select(p => p.GetProperty("containerPort").GetInt32()).Order());
        var log = c.GetProperty("logConfiguration");
        Assert.Equal("awslogs", log.GetProperty("logDriver").GetString());
        Assert.Equal("/ecs/hokusai-contracts", log.GetProperty("options").GetProperty("awslogs-group").GetString());
        var health = c.GetProperty("healthCheck");
        Assert.Equal(["CMD-SHELL", ContainerContractTests.HealthcheckCommand()], health.GetProperty("command").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(30, health.GetProperty("interval").GetInt32());
        Assert.Equal(3, health.GetProperty("timeout").GetInt32());
        Assert.Equal(3, health.GetProperty("retries").GetInt32());
        Assert.Equal("3001", Environment()["PORT"]);
        Assert.Equal("9091", Environment()["METRICS_PORT"]);
        Assert.NotEqual("0:0", c.GetProperty("user").GetString());
    }

    [Fact]
    public void Service_RollingTwoTasksWithFullCapacityDuringDeploys()
    {
        var service = Json("deploy", "ecs", "service.json");
        var deployment = service.GetProperty("deploymentConfiguration");

        Assert.Equal(2, service.GetProperty("desiredCount").GetInt32());
        Assert.Equal(100, deployment.GetProperty("minimumHealthyPercent").GetInt32());
        Assert.Equal(200, deployment.GetProperty("maximumPercent").GetInt32());
        Assert.Equal("ECS", service.GetProperty("deploymentController").GetProperty("type").GetString());
        Assert.Equal(3001, service.GetProperty("loadBalancers")[0].GetProperty("containerPort").GetInt32());
        Assert.Equal("contracts", Json("deploy", "ecs", "service-discovery.json").GetProperty("Name").GetString());
    }

    [Fact]
    public void TargetGroup_ProbesReadinessEvery30sAndDrains30s()
    {
        var tg = Json("deploy", "alb", "target-group.json");
        var attributes = Json("deploy", "alb", "target-group-attributes.json").GetProperty("Attributes").EnumerateArray()
            .ToDictionary(a => a.GetProperty("Key").GetString()!, a => a.GetProperty("Value").GetString());

        Assert.Equal(3001, tg.GetProperty("Port").GetInt32());
        Assert.Equal("/health/ready", tg.GetProperty("HealthCheckPath").GetString());
        Assert.Equal(30, tg.GetProperty("HealthCheckIntervalSeconds").GetInt32());
        Assert.Equal(2, tg.GetProperty("UnhealthyThresholdCount").GetInt32());
        Assert.Equal("30", attributes["deregistration_delay.timeout_seconds"]);
    }

    [Theory]
    [InlineData("error-rate.json", 1.0)]
    [InlineData("unhealthy-tasks.json", 1.0)]
    [InlineData("memory.json", 80.0)]
    [InlineData("latency-p99.json", 2.0)]
    public void Alarms_HaveTheDesignThresholds(string file, double threshold)
    {
        var alarm = Json("deploy", "cloudwatch", "alarms", file);

        Assert.Equal(threshold, alarm.GetProperty("Threshold").GetDouble());
        Assert.StartsWith("hokusai-contracts-{{ENV}}-", alarm.GetProperty("AlarmName").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(alarm.GetProperty("AlarmActions").EnumerateArray());
    }

    [Fact]
    public void LatencyAlarm_IsOnP99()
    {
        Assert.Equal("p99", Json("deploy", "cloudwatch", "alarms", "latency-p99.json").GetProperty("ExtendedStatistic").GetString());
    }

    [Fact]
    public void Dashboard_ChartsWhatTheAlarmsWatch()
    {
        var text = Repo.Read("deploy", "cloudwatch", "dashboard.json");
        using var _ = JsonDocument.Parse(text);

        foreach (var metric in new[] { "HTTPCode_Target_5XX_Count", "TargetResponseTime", "UnHealthyHostCount", "MemoryUtilization" })
        {
            Assert.Contains(metric, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Readme_DocumentsEveryParameterAndItsVariable()
    {
        var readme = Repo.Read("README.md");
        foreach (var (name, valueFrom) in Secrets())
        {
            var parameter = valueFrom[(valueFrom.LastIndexOf('/') + 1)..];
            Assert.Contains($"| `/hokusai/<env>/contracts/{parameter}` |", readme, StringComparison.Ordinal);
            Assert.Contains($"`{name}`", readme, StringComparison.Ordinal);
        }
    }
}
