using System.Collections.Concurrent;
using System.Text.Json;

namespace Hokusai.Contracts.Chain;

/// <summary>The compiled contracts (ABI + bytecode) embedded from <c>contracts/artifacts</c>.</summary>
internal static class ContractArtifacts
{
    internal const string HokusaiToken = "HokusaiToken";
    internal const string ModelRegistry = "ModelRegistry";
    internal const string TokenManager = "TokenManager";

    internal static readonly IReadOnlyList<string> All = [HokusaiToken, ModelRegistry, TokenManager];

    // Process-wide on purpose: a memo of this assembly's own embedded resources, each entry a pure function of its key,
    // so sharing it shares no state a container or a test could observe.
    private static readonly ConcurrentDictionary<string, Artifact> Cache = new(StringComparer.Ordinal);

    internal static string Bytecode(string contractName) => Load(contractName).Bytecode;

    internal static string AbiJson(string contractName) => Load(contractName).AbiJson;

    private static Artifact Load(string contractName) => Cache.GetOrAdd(contractName, static name =>
    {
        var resource = $"Hokusai.Contracts.Artifacts.{name}.json";
        using var stream = typeof(ContractArtifacts).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The contract artefact '{resource}' is not embedded; run `npm run compile` and rebuild.");
        using var document = JsonDocument.Parse(stream);
        var root = document.RootElement;
        var bytecode = root.GetProperty("bytecode").GetString();
        if (string.IsNullOrEmpty(bytecode) || bytecode.Length < 4)
        {
            throw new InvalidOperationException($"The contract artefact '{resource}' has no bytecode.");
        }

        return new Artifact(bytecode, root.GetProperty("abi").GetRawText());
    });

    private sealed record Artifact(string Bytecode, string AbiJson);
}
