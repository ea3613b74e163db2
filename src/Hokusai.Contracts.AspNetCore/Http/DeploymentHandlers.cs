using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using Hokusai.Contracts.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>The route handlers of <c>/api/deployments</c>.</summary>
internal static class DeploymentHandlers
{
    public const string CreateName = "CreateDeployment";
    public const string StatusName = "GetDeploymentStatus";
    public const string GetName = "GetDeployment";
    public const string ListName = "ListDeployments";
    public const string CancelName = "CancelDeployment";
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const int MaxIdempotencyKeyLength = 255;
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    public static async Task<Results<JsonHttpResult<ApiSuccess<DeploymentAcceptedData>>, JsonHttpResult<ApiFailure>>> CreateAsync(
        HttpContext context,
        IDeploymentService service,
        IOptions<HokusaiContractsOptions> options,
        LinkGenerator links,
        IHostEnvironment environment,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        CancellationToken cancellationToken)
    {
        idempotencyKey ??= string.Empty;
        if (idempotencyKey.Length > 0 && !IsValidIdempotencyKey(idempotencyKey))
        {
            return ApiResults.Validation(context, IdempotencyKeyHeader,
                $"Idempotency-Key must be 1-{MaxIdempotencyKeyLength} visible ASCII characters.");
        }

        var (document, bodyError) = await JsonBodyReader.ReadAsync(context, cancellationToken);
        if (bodyError is not null)
        {
            return bodyError;
        }

        DeploymentRequest? request;
        IReadOnlyList<FieldError> errors;
        using (document)
        {
            request = DeploymentRequestValidator.Validate(document!.RootElement, options.Value.Jobs.DefaultPerformanceMetric, out errors, options.Value.Chain);
            var callbackErrors = new List<FieldError>();
            var callbackUrl = CallbackUrlValidator.Read(
                document.RootElement,
                allowHttpToLoopback: environment.IsDevelopment(),
                callerHasSecret: () => options.Value.Webhooks.HasSecret(CallerIdentity.GetOwner(context.User)),
                callbackErrors);
            if (callbackErrors.Count > 0)
            {
                errors = [.. errors, .. callbackErrors];
                request = null;
            }
            else if (request is not null && callbackUrl is not null)
            {
                request = request with { CallbackUrl = callbackUrl };
            }
        }

        if (request is null)
        {
            return ApiResults.Validation(context, errors);
        }

        var boundAddress = context.User.FindFirstValue(HokusaiClaimTypes.Address);
        if (boundAddress is not null && !EthereumAddress.AreSame(boundAddress, request.UserAddress))
        {
            return ApiResults.Error(context, StatusCodes.Status403Forbidden, ErrorCodes.Unauthorized,
                "userAddress does not match the address bound to the caller's token.");
        }

        var result = await service.SubmitAsync(
            new DeploymentSubmission
            {
                Owner = CallerIdentity.GetOwner(context.User),
                Request = request,
                RequestHash = RequestHasher.Hash(request),
                IdempotencyKey = idempotencyKey.Length > 0 ? idempotencyKey : null,
                TraceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null,
            },
            cancellationToken);

        ApiResults.AddRateLimitHeaders(context, result.Quota);
        switch (result.Outcome)
        {
            case SubmitOutcome.Accepted or SubmitOutcome.Replayed when result.Job is { } job:
                var (statusUrl, cancelUrl) = JobLinks(context, links, job.Id);
                context.Response.Headers.Location = statusUrl;
                var replayed = result.Outcome == SubmitOutcome.Replayed;
                if (replayed)
                {
                    context.Response.Headers["Idempotent-Replayed"] = "true";
                }

                return ApiResults.Success(
                    context,
                    new DeploymentAcceptedData(
                        job.Id,
                        job.Status.ToWireValue(),
                        EstimateSeconds(service),
                        replayed
                            ? "Deployment request already accepted with this Idempotency-Key; returning the existing job."
                            : "Deployment request accepted; poll the status link for progress.",
                        new DeploymentLinks(statusUrl, cancelUrl),
                        job.PredictedTokenAddress),
                    StatusCodes.Status202Accepted);

            case SubmitOutcome.IdempotencyKeyReused:
                return ApiResults.Error(context, StatusCodes.Status422UnprocessableEntity, ErrorCodes.IdempotencyKeyReused,
                    "This Idempotency-Key was already used with a different request body.");

            case SubmitOutcome.DeploymentInProgress:
                return ApiResults.Error(context, StatusCodes.Status409Conflict, ErrorCodes.DeploymentInProgress,
                    $"A deployment for model '{request.ModelId}' is already in progress.",
                    // Only the model id: the running job may be another caller's, whose status is not ours to show.
                    new { modelId = request.ModelId },
                    retryable: true);

            case SubmitOutcome.TokenAlreadyExists:
                return ApiResults.Error(context, StatusCodes.Status409Conflict, ErrorCodes.TokenAlreadyExists,
                    $"Model '{request.ModelId}' already has a token.",
                    new { modelId = request.ModelId, tokenAddress = result.ExistingTokenAddress ?? result.Job?.TokenDetails?.TokenAddress });

            case SubmitOutcome.QuotaExceeded:
                var retryAfter = ApiResults.CeilingSeconds(result.Quota?.ResetAfter ?? TimeSpan.FromMinutes(1));
                context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                return ApiResults.Error(context, StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimitExceeded,
                    "Deployment quota exceeded.",
                    result.Quota is { } quota ? new { limit = quota.Limit, window = quota.Window, retryAfter } : null,
                    retryable: true);

            default:
                throw new InvalidOperationException($"The deployment service returned outcome {result.Outcome} without a job.");
        }
    }

