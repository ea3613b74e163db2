using Hokusai.Contracts.AspNetCore.Authentication;
using Hokusai.Contracts.AspNetCore.Http;
using Hokusai.Contracts.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.AspNetCore;

/// <summary>Maps the deployment API.</summary>
public static class HokusaiEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/api/deployments</c> (create, status, legacy redirect, list, cancel, webhook events) on a route
    /// group that requires the <see cref="HokusaiAuthenticationDefaults.Policy"/> policy. Prefixes come from
    /// the host: map it on a group to move it. Needs <c>AddHokusaiContracts</c> (the job engine) and
    /// <c>AddHokusaiApi</c> (authentication). The group's filter gives every answer its <c>X-Request-Id</c> and
    /// <c>Cache-Control: no-store</c> and turns exceptions into the error envelope (503 for an unavailable
    /// dependency); the host's pipeline needs authentication and authorization only, and may add the opt-in
    /// helpers of <see cref="HokusaiApplicationBuilderExtensions"/> for everything outside the group.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <returns>The route group, for further conventions.</returns>
    /// <exception cref="InvalidOperationException">A required registration is missing.</exception>
    public static IEndpointConventionBuilder MapHokusaiContracts(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var registrations = endpoints.ServiceProvider.GetService<IServiceProviderIsService>();
        if (registrations is null || !registrations.IsService(typeof(IDeploymentService)))
        {
            throw new InvalidOperationException(
                "MapHokusaiContracts needs the deployment service, which is not registered. Call services.AddHokusaiContracts(...) when configuring services.");
        }

        if (!registrations.IsService(typeof(ApiKeyRegistry)))
        {
            throw new InvalidOperationException(
                "MapHokusaiContracts needs the API's authentication, which is not registered. Call services.AddHokusaiContracts(...).AddHokusaiApi(configuration) when configuring services.");
        }

        var group = endpoints.MapGroup("/api/deployments")
            .WithTags("Deployments")
            .RequireAuthorization(HokusaiAuthenticationDefaults.Policy)
            .AddEndpointFilter(ApiErrorEnvelopes.FilterAsync)
            .AddOpenApiOperationTransformer(HokusaiOpenApiDocumentTransformer.AddSecurityAsync);

        group.MapPost("", DeploymentHandlers.CreateAsync)
            .WithName(DeploymentHandlers.CreateName)
            .WithSummary("Request a token deployment for a model")
            .WithDescription("Validates the request, checks quota, idempotency and duplicates, and queues a job. Answers at once with the job id; poll the status link.")
            .Accepts<DeploymentRequestBody>("application/json")
            .Produces<ApiSuccess<DeploymentAcceptedData>>(StatusCodes.Status202Accepted)
            .ProducesErrors(
                StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden,
                StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType,
                StatusCodes.Status422UnprocessableEntity, StatusCodes.Status429TooManyRequests);

        group.MapGet("/{id}/status", DeploymentHandlers.GetStatusAsync)
            .WithName(DeploymentHandlers.StatusName)
            .WithSummary("Get a deployment's status")
            .WithDescription("Status, progress and current step of one of the caller's deployments; token details when completed, the error when failed.")
            .Produces<ApiSuccess<DeploymentStatusData>>()
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound);

        group.MapGet("/{id}", DeploymentHandlers.RedirectToStatus)
            .WithName(DeploymentHandlers.GetName)
            .WithSummary("Legacy: redirects to the status route")
            .Produces(StatusCodes.Status301MovedPermanently)
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized);

        group.MapGet("", DeploymentHandlers.ListAsync)
            .WithName(DeploymentHandlers.ListName)
            .WithSummary("List the caller's deployments")
            .WithDescription("Newest first; filter by status and model id; page (from 1) and limit (1-100, default 20).")
            .Produces<ApiSuccess<DeploymentListData>>()
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized);

        group.MapPost("/{id}/cancel", DeploymentHandlers.CancelAsync)
            .WithName(DeploymentHandlers.CancelName)
            .WithSummary("Cancel a pending deployment")
            .WithDescription("Cancels one of the caller's deployments while it is still pending.")
            .Produces<ApiSuccess<DeploymentStatusData>>()
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        group.MapGet("/{id}/events", WebhookHandlers.ListAsync)
            .WithName(WebhookHandlers.ListName)
            .WithSummary("List a deployment's webhook events")
            .WithDescription("The webhook events of one of the caller's deployments with their delivery state, attempts and last response code.")
            .Produces<ApiSuccess<DeploymentEventsData>>()
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound);

        group.MapPost("/{id}/events/{eventId}/redeliver", WebhookHandlers.RedeliverAsync)
            .WithName(WebhookHandlers.RedeliverName)
            .WithSummary("Deliver a webhook event again")
            .WithDescription("Makes the event pending and due now, with a fresh retry window; the same event id and body are sent again.")
            .Produces<ApiSuccess<WebhookEventData>>(StatusCodes.Status202Accepted)
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        return group;
    }

    /// <summary>Every route may also answer 500 and 503; the listed statuses are route-specific.</summary>
    private static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var status in statusCodes.Append(StatusCodes.Status500InternalServerError).Append(StatusCodes.Status503ServiceUnavailable))
        {
            builder.Produces<ApiFailure>(status, "application/json");
        }

        return builder;
    }
}
