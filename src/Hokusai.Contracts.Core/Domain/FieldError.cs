namespace Hokusai.Contracts;

/// <summary>One validation failure of a request: the field (a JSON path such as <c>metadata.tags</c>) and why.</summary>
/// <param name="Field">The camelCase path of the offending field, or <c>body</c> for the body as a whole.</param>
/// <param name="Message">A sentence naming the rule the value broke; never echoes a secret.</param>
public sealed record FieldError(string Field, string Message);