    public static async Task<Results<JsonHttpResult<ApiSuccess<DeploymentStatusData>>, JsonHttpResult<ApiFailure>>> GetStatusAsync(
        string id,
        HttpContext context,
        IDeploymentService service,
        CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var jobId))
        {
            return InvalidId(context);
        }

        var job = await service.GetAsync(CallerIdentity.GetOwner(context.User), jobId, cancellationToken);
        if (job is null)
        {
            return ApiResults.NotFound(context, jobId);
        }

        return ApiResults.Success(context, DeploymentMapping.ToStatusData(job, EstimateSeconds(service)));
    }

    public static Results<RedirectHttpResult, JsonHttpResult<ApiFailure>> RedirectToStatus(string id, HttpContext context, LinkGenerator links)
    {
        if (!TryParseId(id, out var jobId))
        {
            return InvalidId(context);
        }

        RequestIds.Get(context);
        return TypedResults.Redirect(links.GetPathByName(context, StatusName, new { id = jobId })!, permanent: true);
    }

    public static async Task<Results<JsonHttpResult<ApiSuccess<DeploymentListData>>, JsonHttpResult<ApiFailure>>> ListAsync(
        HttpContext context,
        IDeploymentService service,
        [FromQuery] string? status,
        [FromQuery] string? modelId,
        [FromQuery] string? page,
        [FromQuery] string? limit,
        CancellationToken cancellationToken)
    {
        var errors = new List<FieldError>();
        DeploymentStatus? statusFilter = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (DeploymentStatusExtensions.TryParseWireValue(status, out var parsed))
            {
                statusFilter = parsed;
            }
            else
            {
                errors.Add(new FieldError("status", "status must be one of pending, processing, completed, failed, cancelled."));
            }
        }

        if (!string.IsNullOrEmpty(modelId) && !DeploymentRequestValidator.IsValidModelId(modelId))
        {
            errors.Add(new FieldError("modelId", "modelId must be 1-64 characters of letters, digits, '_' or '-'."));
        }

        var pageNumber = ParsePositive(page, 1, int.MaxValue, "page", errors);
        var pageSize = ParsePositive(limit, DefaultLimit, MaxLimit, "limit", errors);
        if (errors.Count > 0)
        {
            return ApiResults.Validation(context, errors);
        }

        var result = await service.ListAsync(
            CallerIdentity.GetOwner(context.User),
            new DeploymentQuery(statusFilter, string.IsNullOrEmpty(modelId) ? null : modelId, pageNumber, pageSize),
            cancellationToken);
        var deployments = result.Items.Select(DeploymentMapping.ToSummary).ToList();
        var pagination = new PaginationData(
            result.Total,
            pageNumber,
            pageSize,
            HasNext: (long)pageNumber * pageSize < result.Total,
            HasPrevious: pageNumber > 1);
        return ApiResults.Success(context, new DeploymentListData(deployments, pagination));
    }

    public static async Task<Results<JsonHttpResult<ApiSuccess<DeploymentStatusData>>, JsonHttpResult<ApiFailure>>> CancelAsync(
        string id,
        HttpContext context,
        IDeploymentService service,
        IOptions<HokusaiContractsOptions> options,
        CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var jobId))
        {
            return InvalidId(context);
        }

        var result = await service.CancelAsync(CallerIdentity.GetOwner(context.User), jobId, cancellationToken);
        return result switch
        {
            { Outcome: CancelOutcome.Cancelled, Job: { } job } =>
                (Results<JsonHttpResult<ApiSuccess<DeploymentStatusData>>, JsonHttpResult<ApiFailure>>)ApiResults.Success(context, DeploymentMapping.ToStatusData(job, options.Value.Jobs.EstimatedCompletionSeconds)),
            { Outcome: CancelOutcome.NotCancellable } =>
                ApiResults.Error(context, StatusCodes.Status409Conflict, ErrorCodes.DeploymentNotCancellable,
                    "The deployment is no longer pending and cannot be cancelled.",
                    new { requestId = jobId, status = result.Job?.Status.ToWireValue() }),
            _ => ApiResults.NotFound(context, jobId),
        };
    }

    /// <summary>
    /// The status and cancel URLs of a new job, absolute on the request's scheme and host (behind a proxy, as the
    /// forwarded headers set them) so a client follows them as given. The create route is the group's root and the others sit right under
    /// it, so when the matched route has no parameters and URLs are not rewritten (lower case, trailing slash) the
    /// paths are the request's base and route text plus the id: what the link generator answers, without binding
    /// route values twice on every accepted request.
    /// </summary>
    internal static (string Status, string Cancel) JobLinks(HttpContext context, LinkGenerator links, Guid id)
    {
        if (context.GetEndpoint() is RouteEndpoint { RoutePattern: { Parameters.Count: 0, RawText: { } raw } }
            && context.RequestServices.GetService<IOptions<RouteOptions>>()?.Value is { LowercaseUrls: false, AppendTrailingSlash: false })
        {
            var request = context.Request;
            var root = string.Concat(request.Scheme, "://", request.Host.Value, request.PathBase.Value, raw.StartsWith('/') ? raw.TrimEnd('/') : "/" + raw.TrimEnd('/'));
            var idText = id.ToString("D");
            return (string.Concat(root, "/", idText, "/status"), string.Concat(root, "/", idText, "/cancel"));
        }

        return (links.GetUriByName(context, StatusName, new { id })!, links.GetUriByName(context, CancelName, new { id })!);
    }

    /// <summary>The wire's <c>estimatedCompletionTime</c>: the service's estimate in whole seconds, rounded up, at least 1.</summary>
    private static int EstimateSeconds(IDeploymentService service) =>
        (int)Math.Clamp(Math.Ceiling(service.EstimatedDuration.TotalSeconds), 1, int.MaxValue);

    private static bool TryParseId(string id, out Guid jobId) =>
        Guid.TryParseExact(id, "D", out jobId);

    private static JsonHttpResult<ApiFailure> InvalidId(HttpContext context) =>
        ApiResults.Validation(context, "id", "id must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).");

    private static int ParsePositive(string? value, int defaultValue, int max, string field, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            return defaultValue;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed >= 1 && parsed <= max)
        {
            return parsed;
        }

        errors.Add(new FieldError(field, max == int.MaxValue
            ? $"{field} must be a positive integer."
            : $"{field} must be an integer from 1 to {max}."));
        return defaultValue;
    }

    private static bool IsValidIdempotencyKey(string key)
    {
        if (key.Length > MaxIdempotencyKeyLength)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
