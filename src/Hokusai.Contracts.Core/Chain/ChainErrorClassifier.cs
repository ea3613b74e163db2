using System.Net;
using System.Net.Sockets;
using Nethereum.ABI.FunctionEncoding;
using Nethereum.Contracts;
using Nethereum.JsonRpc.Client;
using Newtonsoft.Json.Linq;

namespace Hokusai.Contracts.Chain;

/// <summary>Maps Nethereum, HTTP and JSON-RPC failures onto <see cref="ChainErrorKind"/>.</summary>
internal static class ChainErrorClassifier
{
    // JSON-RPC "limit exceeded" (EIP-1474) and the HTTP-like codes some providers put in the error.
    private static readonly int[] TransientRpcCodes = [-32005, -32603, 429, 502, 503, 504];

    private static readonly string[] TransientFragments =
    [
        "rate limit", "too many requests", "timeout", "timed out", "header not found", "busy",
        "try again", "temporarily unavailable", "service unavailable", "bad gateway", "connection",
    ];

    internal static ChainException Classify(Exception exception, string? operation = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is ChainException chain)
        {
            return chain;
        }

        var prefix = operation is null ? "" : operation + ": ";
        switch (exception)
        {
            case SmartContractCustomErrorRevertException custom:
                return Reverted(prefix, RevertDecoder.Decode(custom.ExceptionEncodedData), exception);
            case SmartContractRevertException revert:
                var text = string.IsNullOrEmpty(revert.RevertMessage) ? "execution reverted" : revert.RevertMessage;
                return Reverted(prefix, new DecodedRevert(text, text), exception);
            case RpcResponseException rpc:
                return ClassifyRpcError(prefix, rpc);
            case RpcClientTimeoutException or TimeoutException or TaskCanceledException:
                return new ChainException(ChainErrorKind.Transient, $"{prefix}the RPC call timed out.", innerException: exception);
            case RpcClientUnknownException unknown when unknown.InnerException is not null:
                var inner = Classify(unknown.InnerException, operation);
                return new ChainException(inner.Kind, inner.Message, inner.RevertReason, exception);
            case RpcClientUnknownException:
                return new ChainException(ChainErrorKind.Transient, $"{prefix}the RPC endpoint failed: {exception.Message}", innerException: exception);
            case HttpRequestException http:
                return ClassifyHttp(prefix, http);
            case SocketException or IOException:
                return new ChainException(ChainErrorKind.Transient, $"{prefix}network error: {exception.Message}", innerException: exception);
            default:
                return new ChainException(ChainErrorKind.Permanent, $"{prefix}{exception.Message}", innerException: exception);
        }
    }

    /// <summary>True when the failure is the endpoint's (down, slow, rate limited), so another URL may answer.</summary>
    internal static bool IsEndpointFailure(Exception exception) => Classify(exception).Kind == ChainErrorKind.Transient;

    /// <summary>True when the node reports it already has this very transaction.</summary>
    internal static bool IsAlreadyKnown(Exception exception) =>
        exception is RpcResponseException rpc && rpc.RpcError?.Message is { } message &&
        (Contains(message, "already known") || Contains(message, "known transaction") ||
         Contains(message, "already imported") || Contains(message, "already in the pool") ||
         Contains(message, "transaction already exists"));

    internal static string? RevertData(RpcResponseException exception)
    {
        var data = exception.RpcError?.Data;
        return data switch
        {
            null => null,
            string text => text,
            JValue { Type: JTokenType.String } value => value.Value<string>(),
            JObject obj when obj["data"] is JValue { Type: JTokenType.String } nested => nested.Value<string>(),
            _ => null,
        };
    }

    private static ChainException ClassifyRpcError(string prefix, RpcResponseException rpc)
    {
        var code = rpc.RpcError?.Code ?? 0;
        var message = rpc.RpcError?.Message ?? rpc.Message;
        if (Contains(message, "insufficient funds"))
        {
            return new ChainException(ChainErrorKind.InsufficientFunds, $"{prefix}the deployer cannot pay for the transaction: {message}", innerException: rpc);
        }

        if (Contains(message, "nonce too low") || Contains(message, "replacement transaction underpriced") ||
            Contains(message, "nonce has already been used") || Contains(message, "invalid nonce"))
        {
            return new ChainException(ChainErrorKind.NonceConflict, $"{prefix}nonce conflict: {message}", innerException: rpc);
        }

        if (Contains(message, "revert") || code == 3)
        {
            var decoded = RevertDecoder.Decode(RevertData(rpc)) ?? ReasonFromMessage(message);
            return Reverted(prefix, decoded, rpc);
        }

        if (TransientRpcCodes.Contains(code) || TransientFragments.Any(f => Contains(message, f)))
        {
            return new ChainException(ChainErrorKind.Transient, $"{prefix}the node failed the call ({code}): {message}", innerException: rpc);
        }

        return new ChainException(ChainErrorKind.Permanent, $"{prefix}the node rejected the call ({code}): {message}", innerException: rpc);
    }

    private static ChainException ClassifyHttp(string prefix, HttpRequestException http)
    {
        var status = http.StatusCode;
        var transient = status is null or HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;
        return transient
            ? new ChainException(ChainErrorKind.Transient, $"{prefix}the RPC endpoint is unavailable: {http.Message}", innerException: http)
            : new ChainException(ChainErrorKind.Permanent, $"{prefix}the RPC endpoint refused the call ({(int)status!}): {http.Message}", innerException: http);
    }

    private static DecodedRevert ReasonFromMessage(string message)
    {
        const string marker = "execution reverted:";
        var index = message.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        var reason = index >= 0 ? message[(index + marker.Length)..].Trim() : message;
        return new DecodedRevert(reason.Length == 0 ? "execution reverted" : reason, message);
    }

    private static ChainException Reverted(string prefix, DecodedRevert? revert, Exception inner)
    {
        var decoded = revert ?? new DecodedRevert("execution reverted", "execution reverted");
        return new ChainException(ChainErrorKind.Reverted, $"{prefix}reverted: {decoded.Description}", decoded.Reason, inner);
    }

    private static bool Contains(string text, string fragment) => text.Contains(fragment, StringComparison.OrdinalIgnoreCase);
}
