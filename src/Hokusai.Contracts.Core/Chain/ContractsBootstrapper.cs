using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Logging.Abstractions;
using Nethereum.Util;
using Nethereum.Web3;

namespace Hokusai.Contracts.Chain;

/// <summary>The two contract addresses a bootstrap produced.</summary>
/// <param name="ModelRegistryAddress">The deployed <c>ModelRegistry</c> (owned by the key).</param>
/// <param name="TokenManagerAddress">The deployed <c>TokenManager</c> (the key is its admin and minter).</param>
/// <param name="Factory">True when the manager is a registrar and the key holds <c>DEPLOYER_ROLE</c> (factory mode).</param>
public sealed record BootstrapResult(string ModelRegistryAddress, string TokenManagerAddress, bool Factory)
{
    /// <summary>Every address granted <c>DEPLOYER_ROLE</c> (the key first, then the rest of the pool); empty in legacy mode.</summary>
    public IReadOnlyList<string> DeployerRoleGrantedTo { get; init; } = [];
}

/// <summary>What <see cref="ContractsBootstrapper"/> sets up or checks besides the signing key.</summary>
public sealed class ContractsBootstrapOptions
{
    /// <summary>
    /// Factory mode (the default): the <c>TokenManager</c> becomes a registrar of the registry and every deployer
    /// holds <c>DEPLOYER_ROLE</c>. False: the three-transaction flow, where the key owns the registry and mints.
    /// </summary>
    public bool Factory { get; set; } = true;

    /// <summary>
    /// The signer pool's keys (<c>DEPLOYER_PRIVATE_KEYS</c>). Their addresses are granted, or checked for,
    /// <c>DEPLOYER_ROLE</c>; the first one signs when <see cref="ChainOptions.DeployerPrivateKey"/> is not set.
    /// A malformed entry is named by its place, never by its value.
    /// </summary>
    public IList<string> DeployerPrivateKeys { get; } = [];

    /// <summary>Further addresses to authorise: each is granted, or checked for, <c>DEPLOYER_ROLE</c> in factory mode.</summary>
    public IList<string> DeployerAddresses { get; } = [];
}

/// <summary>One contract of a deployment.</summary>
/// <param name="Address">Its configured address.</param>
/// <param name="HasCode">Whether the chain holds contract code there.</param>
public sealed record ContractCodeStatus(string Address, bool HasCode);

/// <summary>One deployer's standing on a deployment.</summary>
/// <param name="Address">The deployer's address.</param>
/// <param name="BalanceWei">Its balance, in wei.</param>
/// <param name="HasDeployerRole">Holds <c>DEPLOYER_ROLE</c> on the manager (factory mode).</param>
/// <param name="HasMinterRole">Holds <c>MINTER_ROLE</c> (or the admin role) on the manager (legacy mode).</param>
/// <param name="OwnsRegistry">Owns the registry (legacy mode registers through it).</param>
public sealed record DeployerStatus(string Address, BigInteger BalanceWei, bool HasDeployerRole, bool HasMinterRole, bool OwnsRegistry);

/// <summary>A deployment as the chain reports it.</summary>
public sealed record ContractsStatus
{
    /// <summary>The node's chain id.</summary>
    public required long ChainId { get; init; }

    /// <summary>The latest block number.</summary>
    public required ulong LatestBlock { get; init; }

    /// <summary>The <c>ModelRegistry</c>.</summary>
    public required ContractCodeStatus ModelRegistry { get; init; }

    /// <summary>The <c>TokenManager</c>.</summary>
    public required ContractCodeStatus TokenManager { get; init; }

    /// <summary>The registry's owner, when it answers.</summary>
    public string? RegistryOwner { get; init; }

    /// <summary>Whether the manager is a registrar of the registry (factory mode).</summary>
    public required bool ManagerIsRegistrar { get; init; }

    /// <summary>The signing key's address first, then the other deployers.</summary>
    public required IReadOnlyList<DeployerStatus> Deployers { get; init; }
}

/// <summary>The outcome of <see cref="ContractsBootstrapper.VerifyAsync"/>.</summary>
/// <param name="Status">What was read from the chain.</param>
/// <param name="Problems">One sentence per problem, naming the address concerned; empty when the deployment is usable.</param>
public sealed record ContractsVerification(ContractsStatus Status, IReadOnlyList<string> Problems)
{
    /// <summary>True when nothing is wrong.</summary>
    public bool Succeeded => Problems.Count == 0;
}

