namespace Hokusai.Contracts.AspNetCore.Http;

/// <summary>Maps domain jobs to the wire shapes.</summary>
internal static class DeploymentMapping
{
    public static DeploymentStatusData ToStatusData(DeploymentJob job, int estimatedCompletionSeconds) => new()
    {
        RequestId = job.Id,
        Status = job.Status.ToWireValue(),
        Progress = Math.Clamp(job.Progress, 0, 100),
        CurrentStep = job.Step.ToWireValue(),
        StepDetail = job.StepDetail,
        LastUpdated = job.UpdatedAt.UtcDateTime,
        EstimatedCompletion = job.Status.IsFinal() ? null : job.CreatedAt.AddSeconds(estimatedCompletionSeconds).UtcDateTime,
        PredictedTokenAddress = job.PredictedTokenAddress,
        TokenDetails = ToTokenDetails(job.TokenDetails),
        Error = ToError(job.Error),
    };

    public static DeploymentSummaryData ToSummary(DeploymentJob job) => new()
    {
        RequestId = job.Id,
        ModelId = job.Request.ModelId,
        TokenName = job.Request.TokenName,
        TokenSymbol = job.Request.TokenSymbol,
        Status = job.Status.ToWireValue(),
        Progress = Math.Clamp(job.Progress, 0, 100),
        CurrentStep = job.Step.ToWireValue(),
        CreatedAt = job.CreatedAt.UtcDateTime,
        LastUpdated = job.UpdatedAt.UtcDateTime,
        TokenDetails = ToTokenDetails(job.TokenDetails),
        Error = ToError(job.Error),
    };

    private static TokenDetailsData? ToTokenDetails(TokenDetails? details) => details is null ? null : new()
    {
        TokenAddress = details.TokenAddress,
        TokenName = details.TokenName,
        TokenSymbol = details.TokenSymbol,
        TransactionHash = details.TransactionHash,
        RegistryTransactionHash = details.RegistryTransactionHash,
        MintTransactionHash = details.MintTransactionHash,
        BlockNumber = details.BlockNumber,
        GasUsed = details.GasUsed,
        GasPrice = details.GasPrice,
        DeploymentTime = details.DeploymentTime.UtcDateTime,
        Network = details.Network,
        ChainId = details.ChainId,
    };

    private static ApiError? ToError(DeploymentError? error) => error is null ? null : new()
    {
        Code = error.Code,
        Message = error.Message,
        Details = error.Details ?? ApiError.EmptyDetails,
        Suggestions = error.Suggestions,
        Timestamp = error.Timestamp.UtcDateTime,
        Retryable = error.Retryable,
    };
}
