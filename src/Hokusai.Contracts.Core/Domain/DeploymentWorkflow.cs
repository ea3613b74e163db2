namespace Hokusai.Contracts;

/// <summary>One row of the workflow table: what a job shows while on a step, and where it goes next.</summary>
/// <param name="Mode">The job's mode.</param>
/// <param name="Step">The step.</param>
/// <param name="Progress">Progress (0–100) reported while on the step.</param>
/// <param name="Detail">Step detail reported when the step starts.</param>
/// <param name="Next">The step after this one.</param>
/// <param name="NextWithoutMint">The step after this one when the request has no initial supply.</param>
internal sealed record WorkflowStep(DeploymentMode Mode, DeploymentStep Step, int Progress, string Detail, DeploymentStep Next, DeploymentStep NextWithoutMint);

/// <summary>
/// The job workflow as one table (the README's table is this one): every transition the engine
/// makes is a row here. The wire values of <see cref="DeploymentStep"/> are the same in both modes;
/// factory mode skips <c>registering_model</c> and <c>minting_tokens</c> because its one transaction does both.
/// </summary>
internal static class DeploymentWorkflow
{
    /// <summary>Every step of both modes, in order.</summary>
    public static IReadOnlyList<WorkflowStep> Steps { get; } =
    [
        new(DeploymentMode.Legacy, DeploymentStep.DeployingToken, 10, "Deploying token contract", DeploymentStep.RegisteringModel, DeploymentStep.RegisteringModel),
        new(DeploymentMode.Legacy, DeploymentStep.RegisteringModel, 50, "Registering model in the ModelRegistry", DeploymentStep.MintingTokens, DeploymentStep.Confirming),
        new(DeploymentMode.Legacy, DeploymentStep.MintingTokens, 70, "Minting initial supply", DeploymentStep.Confirming, DeploymentStep.Confirming),
        new(DeploymentMode.Legacy, DeploymentStep.Confirming, 90, "Confirming deployment", DeploymentStep.Done, DeploymentStep.Done),
        new(DeploymentMode.Factory, DeploymentStep.DeployingToken, 10, "Deploying, registering and minting the token in one transaction", DeploymentStep.Confirming, DeploymentStep.Confirming),
        new(DeploymentMode.Factory, DeploymentStep.Confirming, 90, "Confirming deployment", DeploymentStep.Done, DeploymentStep.Done),
    ];

    /// <summary>Progress reported once a job is done.</summary>
    public const int DoneProgress = 100;

    /// <summary>The row of <paramref name="step"/> in <paramref name="mode"/>.</summary>
    /// <exception cref="InvalidOperationException">The step does not exist in the mode.</exception>
    public static WorkflowStep Get(DeploymentMode mode, DeploymentStep step) =>
        Steps.FirstOrDefault(s => s.Mode == mode && s.Step == step)
        ?? throw new InvalidOperationException($"Step {step.ToWireValue()} does not exist in {mode} mode.");

    /// <summary>The first step of a job in <paramref name="mode"/>.</summary>
    public static WorkflowStep First(DeploymentMode mode) => Steps.First(s => s.Mode == mode);

    /// <summary>The step after <paramref name="step"/> for <paramref name="request"/>.</summary>
    public static DeploymentStep NextAfter(DeploymentMode mode, DeploymentStep step, DeploymentRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var row = Get(mode, step);
        return request.InitialSupply > 0 ? row.Next : row.NextWithoutMint;
    }

    /// <summary>
    /// The job moved to the step after its current one, with that step's progress and detail (or
    /// completed with <see cref="DoneProgress"/> when the next step is <see cref="DeploymentStep.Done"/>).
    /// </summary>
    public static DeploymentJob Advance(DeploymentJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var mode = job.Mode ?? DeploymentMode.Legacy;
        var next = NextAfter(mode, job.Step, job.Request);
        if (next == DeploymentStep.Done)
        {
            return job with { Status = DeploymentStatus.Completed, Step = DeploymentStep.Done, Progress = DoneProgress, StepDetail = "Deployment completed" };
        }

        var row = Get(mode, next);
        return job with { Step = next, Progress = row.Progress, StepDetail = row.Detail };
    }

    /// <summary>A pending job taken up by a worker in <paramref name="mode"/>.</summary>
    public static DeploymentJob Start(DeploymentJob job, DeploymentMode mode)
    {
        ArgumentNullException.ThrowIfNull(job);
        var first = First(mode);
        return job with { Mode = mode, Status = DeploymentStatus.Processing, Step = first.Step, Progress = first.Progress, StepDetail = first.Detail };
    }
}
