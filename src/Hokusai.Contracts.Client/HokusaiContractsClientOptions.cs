namespace Hokusai.Contracts.Client;

/// <summary>Settings of the typed client (bound by <c>AddHokusaiContractsClient(configuration)</c>).</summary>
public sealed class HokusaiContractsClientOptions
{
    /// <summary>The service's base address, e.g. <c>https://contracts.hokus.ai/</c>. Required.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>An API key, sent as <c>X-API-Key</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>A bearer token (JWT), sent as <c>Authorization: Bearer</c>; use <see cref="BearerTokenProvider"/> for tokens that expire.</summary>
    public string? BearerToken { get; set; }

    /// <summary>Returns a current bearer token for each request; takes precedence over <see cref="BearerToken"/>.</summary>
    public Func<CancellationToken, ValueTask<string>>? BearerTokenProvider { get; set; }

    /// <summary>How often <see cref="IHokusaiContractsClient.WaitForCompletionAsync"/> asks for the status when the server gives no hint. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}