/// <summary>
/// Puts the contracts on a chain and checks a deployment: deploys a fresh <c>ModelRegistry</c> and
/// <c>TokenManager</c> from the embedded artefacts with the configured key and grants the roles the service
/// needs (<c>MINTER_ROLE</c> always; for factory mode the manager's registrar role on the registry and
/// <c>DEPLOYER_ROLE</c> to every deployer of the pool); reads an existing deployment's code, roles and
/// balances, and verifies them. The <c>hokusai-contracts</c> tool, the reference host's <c>bootstrap</c>
/// command and the dev chain all use it. Its messages name settings in the canonical form of
/// <see cref="HokusaiEnvironmentVariables.Describe(string)"/>; <see cref="HokusaiEnvironmentVariables.Rewrite"/> names
/// what the caller set.
/// </summary>
public static class ContractsBootstrapper
{
    private static readonly byte[] MinterRole = Sha3Keccack.Current.CalculateHash("MINTER_ROLE"u8.ToArray());
    private static readonly byte[] DefaultAdminRole = new byte[32];
    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>Deploys and configures the contracts; every transaction is waited for before the next depends on it.</summary>
    /// <param name="options">RPC URLs, chain id and deployer key (the contract addresses are ignored).</param>
    /// <param name="factory">Grant the roles factory mode needs (false: the three-transaction flow only).</param>
    /// <param name="progress">Receives one line per step.</param>
    /// <param name="cancellationToken">Cancels the bootstrap.</param>
    public static Task<BootstrapResult> DeployAsync(ChainOptions options, bool factory, IProgress<string>? progress, CancellationToken cancellationToken) =>
        DeployAsync(options, new ContractsBootstrapOptions { Factory = factory }, progress, cancellationToken);

    /// <summary>
    /// Deploys and configures the contracts, granting <c>DEPLOYER_ROLE</c> to the key and to every address of
    /// <see cref="ContractsBootstrapOptions.DeployerAddresses"/> in factory mode.
    /// </summary>
    /// <param name="options">RPC URLs, chain id and deployer key (the contract addresses are ignored).</param>
    /// <param name="bootstrap">Mode and the pool's other deployers.</param>
    /// <param name="progress">Receives one line per step.</param>
    /// <param name="cancellationToken">Cancels the bootstrap.</param>
    public static async Task<BootstrapResult> DeployAsync(ChainOptions options, ContractsBootstrapOptions bootstrap, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bootstrap);
        var (signingKey, pool) = Deployers(options, bootstrap);
        var others = pool.Skip(1).ToList();
        if (!bootstrap.Factory && others.Count > 0)
        {
            throw new InvalidOperationException("Further deployers need factory mode: the three-transaction flow registers through the registry's one owner.");
        }

