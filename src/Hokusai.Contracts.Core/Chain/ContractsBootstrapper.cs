using Microsoft.Extensions.Logging.Abstractions;
using Nethereum.Util;

namespace Hokusai.Contracts.Chain;

/// <summary>The two contract addresses a bootstrap produced.</summary>
/// <param name="ModelRegistryAddress">The deployed <c>ModelRegistry</c> (owned by the key).</param>
/// <param name="TokenManagerAddress">The deployed <c>TokenManager</c> (the key is its admin and minter).</param>
/// <param name="Factory">True when the manager is a registrar and the key holds <c>DEPLOYER_ROLE</c> (factory mode).</param>
public sealed record BootstrapResult(string ModelRegistryAddress, string TokenManagerAddress, bool Factory);

/// <summary>
/// Deploys a fresh <c>ModelRegistry</c> and <c>TokenManager</c> from the embedded artefacts with the
/// configured key, and grants the roles the service needs: <c>MINTER_ROLE</c> always; for factory mode
/// also the manager's registrar role on the registry and <c>DEPLOYER_ROLE</c> to the key. The
/// reference host's <c>bootstrap</c> command and the dev chain both use it.
/// </summary>
public static class ContractsBootstrapper
{
    /// <summary>Deploys and configures the contracts; every transaction is waited for before the next depends on it.</summary>
    /// <param name="options">RPC URLs, chain id and deployer key (the contract addresses are ignored).</param>
    /// <param name="factory">Grant the roles factory mode needs (false: the three-transaction flow only).</param>
    /// <param name="progress">Receives one line per step.</param>
    /// <param name="cancellationToken">Cancels the bootstrap.</param>
    public static async Task<BootstrapResult> DeployAsync(ChainOptions options, bool factory, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = new ChainOptions
        {
            DeployerPrivateKey = options.DeployerPrivateKey,
            ChainId = options.ChainId,
            RpcTimeout = options.RpcTimeout,
            ReceiptPollInterval = TimeSpan.FromMilliseconds(Math.Min(options.ReceiptPollInterval.TotalMilliseconds, 100)),
            GasPriceMultiplier = options.GasPriceMultiplier,
            MaxGasPriceGwei = options.MaxGasPriceGwei,
            ConfirmationBlocks = options.ConfirmationBlocks,
        };
        foreach (var url in options.RpcUrls)
        {
            settings.RpcUrls.Add(url);
        }

        using var client = new NethereumChainClient(settings, NullLoggerFactory.Instance, TimeProvider.System);
        // Another process (an earlier bootstrap, a service) may have used the key: start from the node's count.
        await client.ResyncNonceAsync(cancellationToken);
        progress?.Report($"Deploying from {client.DeployerAddress}");

        // The CREATE addresses are known once signed, so both deployments go out before either is mined.
        var registry = await client.PrepareDeploymentAsync(new ModelRegistryDeployment(), null, cancellationToken);
        var manager = await client.PrepareDeploymentAsync(new TokenManagerDeployment { Registry = registry.ContractAddress! }, null, cancellationToken);
        await client.BroadcastAsync(registry, cancellationToken);
        await client.BroadcastAsync(manager, cancellationToken);
        var registryAddress = (await client.WaitForReceiptAsync(registry.Hash, null, cancellationToken)).ContractAddress ?? registry.ContractAddress!;
        progress?.Report($"ModelRegistry deployed at {registryAddress} ({registry.Hash})");
        var managerAddress = (await client.WaitForReceiptAsync(manager.Hash, null, cancellationToken)).ContractAddress ?? manager.ContractAddress!;
        progress?.Report($"TokenManager deployed at {managerAddress} ({manager.Hash})");

        var grants = new List<(string What, PreparedTransaction Transaction)>
        {
            ("MINTER_ROLE to the key", await client.PrepareCallAsync(managerAddress, new GrantRoleFunction { Role = Sha3Keccack.Current.CalculateHash("MINTER_ROLE"u8.ToArray()), Account = client.DeployerAddress }, null, cancellationToken)),
        };
        if (factory)
        {
            grants.Add(("registrar role to the TokenManager", await client.PrepareCallAsync(registryAddress, new SetRegistrarFunction { Account = managerAddress, Allowed = true }, null, cancellationToken)));
            grants.Add(("DEPLOYER_ROLE to the key", await client.PrepareCallAsync(managerAddress, new GrantRoleFunction { Role = NethereumChainClient.DeployerRole, Account = client.DeployerAddress }, null, cancellationToken)));
        }

        foreach (var (_, transaction) in grants)
        {
            await client.BroadcastAsync(transaction, cancellationToken);
        }

        foreach (var (what, transaction) in grants)
        {
            await client.WaitForReceiptAsync(transaction.Hash, null, cancellationToken);
            progress?.Report($"Granted {what} ({transaction.Hash})");
        }

        return new BootstrapResult(registryAddress, managerAddress, factory);
    }
}
