using System.Net;
using Hokusai.Contracts.Chain;
using Nethereum.ABI;
using Nethereum.JsonRpc.Client;
using Newtonsoft.Json.Linq;

namespace Hokusai.Contracts.Tests.Chain;

public sealed class ChainErrorClassifierTests
{
    private static string Encode(string signature, params ABIValue[] values) =>
        JsonRpc.Selector(signature) + Convert.ToHexStringLower(new ABIEncode().GetABIEncoded(values));

    private static RpcResponseException Rpc(int code, string message, string? data = null) =>
        new(new RpcError(code, message, data));

    [Fact]
    public void Classify_RevertDataAsJsonToken_IsDecodedToo()
    {
        var data = Encode("ModelNotRegistered(string)", new ABIValue("string", "m"));

        var error = ChainErrorClassifier.Classify(new RpcResponseException(new RpcError(3, "execution reverted", new JValue(data))));

        Assert.Equal("ModelNotRegistered", error.RevertReason);
    }

    [Fact]
    public void Classify_RevertWithCustomErrorData_ReturnsRevertedWithErrorName()
    {
        var data = Encode("ModelAlreadyRegistered(string)", new ABIValue("string", "model-1"));

        var error = ChainErrorClassifier.Classify(Rpc(3, "execution reverted", data), "register");

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("ModelAlreadyRegistered", error.RevertReason);
        Assert.Equal("register: reverted: ModelAlreadyRegistered(\"model-1\")", error.Message);
    }

    [Fact]
    public void Classify_RevertWithInheritedOpenZeppelinError_ReturnsItsName()
    {
        var data = Encode("OwnableUnauthorizedAccount(address)", new ABIValue("address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));

        var error = ChainErrorClassifier.Classify(Rpc(3, "execution reverted", data));

        Assert.Equal("OwnableUnauthorizedAccount", error.RevertReason);
    }

    [Fact]
    public void Classify_RevertWithErrorString_ReturnsTheMessage()
    {
        var data = Encode("Error(string)", new ABIValue("string", "not allowed"));

        var error = ChainErrorClassifier.Classify(Rpc(3, "execution reverted: not allowed", data));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("not allowed", error.RevertReason);
    }

    [Fact]
    public void Classify_RevertWithoutData_TakesReasonFromMessage()
    {
        var error = ChainErrorClassifier.Classify(Rpc(-32000, "execution reverted: paused"));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("paused", error.RevertReason);
    }

    [Fact]
    public void Classify_RevertWithUnknownSelector_ReportsTheSelector()
    {
        var error = ChainErrorClassifier.Classify(Rpc(3, "execution reverted", "0xdeadbeef"));

        Assert.Equal(ChainErrorKind.Reverted, error.Kind);
        Assert.Equal("0xdeadbeef", error.RevertReason);
    }

    [Theory]
    [InlineData("nonce too low: next nonce 5, tx nonce 4", ChainErrorKind.NonceConflict)]
    [InlineData("replacement transaction underpriced", ChainErrorKind.NonceConflict)]
    [InlineData("insufficient funds for gas * price + value", ChainErrorKind.InsufficientFunds)]
    [InlineData("Insufficient funds for gas * price + value", ChainErrorKind.InsufficientFunds)]
    [InlineData("header not found", ChainErrorKind.Transient)]
    [InlineData("request timed out", ChainErrorKind.Transient)]
    [InlineData("invalid sender", ChainErrorKind.Permanent)]
    [InlineData("method not found", ChainErrorKind.Permanent)]
    public void Classify_RpcErrorMessage_ReturnsKind(string message, ChainErrorKind expected)
    {
        Assert.Equal(expected, ChainErrorClassifier.Classify(Rpc(-32000, message)).Kind);
    }

    [Theory]
    [InlineData(-32005)]
    [InlineData(429)]
    [InlineData(503)]
    public void Classify_RateLimitOrUnavailableCode_ReturnsTransient(int code)
    {
        Assert.Equal(ChainErrorKind.Transient, ChainErrorClassifier.Classify(Rpc(code, "limit exceeded")).Kind);
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests, ChainErrorKind.Transient)]
    [InlineData(HttpStatusCode.BadGateway, ChainErrorKind.Transient)]
    [InlineData(HttpStatusCode.ServiceUnavailable, ChainErrorKind.Transient)]
    [InlineData(HttpStatusCode.Unauthorized, ChainErrorKind.Permanent)]
    [InlineData(HttpStatusCode.Forbidden, ChainErrorKind.Permanent)]
    public void Classify_HttpStatusWrappedByNethereum_ReturnsKind(HttpStatusCode status, ChainErrorKind expected)
    {
        var http = new HttpRequestException("status", null, status);

        var error = ChainErrorClassifier.Classify(new RpcClientUnknownException("Error occurred when trying to send rpc requests(s)", http));

        Assert.Equal(expected, error.Kind);
    }

    [Fact]
    public void Classify_ConnectionRefused_ReturnsTransient()
    {
        var refused = new HttpRequestException("Connection refused", new System.Net.Sockets.SocketException(111));

        Assert.Equal(ChainErrorKind.Transient, ChainErrorClassifier.Classify(new RpcClientUnknownException("failed", refused)).Kind);
    }

    [Fact]
    public void Classify_Timeouts_ReturnTransient()
    {
        Assert.Equal(ChainErrorKind.Transient, ChainErrorClassifier.Classify(new RpcClientTimeoutException("slow")).Kind);
        Assert.Equal(ChainErrorKind.Transient, ChainErrorClassifier.Classify(new TaskCanceledException()).Kind);
    }

    [Fact]
    public void Classify_UnrelatedException_ReturnsPermanent()
    {
        Assert.Equal(ChainErrorKind.Permanent, ChainErrorClassifier.Classify(new FormatException("bad")).Kind);
    }

    [Fact]
    public void Classify_ChainException_ReturnsItUnchanged()
    {
        var original = new ChainException(ChainErrorKind.InsufficientFunds, "poor");

        Assert.Same(original, ChainErrorClassifier.Classify(original));
    }

    [Theory]
    [InlineData("already known", true)]
    [InlineData("known transaction: 0xabc", true)]
    [InlineData("transaction already imported", true)]
    [InlineData("nonce too low", false)]
    public void IsAlreadyKnown_NodeMessage_Recognised(string message, bool expected)
    {
        Assert.Equal(expected, ChainErrorClassifier.IsAlreadyKnown(Rpc(-32000, message)));
    }

    [Fact]
    public void Decode_PanicCode_ReturnsPanic()
    {
        var data = Encode("Panic(uint256)", new ABIValue("uint256", 0x11));

        Assert.Equal("Panic(0x11)", RevertDecoder.Decode(data)!.Reason);
    }

    [Fact]
    public void Decode_NotHex_ReturnsNull()
    {
        Assert.Null(RevertDecoder.Decode("0xnothex!"));
        Assert.Null(RevertDecoder.Decode(null));
    }
}
