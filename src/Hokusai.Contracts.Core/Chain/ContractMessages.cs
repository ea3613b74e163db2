using System.Numerics;
using Nethereum.ABI.FunctionEncoding.Attributes;
using Nethereum.Contracts;

namespace Hokusai.Contracts.Chain;

// Typed Nethereum messages for the three contracts; the bytecode comes from the embedded artefacts.

/// <summary><c>HokusaiToken(name, symbol, controller)</c> creation.</summary>
internal sealed class HokusaiTokenDeployment : ContractDeploymentMessage
{
    public HokusaiTokenDeployment() : base(ContractArtifacts.Bytecode(ContractArtifacts.HokusaiToken)) { }

    [Parameter("string", "name_", 1)]
    public string Name { get; set; } = "";

    [Parameter("string", "symbol_", 2)]
    public string Symbol { get; set; } = "";

    [Parameter("address", "controller_", 3)]
    public string Controller { get; set; } = "";
}

/// <summary><c>ModelRegistry()</c> creation.</summary>
internal sealed class ModelRegistryDeployment : ContractDeploymentMessage
{
    public ModelRegistryDeployment() : base(ContractArtifacts.Bytecode(ContractArtifacts.ModelRegistry)) { }
}

/// <summary><c>TokenManager(registry)</c> creation.</summary>
internal sealed class TokenManagerDeployment : ContractDeploymentMessage
{
    public TokenManagerDeployment() : base(ContractArtifacts.Bytecode(ContractArtifacts.TokenManager)) { }

    [Parameter("address", "registry_", 1)]
    public string Registry { get; set; } = "";
}

[Function("registerModel")]
internal sealed class RegisterModelFunction : FunctionMessage
{
    [Parameter("string", "modelId", 1)]
    public string ModelId { get; set; } = "";

    [Parameter("address", "token", 2)]
    public string Token { get; set; } = "";

    [Parameter("string", "performanceMetric", 3)]
    public string PerformanceMetric { get; set; } = "";
}

[Function("mintTokens")]
internal sealed class MintTokensFunction : FunctionMessage
{
    [Parameter("string", "modelId", 1)]
    public string ModelId { get; set; } = "";

    [Parameter("address", "to", 2)]
    public string To { get; set; } = "";

    [Parameter("uint256", "amount", 3)]
    public BigInteger Amount { get; set; }
}

[Function("deployToken", "address")]
internal sealed class DeployTokenFunction : FunctionMessage
{
    [Parameter("string", "modelId", 1)]
    public string ModelId { get; set; } = "";

    [Parameter("string", "name", 2)]
    public string Name { get; set; } = "";

    [Parameter("string", "symbol", 3)]
    public string Symbol { get; set; } = "";

    [Parameter("string", "performanceMetric", 4)]
    public string PerformanceMetric { get; set; } = "";

    [Parameter("address", "recipient", 5)]
    public string Recipient { get; set; } = "";

    [Parameter("uint256", "initialSupply", 6)]
    public BigInteger InitialSupply { get; set; }
}

[Function("predictTokenAddress", "address")]
internal sealed class PredictTokenAddressFunction : FunctionMessage
{
    [Parameter("string", "modelId", 1)]
    public string ModelId { get; set; } = "";

    [Parameter("string", "name", 2)]
    public string Name { get; set; } = "";

    [Parameter("string", "symbol", 3)]
    public string Symbol { get; set; } = "";
}

[Function("isRegistrar", "bool")]
internal sealed class IsRegistrarFunction : FunctionMessage
{
    [Parameter("address", "account", 1)]
    public string Account { get; set; } = "";
}

[Function("setRegistrar")]
internal sealed class SetRegistrarFunction : FunctionMessage
{
    [Parameter("address", "account", 1)]
    public string Account { get; set; } = "";

    [Parameter("bool", "allowed", 2)]
    public bool Allowed { get; set; }
}

[Function("grantRole")]
internal sealed class GrantRoleFunction : FunctionMessage
{
    [Parameter("bytes32", "role", 1)]
    public byte[] Role { get; set; } = [];

    [Parameter("address", "account", 2)]
    public string Account { get; set; } = "";
}

[Function("getToken", "address")]
internal sealed class GetTokenFunction : FunctionMessage
{
    [Parameter("string", "modelId", 1)]
    public string ModelId { get; set; } = "";
}

[Function("owner", "address")]
internal sealed class OwnerFunction : FunctionMessage;

[Function("hasRole", "bool")]
internal sealed class HasRoleFunction : FunctionMessage
{
    [Parameter("bytes32", "role", 1)]
    public byte[] Role { get; set; } = [];

    [Parameter("address", "account", 2)]
    public string Account { get; set; } = "";
}

[Function("MINTER_ROLE", "bytes32")]
internal sealed class MinterRoleFunction : FunctionMessage;
