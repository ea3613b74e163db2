using System.Collections;
using Microsoft.Extensions.Configuration;

namespace Hokusai.Contracts;

/// <summary>
/// The mapped values of <c>AddHokusaiEnvironmentVariables</c>. A list or map set by a variable owns its section:
/// the children contributed by earlier sources are dropped, so RPC_URLS=a,b over an appsettings list of three URLs
/// binds two. It remembers which variable set each key, so messages can name the variable the caller set
/// (RPC_URL or RPC_URLS).
/// </summary>
internal sealed class HokusaiEnvironmentVariablesProvider(IDictionary? environment) : ConfigurationProvider
{
    private HashSet<string> _sections = new(StringComparer.OrdinalIgnoreCase);
    private Dictionary<string, string> _variables = new(StringComparer.OrdinalIgnoreCase);

    public override void Load()
    {
        var mapped = HokusaiEnvironmentVariables.Map(environment ?? Environment.GetEnvironmentVariables());
        Data = mapped.Values;
        _sections = mapped.Sections;
        _variables = mapped.Variables;
    }

    public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath) =>
        parentPath is not null && _sections.Contains(parentPath)
            ? base.GetChildKeys([], parentPath)
            : base.GetChildKeys(earlierKeys, parentPath);

    /// <summary>The variable that set <paramref name="key"/> (a list or map element: the variable of its section), or null.</summary>
    public string? VariableOf(string key) =>
        _variables.TryGetValue(key, out var variable) ? variable
        : Section(key) is { } section ? _variables[section]
        : null;

    /// <summary>Whether <paramref name="key"/> lies in a list or map this provider owns, so no earlier source contributes to it.</summary>
    public bool Owns(string key) => _sections.Contains(key) || Section(key) is not null;

    private string? Section(string key) =>
        _sections.FirstOrDefault(s => key.Length > s.Length && key[s.Length] == ':' && key.StartsWith(s, StringComparison.OrdinalIgnoreCase));
}
