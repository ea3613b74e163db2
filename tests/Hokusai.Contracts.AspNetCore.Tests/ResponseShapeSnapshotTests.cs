using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using System.Runtime.CompilerServices;
using Snapshooter;
using Snapshooter.Xunit;

namespace Hokusai.Contracts.AspNetCore.Tests;

/// <summary>
/// Snapshots of whole responses (status, relevant headers, body). Timestamps are normalised by a
/// fixed clock, job ids by the fake's sequence and the request id by sending one.
/// </summary>
public sealed class ResponseShapeSnapshotTests
{
    private const string RequestId = "snapshot-request";
    private static readonly string[] SnapshotHeaders =
        ["Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-Request-Id", "WWW-Authenticate", "Content-Type"];

    /// <summary>
    /// The folder of this file (Snapshooter adds <c>__snapshots__</c>), found from the test assembly's location. Snapshooter's own look-up
    /// uses the source path in the symbols, which a deterministic (CI) build rewrites to <c>/_/…</c>: the tests
    /// would then read and write snapshots outside the checkout.
    /// </summary>
    private static readonly string TestFolder = FindTestFolder();

    private static string FindTestFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hokusai.Contracts.AspNetCore.Tests.csproj")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Hokusai.Contracts.AspNetCore.Tests.csproj not found above " + AppContext.BaseDirectory);
    }

    private static void MatchSnapshot(JToken? result, [CallerMemberName] string test = "")
    {
        var name = $"{nameof(ResponseShapeSnapshotTests)}.{test}.snap";
        var file = Path.Combine(TestFolder, "__snapshots__", name);
        var existed = File.Exists(file);
        Snapshot.Match(result, new SnapshotFullName(name, TestFolder));
        // Snapshooter writes a missing snapshot and passes; a missing one here means a new or renamed test,
        // whose shape someone must look at before it becomes the reference.
        Assert.True(existed, $"{file} did not exist and has been written: review it and run again.");
    }

    private static async Task<JObject> CaptureAsync(ApiHost host, HttpMethod method, string url, string? json = null, string? apiKey = ApiHost.AliceKey)
    {
        using var message = host.Message(method, url, apiKey, json);
        message.Headers.Add("X-Request-Id", RequestId);
        using var response = await host.Client.SendAsync(message);
        var headers = new JObject();
        foreach (var name in SnapshotHeaders)
        {
            if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
            {
                headers[name] = string.Join(", ", values);
            }
        }

        var body = await response.Content.ReadAsStringAsync();
        return new JObject
        {
            ["status"] = (int)response.StatusCode,
            ["headers"] = headers,
            // Dates stay strings so the snapshot shows their exact wire format.
            ["body"] = body.Length == 0 ? null : JsonConvert.DeserializeObject<JToken>(body, new JsonSerializerSettings { DateParseHandling = DateParseHandling.None }),
        };
    }

    private static DeploymentJob Completed(DeploymentJob job) => job with
    {
        Status = DeploymentStatus.Completed,
        Step = DeploymentStep.Done,
        Progress = 100,
        UpdatedAt = job.CreatedAt.AddSeconds(42),
        CompletedAt = job.CreatedAt.AddSeconds(42),
        TokenDetails = new TokenDetails
        {
            TokenAddress = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            TokenName = job.Request.TokenName,
            TokenSymbol = job.Request.TokenSymbol,
            TransactionHash = "0x" + new string('a', 64),
            RegistryTransactionHash = "0x" + new string('b', 64),
            MintTransactionHash = "0x" + new string('c', 64),
            BlockNumber = 12,
            GasUsed = "1234567",
            GasPrice = "1000000000",
            DeploymentTime = job.CreatedAt.AddSeconds(40),
            Network = "localhost",
            ChainId = 31337,
        },
    };

    [Fact]
    public async Task Create_Accepted_Shape()
    {
        await using var host = await ApiHost.StartAsync();

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Post, "/api/deployments", ApiHost.Body()));
    }

    [Fact]
    public async Task Status_Processing_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request(), j => j with
        {
            Status = DeploymentStatus.Processing,
            Step = DeploymentStep.RegisteringModel,
            Progress = 50,
            StepDetail = "waiting for the registry transaction",
            UpdatedAt = j.CreatedAt.AddSeconds(10),
        });

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Get, $"/api/deployments/{job.Id}/status"));
    }

    [Fact]
    public async Task Status_Completed_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request(), Completed);

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Get, $"/api/deployments/{job.Id}/status"));
    }

    [Fact]
    public async Task Status_Failed_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request(), j => j with
        {
            Status = DeploymentStatus.Failed,
            Step = DeploymentStep.DeployingToken,
            Progress = 20,
            UpdatedAt = j.CreatedAt.AddSeconds(5),
            Error = new DeploymentError
            {
                Code = ErrorCodes.InsufficientFunds,
                Message = "The deployer cannot pay for gas.",
                Details = new Dictionary<string, string> { ["balanceWei"] = "0" },
                Suggestions = ["Fund the deployer account."],
                Timestamp = j.CreatedAt.AddSeconds(5),
                Retryable = true,
            },
        });

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Get, $"/api/deployments/{job.Id}/status"));
    }

    [Fact]
    public async Task Webhook_CompletedPayload_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request(), Completed);
        var formatter = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Webhooks.IWebhookPayloadFormatter>(host.App.Services);

        var body = formatter.Format(new Guid("7b0c2f8e-0000-4000-8000-000000000001"), Webhooks.WebhookEventTypes.Completed, job.UpdatedAt, job);

        MatchSnapshot(JsonConvert.DeserializeObject<JToken>(body, new JsonSerializerSettings { DateParseHandling = DateParseHandling.None }));
    }

    [Fact]
    public async Task List_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.Add("alice", ApiHost.Request("model-a"), Completed);
        host.Service.Add("alice", ApiHost.Request("model-b"), j => j with { CreatedAt = j.CreatedAt.AddMinutes(1), UpdatedAt = j.CreatedAt.AddMinutes(1) });

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Get, "/api/deployments?limit=1"));
    }

    [Fact]
    public async Task Cancel_Cancelled_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request());

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Post, $"/api/deployments/{job.Id}/cancel"));
    }

    [Fact]
    public async Task Error_Validation_Shape()
    {
        await using var host = await ApiHost.StartAsync();

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Post, "/api/deployments", """{"modelId":"bad id","userAddress":"0x12"}"""));
    }

    [Fact]
    public async Task Error_Unauthenticated_Shape()
    {
        await using var host = await ApiHost.StartAsync();

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Get, "/api/deployments", apiKey: null));
    }

    [Fact]
    public async Task Error_QuotaExceeded_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.OnSubmit = _ => new SubmitResult(SubmitOutcome.QuotaExceeded, Quota: new QuotaDecision(false, 20, 0, TimeSpan.FromHours(3), "day"));

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Post, "/api/deployments", ApiHost.Body()));
    }

    [Fact]
    public async Task Error_UnknownRoute_Shape()
    {
        await using var host = await ApiHost.StartAsync();

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Get, "/api/unknown", apiKey: null));
    }

    [Fact]
    public async Task Error_Internal_Shape()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.Throw = new InvalidOperationException("boom");

        MatchSnapshot(await CaptureAsync(host, HttpMethod.Post, "/api/deployments", ApiHost.Body()));
    }
}
