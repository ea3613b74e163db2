using Microsoft.Extensions.Logging;

namespace Hokusai.Contracts.Chain;

internal static partial class ChainLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "RPC endpoint {Endpoint} failed during {Operation} ({ErrorType}: {Error}); trying the next one")]
    internal static partial void EndpointFailed(ILogger logger, string endpoint, string operation, string errorType, string error);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Failed over from RPC endpoint {From} to {To}")]
    internal static partial void FailedOver(ILogger logger, string from, string to);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Network fee {RequiredGwei} gwei exceeds the cap of {CapGwei} gwei; waiting before sending")]
    internal static partial void WaitingForFee(ILogger logger, string requiredGwei, string capGwei);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Prepared {Kind} transaction {Hash} with nonce {Nonce}, gas limit {GasLimit}")]
    internal static partial void Prepared(ILogger logger, string kind, string hash, ulong nonce, System.Numerics.BigInteger gasLimit);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Debug, Message = "Broadcast transaction {Hash}")]
    internal static partial void Broadcast(ILogger logger, string hash);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Transaction {Hash} was already known to the node")]
    internal static partial void AlreadyKnown(ILogger logger, string hash);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Nonce of {Address} resynchronised to {Nonce}")]
    internal static partial void NonceResynced(ILogger logger, string address, System.Numerics.BigInteger? nonce);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Transaction {Hash} reverted: {Reason}")]
    internal static partial void TransactionReverted(ILogger logger, string hash, string reason);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Debug, Message = "Transaction {Hash} confirmed in block {Block}")]
    internal static partial void Confirmed(ILogger logger, string hash, ulong block);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Transaction {Hash} left block {Block} during confirmation (reorganisation); waiting again")]
    internal static partial void Reorganised(ILogger logger, string hash, ulong block);
}