        using var client = Client(options, signingKey);
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
            ("MINTER_ROLE to the key", await client.PrepareCallAsync(managerAddress, new GrantRoleFunction { Role = MinterRole, Account = client.DeployerAddress }, null, cancellationToken)),
        };
        var deployers = new List<string>();
        if (bootstrap.Factory)
        {
            grants.Add(("registrar role to the TokenManager", await client.PrepareCallAsync(registryAddress, new SetRegistrarFunction { Account = managerAddress, Allowed = true }, null, cancellationToken)));
            deployers.Add(client.DeployerAddress);
            deployers.AddRange(others.Where(a => !string.Equals(a, client.DeployerAddress, StringComparison.OrdinalIgnoreCase)));
            foreach (var deployer in deployers)
            {
                var who = deployer == client.DeployerAddress ? "the key" : deployer;
                grants.Add(($"DEPLOYER_ROLE to {who}", await client.PrepareCallAsync(managerAddress, new GrantRoleFunction { Role = NethereumChainClient.DeployerRole, Account = deployer }, null, cancellationToken)));
            }
        }

        await SendAllAsync(client, grants, progress, cancellationToken);
        return new BootstrapResult(registryAddress, managerAddress, bootstrap.Factory) { DeployerRoleGrantedTo = deployers };
    }

    /// <summary>
    /// Grants <c>DEPLOYER_ROLE</c> on an existing <c>TokenManager</c> (<see cref="ChainOptions.TokenManagerAddress"/>)
    /// to every deployer of the pool (the key, <see cref="ContractsBootstrapOptions.DeployerPrivateKeys"/> and
    /// <see cref="ContractsBootstrapOptions.DeployerAddresses"/>) that lacks it; the key must be the manager's admin.
    /// </summary>
    /// <param name="options">RPC URLs, chain id, deployer key and the manager's address.</param>
    /// <param name="bootstrap">The pool's other deployers.</param>
    /// <param name="progress">Receives one line per step.</param>
    /// <param name="cancellationToken">Cancels the grants.</param>
    /// <returns>The addresses that were granted the role (those that held it already are left out).</returns>
    public static async Task<IReadOnlyList<string>> GrantDeployerRoleAsync(ChainOptions options, ContractsBootstrapOptions bootstrap, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bootstrap);
        var manager = Required(options.TokenManagerAddress, nameof(ChainOptions.TokenManagerAddress));
        var (signingKey, pool) = Deployers(options, bootstrap);
        var web3 = Reader(options);
        using var client = Client(options, signingKey);
        await client.ResyncNonceAsync(cancellationToken);
        var grants = new List<(string What, PreparedTransaction Transaction)>();
        var granted = new List<string>();
        foreach (var address in pool)
        {
            if (await HasRoleAsync(web3, manager, NethereumChainClient.DeployerRole, address, cancellationToken))
            {
                progress?.Report($"{address} already holds DEPLOYER_ROLE");
                continue;
            }

            grants.Add(($"DEPLOYER_ROLE to {address}", await client.PrepareCallAsync(manager, new GrantRoleFunction { Role = NethereumChainClient.DeployerRole, Account = address }, null, cancellationToken)));
            granted.Add(address);
        }

        await SendAllAsync(client, grants, progress, cancellationToken);
        return granted;
    }

    /// <summary>
    /// Reads a deployment: chain id and head, whether both contracts have code, the registry's owner, whether the
    /// manager is a registrar, and each deployer's balance and roles. Nothing is signed; no key is needed when
    /// <see cref="ContractsBootstrapOptions.DeployerAddresses"/> names the addresses.
    /// </summary>
    /// <param name="options">RPC URLs, the contract addresses and, optionally, the key (its address is the first deployer).</param>
    /// <param name="bootstrap">The pool's other deployers.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <exception cref="ChainException">The node could not be reached.</exception>
    public static async Task<ContractsStatus> GetStatusAsync(ChainOptions options, ContractsBootstrapOptions bootstrap, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bootstrap);
        var registry = Required(options.ModelRegistryAddress, nameof(ChainOptions.ModelRegistryAddress));
        var manager = Required(options.TokenManagerAddress, nameof(ChainOptions.TokenManagerAddress));
        var (_, accounts) = Deployers(options, bootstrap);
        var web3 = Reader(options);
        long chainId;
        ulong head;
        try
        {
            chainId = (long)(await web3.Eth.ChainId.SendRequestAsync().WaitAsync(cancellationToken)).Value;
            head = (ulong)(await web3.Eth.Blocks.GetBlockNumber.SendRequestAsync().WaitAsync(cancellationToken)).Value;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new ChainException(ChainErrorKind.Transient, $"The node at {Display(options.RpcUrls[0])} did not answer: {ex.Message}", innerException: ex);
        }

        var registryCode = await HasCodeAsync(web3, registry, cancellationToken);
        var managerCode = await HasCodeAsync(web3, manager, cancellationToken);
        string? owner = null;
        var registrar = false;
        if (registryCode)
        {
            owner = await QueryAsync(() => web3.Eth.GetContractQueryHandler<OwnerFunction>().QueryAsync<string>(registry, new OwnerFunction()), cancellationToken);
            registrar = managerCode && await QueryAsync(() => web3.Eth.GetContractQueryHandler<IsRegistrarFunction>().QueryAsync<bool>(registry, new IsRegistrarFunction { Account = manager }), cancellationToken);
        }

        var statuses = new List<DeployerStatus>();
        foreach (var account in accounts)
        {
            var balance = (await web3.Eth.GetBalance.SendRequestAsync(account).WaitAsync(cancellationToken)).Value;
            var deployer = managerCode && await HasRoleAsync(web3, manager, NethereumChainClient.DeployerRole, account, cancellationToken);
            var minter = managerCode && (await HasRoleAsync(web3, manager, MinterRole, account, cancellationToken) || await HasRoleAsync(web3, manager, DefaultAdminRole, account, cancellationToken));
            var owns = owner is not null && string.Equals(owner, account, StringComparison.OrdinalIgnoreCase);
            statuses.Add(new DeployerStatus(account, balance, deployer, minter, owns));
        }

        return new ContractsStatus
        {
            ChainId = chainId,
            LatestBlock = head,
            ModelRegistry = new ContractCodeStatus(registry, registryCode),
            TokenManager = new ContractCodeStatus(manager, managerCode),
            RegistryOwner = owner is null ? null : AddressUtil.Current.ConvertToChecksumAddress(owner),
            ManagerIsRegistrar = registrar,
            Deployers = statuses,
        };
    }

    /// <summary>
    /// Checks that a deployment can serve: both contracts have code and, in factory mode, the manager is a
    /// registrar and every deployer holds <c>DEPLOYER_ROLE</c>; in legacy mode the key owns the registry and
    /// may mint. Every deployer needs a balance for gas. Each problem names the address concerned.
    /// </summary>
    /// <param name="options">RPC URLs, the contract addresses and, optionally, the key.</param>
    /// <param name="bootstrap">The mode and the pool's other deployers.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <exception cref="ChainException">The node could not be reached.</exception>
    public static async Task<ContractsVerification> VerifyAsync(ChainOptions options, ContractsBootstrapOptions bootstrap, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bootstrap);
        var status = await GetStatusAsync(options, bootstrap, cancellationToken);
        var problems = new List<string>();
        if (options.ChainId != 0 && options.ChainId != status.ChainId)
        {
            problems.Add($"The node reports chain id {status.ChainId}, not the configured {options.ChainId} ({HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.ChainId)))}).");
        }

        if (!status.ModelRegistry.HasCode)
        {
            problems.Add($"No contract code at the ModelRegistry address {status.ModelRegistry.Address} ({HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.ModelRegistryAddress)))}) on chain {status.ChainId}.");
        }

        if (!status.TokenManager.HasCode)
        {
            problems.Add($"No contract code at the TokenManager address {status.TokenManager.Address} ({HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.TokenManagerAddress)))}) on chain {status.ChainId}.");
        }

        if (status.Deployers.Count == 0)
        {
            problems.Add($"No deployer to check: set {HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.DeployerPrivateKey)))} or name addresses.");
        }

        if (status.ModelRegistry.HasCode && status.TokenManager.HasCode)
        {
            if (bootstrap.Factory && !status.ManagerIsRegistrar)
            {
                problems.Add($"The TokenManager {status.TokenManager.Address} is not a registrar of the ModelRegistry {status.ModelRegistry.Address}: factory deployments would revert.");
            }

            foreach (var deployer in status.Deployers)
            {
                if (bootstrap.Factory && !deployer.HasDeployerRole)
                {
                    problems.Add($"Deployer {deployer.Address} lacks DEPLOYER_ROLE on the TokenManager {status.TokenManager.Address}.");
                }
            }

            if (!bootstrap.Factory && status.Deployers.Count > 0)
            {
                var key = status.Deployers[0];
                if (!key.OwnsRegistry)
                {
                    problems.Add($"Deployer {key.Address} does not own the ModelRegistry {status.ModelRegistry.Address} (owner: {status.RegistryOwner ?? "unknown"}): legacy registrations would revert.");
                }

                if (!key.HasMinterRole)
                {
                    problems.Add($"Deployer {key.Address} lacks MINTER_ROLE on the TokenManager {status.TokenManager.Address}.");
                }
            }
        }

        foreach (var deployer in status.Deployers.Where(d => d.BalanceWei.IsZero))
        {
            problems.Add($"Deployer {deployer.Address} has no ether to pay for gas.");
        }

        return new ContractsVerification(status, problems);
    }

    private static string Key(string property) => HokusaiContractsOptions.SectionName + ":Chain:" + property;

    private static string Required(string? address, string property) =>
        !string.IsNullOrWhiteSpace(address) && AddressUtil.Current.IsValidEthereumAddressHexFormat(address)
            ? address
            : throw new InvalidOperationException($"{HokusaiEnvironmentVariables.Describe(Key(property))} must be set to a 0x-prefixed 20-byte hex address.");

    private static List<string> Addresses(IEnumerable<string> addresses)
    {
        var list = new List<string>();
        foreach (var address in addresses)
        {
            if (!AddressUtil.Current.IsValidEthereumAddressHexFormat(address))
            {
                throw new ArgumentException($"'{address}' is not a 0x-prefixed 20-byte hex address.", nameof(addresses));
            }

            var checksummed = AddressUtil.Current.ConvertToChecksumAddress(address);
            if (!list.Contains(checksummed, StringComparer.OrdinalIgnoreCase))
            {
                list.Add(checksummed);
            }
        }

        return list;
    }

    /// <summary>
    /// The signing key (<see cref="ChainOptions.DeployerPrivateKey"/>, else the pool's first key) and every
    /// deployer's address, the signer's first, each once.
    /// </summary>
    private static (string? SigningKey, List<string> Addresses) Deployers(ChainOptions options, ContractsBootstrapOptions bootstrap)
    {
        var keys = new List<(string Key, string Address)>();
        if (!string.IsNullOrWhiteSpace(options.DeployerPrivateKey))
        {
            keys.Add((options.DeployerPrivateKey.Trim(), AddressOf(options.DeployerPrivateKey, HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.DeployerPrivateKey))))));
        }

        for (var i = 0; i < bootstrap.DeployerPrivateKeys.Count; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"DEPLOYER_PRIVATE_KEYS entry {i} ({Key("DeployerPrivateKeys")}:{i})");
            keys.Add((bootstrap.DeployerPrivateKeys[i].Trim(), AddressOf(bootstrap.DeployerPrivateKeys[i], name)));
        }

        var addresses = Addresses(keys.Select(k => k.Address).Concat(bootstrap.DeployerAddresses));
        return (keys.Count > 0 ? keys[0].Key : null, addresses);
    }

    private static string AddressOf(string? privateKey, string name)
    {
        var hex = privateKey?.Trim() ?? string.Empty;
        if ((hex.Length == 64 || (hex.Length == 66 && hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))) && !hex.AsSpan(hex.Length - 64).ContainsAnyExcept(HexDigits))
        {
            try
            {
                return new Nethereum.Signer.EthECKey(hex).GetPublicAddress();
            }
            catch (ArgumentException)
            {
                // Outside the curve's range: reported like any malformed key.
            }
        }

        throw new InvalidOperationException($"{name} must be 32 bytes of hex (the value is not shown).");
    }

    private static NethereumChainClient Client(ChainOptions options, string? signingKey)
    {
        if (options.RpcUrls.Count == 0 || string.IsNullOrWhiteSpace(signingKey))
        {
            throw new InvalidOperationException($"{HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.RpcUrls)))} and {HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.DeployerPrivateKey)))} are required.");
        }

        var settings = new ChainOptions
        {
            DeployerPrivateKey = signingKey,
            ChainId = options.ChainId,
            RpcTimeout = options.RpcTimeout,
            ReceiptPollInterval = TimeSpan.FromMilliseconds(Math.Min(options.ReceiptPollInterval.TotalMilliseconds, 100)),
            GasPriceMultiplier = options.GasPriceMultiplier,
            MaxGasPriceGwei = options.MaxGasPriceGwei,
            ConfirmationBlocks = options.ConfirmationBlocks,
            ModelRegistryAddress = options.ModelRegistryAddress,
            TokenManagerAddress = options.TokenManagerAddress,
        };
        foreach (var url in options.RpcUrls)
        {
            settings.RpcUrls.Add(url);
        }

        return new NethereumChainClient(settings, NullLoggerFactory.Instance, TimeProvider.System);
    }

    private static Web3 Reader(ChainOptions options) =>
        options.RpcUrls.Count > 0
            ? new Web3(options.RpcUrls[0])
            : throw new InvalidOperationException($"{HokusaiEnvironmentVariables.Describe(Key(nameof(ChainOptions.RpcUrls)))} is required.");

    private static async Task SendAllAsync(NethereumChainClient client, List<(string What, PreparedTransaction Transaction)> transactions, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        foreach (var (_, transaction) in transactions)
        {
            await client.BroadcastAsync(transaction, cancellationToken);
        }

        foreach (var (what, transaction) in transactions)
        {
            var receipt = await client.WaitForReceiptAsync(transaction.Hash, null, cancellationToken);
            if (!receipt.Succeeded)
            {
                throw new ChainException(ChainErrorKind.Reverted, $"Granting {what} reverted ({transaction.Hash}); is the key the contract's admin?");
            }

            progress?.Report($"Granted {what} ({transaction.Hash})");
        }
    }

    private static async Task<bool> HasCodeAsync(Web3 web3, string address, CancellationToken cancellationToken)
    {
        var code = await web3.Eth.GetCode.SendRequestAsync(address).WaitAsync(cancellationToken);
        return code is { Length: > 2 } && code != "0x";
    }

    private static Task<bool> HasRoleAsync(Web3 web3, string manager, byte[] role, string account, CancellationToken cancellationToken) =>
        QueryAsync(() => web3.Eth.GetContractQueryHandler<HasRoleFunction>().QueryAsync<bool>(manager, new HasRoleFunction { Role = role, Account = account }), cancellationToken);

    // A contract that is not what the address should hold reverts or answers garbage: that reads as "no".
    private static async Task<T?> QueryAsync<T>(Func<Task<T>> query, CancellationToken cancellationToken)
    {
        try
        {
            return await query().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is Nethereum.ABI.FunctionEncoding.SmartContractRevertException or Nethereum.JsonRpc.Client.RpcResponseException or ArgumentException or FormatException or InvalidOperationException)
        {
            return default;
        }
    }

    private static string Display(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? string.Create(CultureInfo.InvariantCulture, $"{uri.Scheme}://{uri.Host}:{uri.Port}") : "<invalid url>";
}
