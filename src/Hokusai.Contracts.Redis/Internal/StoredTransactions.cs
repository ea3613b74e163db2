namespace Hokusai.Contracts.Redis;

/// <summary>
/// Keeps signed transactions' raw bytes out of a job's <c>data</c>: they are the bulk of a job (kilobytes each)
/// and only the engine needs them, to re-broadcast after a restart. They go into fields of the job's hash
/// named <c>raw:&lt;transaction hash&gt;</c>, expire with the job, and are put back by the engine's read. Keyed by
/// hash, a field left behind by a replaced transaction is simply never read again.
/// </summary>
internal static class StoredTransactions
{
    public const string FieldPrefix = "raw:";

    /// <summary>The job with every raw transaction emptied, and the (field, raw) pairs that were taken out.</summary>
    public static DeploymentJob Split(DeploymentJob job, out List<(string Field, string Raw)> raw)
    {
        raw = [];
        var transactions = job.Transactions;
        if (transactions.TokenDeployment is null && transactions.Registration is null && transactions.Mint is null)
        {
            return job;
        }

        var taken = raw;
        SentTransaction? Take(SentTransaction? sent)
        {
            if (sent is null || string.IsNullOrEmpty(sent.RawTransaction))
            {
                return sent;
            }

            taken.Add((FieldPrefix + sent.Hash, sent.RawTransaction));
            return sent with { RawTransaction = string.Empty };
        }

        return job with
        {
            Transactions = transactions with
            {
                TokenDeployment = Take(transactions.TokenDeployment),
                Registration = Take(transactions.Registration),
                Mint = Take(transactions.Mint),
            },
        };
    }

    /// <summary>Puts the raw bytes stored beside the job back into its transactions.</summary>
    public static DeploymentJob Merge(DeploymentJob job, IReadOnlyDictionary<string, string>? raw)
    {
        if (raw is null || raw.Count == 0)
        {
            return job;
        }

        SentTransaction? Fill(SentTransaction? sent) =>
            sent is not null && string.IsNullOrEmpty(sent.RawTransaction) && raw.TryGetValue(FieldPrefix + sent.Hash, out var bytes)
                ? sent with { RawTransaction = bytes }
                : sent;

        var transactions = job.Transactions;
        return job with
        {
            Transactions = transactions with
            {
                TokenDeployment = Fill(transactions.TokenDeployment),
                Registration = Fill(transactions.Registration),
                Mint = Fill(transactions.Mint),
            },
        };
    }
}
