using System.Net;
using System.Numerics;
using Hokusai.Contracts.AspNetCore.Tests.Infrastructure;
using Hokusai.Contracts.Chain;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class DeploymentEndpointsTests
{
    [Fact]
    public async Task Create_ValidRequest_Returns202WithLocationLinksAndRateLimitHeaders()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync(ApiHost.Body());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = Assert.Single(host.Service.Jobs);
        Assert.Equal($"http://localhost/api/deployments/{job.Id}/status", response.Headers.Location?.OriginalString);
        var json = await response.JsonAsync();
        Assert.True(json["success"]!.GetValue<bool>());
        var data = json["data"]!;
        Assert.Equal(job.Id.ToString(), data["requestId"]!.GetValue<string>());
        Assert.Equal("pending", data["status"]!.GetValue<string>());
        Assert.Equal(60, data["estimatedCompletionTime"]!.GetValue<int>());
        Assert.Equal($"http://localhost/api/deployments/{job.Id}/status", data["links"]!["status"]!.GetValue<string>());
        Assert.Equal($"http://localhost/api/deployments/{job.Id}/cancel", data["links"]!["cancel"]!.GetValue<string>());
        Assert.Equal(response.Header("X-Request-Id"), json["meta"]!["requestId"]!.GetValue<string>());
        Assert.Equal("1.0", json["meta"]!["version"]!.GetValue<string>());
        Assert.Equal("5", response.Header("RateLimit-Limit"));
        Assert.Equal("4", response.Header("RateLimit-Remaining"));
        Assert.Equal("2550", response.Header("RateLimit-Reset"));
    }

    [Fact]
    public async Task Create_OptionalFieldsOmitted_SubmitsDocumentedDefaultsAndChecksumAddress()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync(ApiHost.Body("sentiment_v2-beta", ApiHost.Address.ToLowerInvariant()));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var submission = Assert.Single(host.Service.Submissions);
        Assert.Equal("alice", submission.Owner);
        Assert.Null(submission.IdempotencyKey);
        Assert.Equal(ApiHost.Address, submission.Request.UserAddress);
        Assert.Equal("Hokusai sentiment_v2-beta", submission.Request.TokenName);
        Assert.Equal("HKSENTIMEN", submission.Request.TokenSymbol);
        Assert.Equal(BigInteger.Zero, submission.Request.InitialSupply);
        Assert.Equal("accuracy", submission.Request.PerformanceMetric);
        Assert.Null(submission.Request.Metadata);
        Assert.Matches("^[0-9a-f]{64}$", submission.RequestHash);
    }

    [Fact]
    public async Task Create_AllFieldsGiven_SubmitsThemAsGiven()
    {
        await using var host = await ApiHost.StartAsync();
        const string extra = """
            ,"tokenName":"Sentiment Token","tokenSymbol":"SENT-1","initialSupply":"115792089237316195423570985008687907853269984665640564039457584007913129639935",
            "performanceMetric":"f1/macro","metadata":{"description":"A model","website":"https://hokus.ai","whitepaper":"http://example.com/wp.pdf","tags":{"domain":"nlp"}},
            "token":{"legacy":true},"somethingElse":42
            """;

        using var response = await host.PostDeploymentAsync(ApiHost.Body(extra: extra));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var request = Assert.Single(host.Service.Submissions).Request;
        Assert.Equal("Sentiment Token", request.TokenName);
        Assert.Equal("SENT-1", request.TokenSymbol);
        Assert.Equal(BigInteger.Pow(2, 256) - 1, request.InitialSupply);
        Assert.Equal("f1/macro", request.PerformanceMetric);
        Assert.Equal("A model", request.Metadata!.Description);
        Assert.Equal("https://hokus.ai", request.Metadata.Website);
        Assert.Equal("http://example.com/wp.pdf", request.Metadata.Whitepaper);
        Assert.Equal("nlp", request.Metadata.Tags!["domain"]);
    }

    [Fact]
    public async Task Create_SameIdempotencyKeyAndEquivalentBody_ReturnsSameJob()
    {
        await using var host = await ApiHost.StartAsync();
        using var first = host.Message(HttpMethod.Post, "/api/deployments", json: ApiHost.Body());
        first.Headers.Add("Idempotency-Key", "key-1");
        using var second = host.Message(HttpMethod.Post, "/api/deployments",
            json: $$"""{ "userAddress": "{{ApiHost.Address.ToLowerInvariant()}}", "modelId": "model-1", "initialSupply": "0" }""");
        second.Headers.Add("Idempotency-Key", "key-1");

        using var firstResponse = await host.Client.SendAsync(first);
        using var secondResponse = await host.Client.SendAsync(second);

        Assert.Equal(HttpStatusCode.Accepted, firstResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, secondResponse.StatusCode);
        var firstId = (await firstResponse.JsonAsync())["data"]!["requestId"]!.GetValue<string>();
        var secondId = (await secondResponse.JsonAsync())["data"]!["requestId"]!.GetValue<string>();
        Assert.Equal(firstId, secondId);
        Assert.Equal("true", secondResponse.Header("Idempotent-Replayed"));
        Assert.Single(host.Service.Jobs);
        Assert.Equal(host.Service.Submissions[0].RequestHash, host.Service.Submissions[1].RequestHash);
        Assert.Equal("key-1", host.Service.Submissions[1].IdempotencyKey);
    }

    [Fact]
    public async Task Create_SameIdempotencyKeyDifferentBody_Returns422IdempotencyKeyReused()
    {
        await using var host = await ApiHost.StartAsync();
        using var first = host.Message(HttpMethod.Post, "/api/deployments", json: ApiHost.Body());
        first.Headers.Add("Idempotency-Key", "key-1");
        using var second = host.Message(HttpMethod.Post, "/api/deployments", json: ApiHost.Body(extra: ",\"tokenSymbol\":\"OTHER\""));
        second.Headers.Add("Idempotency-Key", "key-1");

        (await host.Client.SendAsync(first)).Dispose();
        using var response = await host.Client.SendAsync(second);

        var error = await response.ErrorAsync(422, "IDEMPOTENCY_KEY_REUSED");
        Assert.False(error["retryable"]!.GetValue<bool>());
        Assert.NotEqual(host.Service.Submissions[0].RequestHash, host.Service.Submissions[1].RequestHash);
    }

    [Fact]
    public async Task Create_IdempotencyKeyWithControlCharacters_Returns400()
    {
        await using var host = await ApiHost.StartAsync();
        using var message = host.Message(HttpMethod.Post, "/api/deployments", json: ApiHost.Body());
        message.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', 300));

        using var response = await host.Client.SendAsync(message);

        var error = await response.ErrorAsync(400, "VALIDATION_ERROR");
        Assert.Equal("Idempotency-Key", error["details"]!["fields"]![0]!["field"]!.GetValue<string>());
        Assert.Empty(host.Service.Submissions);
    }

    [Theory]
    [InlineData("""{"userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}""", "modelId")]
    [InlineData("""{"modelId":"bad id!","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}""", "modelId")]
    [InlineData("""{"modelId":42,"userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}""", "modelId")]
    [InlineData("""{"modelId":"m"}""", "userAddress")]
    [InlineData("""{"modelId":"m","userAddress":"0x1234"}""", "userAddress")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}""", "userAddress")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","tokenName":"Bad$Name"}""", "tokenName")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","tokenSymbol":"lower"}""", "tokenSymbol")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","tokenSymbol":"TOOLONGSYMB"}""", "tokenSymbol")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","initialSupply":"-1"}""", "initialSupply")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","initialSupply":"1.5"}""", "initialSupply")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","initialSupply":"115792089237316195423570985008687907853269984665640564039457584007913129639936"}""", "initialSupply")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","performanceMetric":"bad\nmetric"}""", "performanceMetric")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","metadata":"text"}""", "metadata")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","metadata":{"website":"ftp://x.y"}}""", "metadata.website")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","metadata":{"whitepaper":"relative/path"}}""", "metadata.whitepaper")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","metadata":{"tags":{"a":1}}}""", "metadata.tags.a")]
    [InlineData("""["not","an","object"]""", "body")]
    [InlineData("""{"modelId":"m\ud800","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}""", "modelId")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","metadata":{"description":"\udc00"}}""", "metadata.description")]
    [InlineData("""{"modelId":"m","userAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","callbackUrl":"https://\ud800.example/"}""", "callbackUrl")]
    [InlineData("""{"modelId":"m","userAddress":"0x0000000000000000000000000000000000000000","initialSupply":"5"}""", "userAddress")]
    [InlineData("""{"modelId":"m","userAddress":"0x0000000000000000000000000000000000000004"}""", "userAddress")]
    public async Task Create_InvalidField_Returns400ValidationErrorNamingField(string body, string field)
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync(body);

        var error = await response.ErrorAsync(400, "VALIDATION_ERROR");
        Assert.Contains(error["details"]!["fields"]!.AsArray(), d => d!["field"]!.GetValue<string>() == field && d["message"]!.GetValue<string>().Length > 0);
        Assert.Empty(host.Service.Submissions);
    }

    [Fact]
    public async Task Create_DescriptionTooLong_Returns400()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync(ApiHost.Body(extra: $$""","metadata":{"description":"{{new string('d', 501)}}"}"""));

        var error = await response.ErrorAsync(400, "VALIDATION_ERROR");
        Assert.Equal("metadata.description", error["details"]!["fields"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_SeveralInvalidFields_ReportsEach()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync("""{"modelId":"","userAddress":"nope","tokenSymbol":"x"}""");

        var error = await response.ErrorAsync(400, "VALIDATION_ERROR");
        var fields = error["details"]!["fields"]!.AsArray().Select(d => d!["field"]!.GetValue<string>()).ToList();
        Assert.Equal(["modelId", "userAddress", "tokenSymbol"], fields);
    }

    [Fact]
    public async Task Create_MalformedJson_Returns400ValidationError()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync("""{"modelId": "m", """);

        var error = await response.ErrorAsync(400, "VALIDATION_ERROR");
        Assert.Equal("body", error["details"]!["fields"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_EmptyBody_Returns400ValidationError()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync("");

        await response.ErrorAsync(400, "VALIDATION_ERROR");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task Create_NonJsonContentType_Returns415(string contentType)
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/deployments", json: ApiHost.Body(), contentType: contentType);

        await response.ErrorAsync(415, "UNSUPPORTED_MEDIA_TYPE");
    }

    [Fact]
    public async Task Create_JsonSuffixContentType_IsAccepted()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Post, "/api/deployments", json: ApiHost.Body(), contentType: "application/vnd.hokusai+json; charset=utf-8");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Create_BodyOver64KiB_Returns413()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.PostDeploymentAsync(ApiHost.Body(extra: $$""","padding":"{{new string('p', 70_000)}}" """));

        await response.ErrorAsync(413, "VALIDATION_ERROR");
        Assert.Empty(host.Service.Submissions);
    }

    [Fact]
    public async Task Create_DeploymentInProgress_Returns409()
    {
        await using var host = await ApiHost.StartAsync();
        var running = host.Service.Add("bob", ApiHost.Request(), j => j with { Status = DeploymentStatus.Processing });
        host.Service.OnSubmit = _ => new SubmitResult(SubmitOutcome.DeploymentInProgress, running);

        using var response = await host.PostDeploymentAsync(ApiHost.Body());

        var error = await response.ErrorAsync(409, "DEPLOYMENT_IN_PROGRESS");
        // The running job is another caller's: neither its id nor its status is shown.
        Assert.Equal(["modelId"], error["details"]!.AsObject().Select(p => p.Key));
        Assert.DoesNotContain(running.Id.ToString(), error.ToJsonString());
        Assert.DoesNotContain("processing", error.ToJsonString());
    }

    [Fact]
    public async Task Create_TokenAlreadyExists_Returns409WithTokenAddress()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.OnSubmit = _ => new SubmitResult(SubmitOutcome.TokenAlreadyExists, ExistingTokenAddress: "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");

        using var response = await host.PostDeploymentAsync(ApiHost.Body());

        var error = await response.ErrorAsync(409, "TOKEN_ALREADY_EXISTS");
        Assert.Equal("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", error["details"]!["tokenAddress"]!.GetValue<string>());
        Assert.Equal("model-1", error["details"]!["modelId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_QuotaExceeded_Returns429WithRetryAfterAndRateLimitHeaders()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.OnSubmit = _ => new SubmitResult(SubmitOutcome.QuotaExceeded,
            Quota: new QuotaDecision(false, 5, 0, TimeSpan.FromSeconds(1234.2), "hour"));

        using var response = await host.PostDeploymentAsync(ApiHost.Body());

        var error = await response.ErrorAsync(429, "RATE_LIMIT_EXCEEDED");
        Assert.True(error["retryable"]!.GetValue<bool>());
        Assert.Equal("1235", response.Header("Retry-After"));
        Assert.Equal("5", response.Header("RateLimit-Limit"));
        Assert.Equal("0", response.Header("RateLimit-Remaining"));
        Assert.Equal("1235", response.Header("RateLimit-Reset"));
        Assert.Equal("hour", error["details"]!["window"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_StoreUnavailable_Returns503RetryableWithRetryAfter()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.Throw = new StoreUnavailableException("redis down at 10.0.0.5:6379");

        using var response = await host.PostDeploymentAsync(ApiHost.Body());

        var error = await response.ErrorAsync(503, "SERVICE_UNAVAILABLE");
        Assert.True(error["retryable"]!.GetValue<bool>());
        Assert.Equal("5", response.Header("Retry-After"));
        Assert.DoesNotContain("10.0.0.5", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Status_TransientChainException_Returns503()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.Throw = new ChainException(ChainErrorKind.Transient, "rpc timeout");

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/deployments/{Guid.NewGuid()}/status");

        await response.ErrorAsync(503, "SERVICE_UNAVAILABLE");
    }

    [Fact]
    public async Task Create_PermanentChainException_Returns500()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.Throw = new ChainException(ChainErrorKind.Permanent, "registry call reverted");

        using var response = await host.PostDeploymentAsync(ApiHost.Body());

        var error = await response.ErrorAsync(500, "INTERNAL_ERROR");
        Assert.False(error["retryable"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Create_UnexpectedException_Returns500WithoutExceptionText()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.Throw = new InvalidOperationException("secret connection string Password=hunter2");

        using var response = await host.PostDeploymentAsync(ApiHost.Body());

        await response.ErrorAsync(500, "INTERNAL_ERROR");
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("hunter2", text);
        Assert.DoesNotContain("InvalidOperationException", text);
        Assert.DoesNotContain(" at ", text);
    }

    [Fact]
    public async Task Status_OwnPendingJob_Returns200WithStatusData()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request());

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/deployments/{job.Id}/status");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = (await response.JsonAsync())["data"]!;
        Assert.Equal(job.Id.ToString(), data["requestId"]!.GetValue<string>());
        Assert.Equal("pending", data["status"]!.GetValue<string>());
        Assert.Equal(0, data["progress"]!.GetValue<int>());
        Assert.Equal("queued", data["currentStep"]!.GetValue<string>());
        Assert.NotNull(data["estimatedCompletion"]);
        Assert.Null(data["tokenDetails"]);
        Assert.Null(data["error"]);
    }

    [Fact]
    public async Task CreateAndStatus_ServiceEstimate_WholeSecondsRoundedUpAndCompletionTime()
    {
        await using var host = await ApiHost.StartAsync();
        host.Service.EstimatedDuration = TimeSpan.FromSeconds(13.2);

        using var created = await host.PostDeploymentAsync(ApiHost.Body());
        var job = Assert.Single(host.Service.Jobs);
        host.Time.Advance(TimeSpan.FromSeconds(3));
        using var status = await host.SendAsync(HttpMethod.Get, $"/api/deployments/{job.Id}/status");

        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal(14, (await created.JsonAsync())["data"]!["estimatedCompletionTime"]!.GetValue<int>());
        Assert.Equal(job.CreatedAt.AddSeconds(14).UtcDateTime, (await status.JsonAsync())["data"]!["estimatedCompletion"]!.GetValue<DateTime>().ToUniversalTime());
    }

    [Fact]
    public async Task Status_OtherOwnersJob_Returns404DeploymentNotFound()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("bob", ApiHost.Request());

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/deployments/{job.Id}/status");

        await response.ErrorAsync(404, "DEPLOYMENT_NOT_FOUND");
    }

    [Fact]
    public async Task Status_UnknownId_Returns404DeploymentNotFound()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/deployments/{Guid.NewGuid()}/status");

        await response.ErrorAsync(404, "DEPLOYMENT_NOT_FOUND");
    }

    [Theory]
    [InlineData("/api/deployments/not-a-uuid/status", "GET")]
    [InlineData("/api/deployments/12345/cancel", "POST")]
    [InlineData("/api/deployments/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "GET")]
    public async Task Routes_NonUuidId_Return400ValidationError(string url, string method)
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(new HttpMethod(method), url);

        var error = await response.ErrorAsync(400, "VALIDATION_ERROR");
        Assert.Equal("id", error["details"]!["fields"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Get_LegacyRoute_Redirects301ToStatus()
    {
        await using var host = await ApiHost.StartAsync();
        var id = Guid.NewGuid();

        using var response = await host.SendAsync(HttpMethod.Get, $"/api/deployments/{id}");

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal($"/api/deployments/{id}/status", response.Headers.Location?.OriginalString);
        Assert.True(response.Headers.Contains("X-Request-Id"));
    }

    [Fact]
    public async Task List_OwnDeployments_ReturnsNewestFirstWithPagination()
    {
        await using var host = await ApiHost.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            host.Service.Add("alice", ApiHost.Request($"model-{i}"), j => j with { CreatedAt = j.CreatedAt.AddMinutes(i) });
        }

        host.Service.Add("bob", ApiHost.Request("bobs-model"));

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments?page=1&limit=2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = (await response.JsonAsync())["data"]!;
        var models = data["deployments"]!.AsArray().Select(d => d!["modelId"]!.GetValue<string>()).ToList();
        Assert.Equal(["model-2", "model-1"], models);
        Assert.Equal(3, data["pagination"]!["total"]!.GetValue<int>());
        Assert.Equal(1, data["pagination"]!["page"]!.GetValue<int>());
        Assert.Equal(2, data["pagination"]!["limit"]!.GetValue<int>());
        Assert.True(data["pagination"]!["hasNext"]!.GetValue<bool>());
        Assert.False(data["pagination"]!["hasPrevious"]!.GetValue<bool>());
    }

    [Fact]
    public async Task List_Filters_ArePassedToTheService()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments?status=Completed&modelId=model-7&page=3&limit=5");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (owner, query) = Assert.Single(host.Service.Queries);
        Assert.Equal("alice", owner);
        Assert.Equal(new DeploymentQuery(DeploymentStatus.Completed, "model-7", 3, 5), query);
        var pagination = (await response.JsonAsync())["data"]!["pagination"]!;
        Assert.True(pagination["hasPrevious"]!.GetValue<bool>());
        Assert.False(pagination["hasNext"]!.GetValue<bool>());
    }

    [Fact]
    public async Task List_NoQuery_UsesDefaults()
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new DeploymentQuery(null, null, 1, 20), Assert.Single(host.Service.Queries).Query);
    }

    [Theory]
    [InlineData("status=bogus", "status")]
    [InlineData("page=0", "page")]
    [InlineData("page=-1", "page")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("modelId=bad%20id", "modelId")]
    public async Task List_InvalidQuery_Returns400ValidationError(string query, string field)
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, "/api/deployments?" + query);

        var error = await response.ErrorAsync(400, "VALIDATION_ERROR");
        Assert.Equal(field, error["details"]!["fields"]![0]!["field"]!.GetValue<string>());
        Assert.Empty(host.Service.Queries);
    }

    [Fact]
    public async Task Cancel_PendingJob_Returns200Cancelled()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request());

        using var response = await host.SendAsync(HttpMethod.Post, $"/api/deployments/{job.Id}/cancel");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = (await response.JsonAsync())["data"]!;
        Assert.Equal("cancelled", data["status"]!.GetValue<string>());
        Assert.Null(data["estimatedCompletion"]);
        Assert.Equal(DeploymentStatus.Cancelled, Assert.Single(host.Service.Jobs).Status);
    }

    [Theory]
    [InlineData(DeploymentStatus.Processing)]
    [InlineData(DeploymentStatus.Completed)]
    [InlineData(DeploymentStatus.Failed)]
    public async Task Cancel_NotPending_Returns409NotCancellable(DeploymentStatus status)
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request(), j => j with { Status = status });

        using var response = await host.SendAsync(HttpMethod.Post, $"/api/deployments/{job.Id}/cancel");

        var error = await response.ErrorAsync(409, "DEPLOYMENT_NOT_CANCELLABLE");
        Assert.Equal(status.ToWireValue(), error["details"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancel_OtherOwnersJob_Returns404AndLeavesItAlone()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("bob", ApiHost.Request());

        using var response = await host.SendAsync(HttpMethod.Post, $"/api/deployments/{job.Id}/cancel");

        await response.ErrorAsync(404, "DEPLOYMENT_NOT_FOUND");
        Assert.Equal(DeploymentStatus.Pending, Assert.Single(host.Service.Jobs).Status);
    }

    [Theory]
    [InlineData("/api/nothing-here")]
    [InlineData("/")]
    [InlineData("/api/deployments/00000000-0000-4000-8000-000000000001/status/extra")]
    public async Task UnknownRoute_Returns404NotFoundEnvelope(string url)
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(HttpMethod.Get, url, apiKey: null);

        await response.ErrorAsync(404, "NOT_FOUND");
    }

    [Theory]
    [InlineData("DELETE", "/api/deployments")]
    [InlineData("PUT", "/api/deployments/00000000-0000-4000-8000-000000000001/status")]
    [InlineData("GET", "/api/deployments/00000000-0000-4000-8000-000000000001/cancel")]
    public async Task WrongMethod_Returns405Envelope(string method, string url)
    {
        await using var host = await ApiHost.StartAsync();

        using var response = await host.SendAsync(new HttpMethod(method), url);

        await response.ErrorAsync(405, "METHOD_NOT_ALLOWED");
        Assert.NotEmpty(response.Content.Headers.Allow);
    }

    [Fact]
    public async Task RequestId_SaneIncomingValue_IsEchoedInHeaderAndMeta()
    {
        await using var host = await ApiHost.StartAsync();
        using var message = host.Message(HttpMethod.Get, "/api/deployments");
        message.Headers.Add("X-Request-Id", "client-req_42.a:b");

        using var response = await host.Client.SendAsync(message);

        Assert.Equal("client-req_42.a:b", response.Header("X-Request-Id"));
        Assert.Equal("client-req_42.a:b", (await response.JsonAsync())["meta"]!["requestId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("has spaces in it")]
    [InlineData("semi;colon")]
    public async Task RequestId_UnsafeIncomingValue_IsReplacedByGeneratedUuid(string incoming)
    {
        await using var host = await ApiHost.StartAsync();
        using var message = host.Message(HttpMethod.Get, "/api/deployments");
        message.Headers.TryAddWithoutValidation("X-Request-Id", incoming);

        using var response = await host.Client.SendAsync(message);

        var id = response.Header("X-Request-Id");
        Assert.True(Guid.TryParse(id, out _));
        Assert.Equal(id, (await response.JsonAsync())["meta"]!["requestId"]!.GetValue<string>());
    }

    [Fact]
    public async Task RequestId_TooLongIncomingValue_IsReplaced()
    {
        await using var host = await ApiHost.StartAsync();
        using var message = host.Message(HttpMethod.Get, "/api/deployments");
        message.Headers.Add("X-Request-Id", new string('a', 129));

        using var response = await host.Client.SendAsync(message);

        Assert.True(Guid.TryParse(response.Header("X-Request-Id"), out _));
    }

    [Fact]
    public async Task RequestId_EveryKindOfResponse_CarriesAGeneratedId()
    {
        await using var host = await ApiHost.StartAsync();
        var job = host.Service.Add("alice", ApiHost.Request());
        var requests = new (HttpMethod Method, string Url, string? Key, string? Body)[]
        {
            (HttpMethod.Post, "/api/deployments", ApiHost.AliceKey, ApiHost.Body()),
            (HttpMethod.Get, $"/api/deployments/{job.Id}/status", ApiHost.AliceKey, null),
            (HttpMethod.Get, $"/api/deployments/{job.Id}", ApiHost.AliceKey, null),
            (HttpMethod.Get, "/api/deployments", null, null),
            (HttpMethod.Get, "/nowhere", null, null),
            (HttpMethod.Delete, "/api/deployments", ApiHost.AliceKey, null),
            (HttpMethod.Post, "/api/deployments", ApiHost.AliceKey, "{"),
        };
        var seen = new HashSet<string>();

        foreach (var (method, url, key, body) in requests)
        {
            using var response = await host.SendAsync(method, url, key, body);
            Assert.True(seen.Add(response.Header("X-Request-Id")), $"{method} {url} repeated or lacked an id");
        }
    }
}
