using System.Net;

namespace Hokusai.Contracts.Client;

/// <summary>
/// An error answered by the API, carrying the envelope's code (see <see cref="HokusaiErrorCodes"/>).
/// Responses that are not the API's envelope (a proxy's 502 page, say) get the code <c>HTTP_&lt;status&gt;</c>.
/// </summary>
public sealed class HokusaiApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HokusaiApiException(HttpStatusCode statusCode, DeploymentError error, string? requestId = null, TimeSpan? retryAfter = null)
        : base(FormatMessage(statusCode, error))
    {
        ArgumentNullException.ThrowIfNull(error);
        StatusCode = statusCode;
        Error = error;
        RequestId = requestId;
        RetryAfter = retryAfter;
    }

    /// <summary>Creates the exception (for serializers and tests).</summary>
    public HokusaiApiException() : this(HttpStatusCode.InternalServerError, new DeploymentError { Code = HokusaiErrorCodes.InternalError })
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public HokusaiApiException(string message) : this(message, null)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public HokusaiApiException(string message, Exception? innerException) : base(message, innerException)
    {
        StatusCode = HttpStatusCode.InternalServerError;
        Error = new DeploymentError { Code = HokusaiErrorCodes.InternalError, Message = message };
    }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The envelope's error block.</summary>
    public DeploymentError Error { get; }

    /// <summary>The envelope's code, e.g. <see cref="HokusaiErrorCodes.TokenAlreadyExists"/>.</summary>
    public string Code => Error.Code;

    /// <summary>True when the API says the same request may succeed later (429, 503, a model in progress).</summary>
    public bool Retryable => Error.Retryable;

    /// <summary>The response's <c>X-Request-Id</c>, for support.</summary>
    public string? RequestId { get; }

    /// <summary>The response's <c>Retry-After</c>, when sent.</summary>
    public TimeSpan? RetryAfter { get; }

    private static string FormatMessage(HttpStatusCode statusCode, DeploymentError error) =>
        $"{(int)statusCode} {error?.Code}: {error?.Message}";
}
