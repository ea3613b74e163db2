using System.Globalization;
using System.Text;
using Nethereum.Util;

namespace Hokusai.Contracts.Tests.Chain;

/// <summary>
/// Test-side set-up of a signer pool on anvil: grants <c>DEPLOYER_ROLE</c> on the TokenManager to a key, or moves
/// a key's whole balance away, with plain JSON-RPC from anvil's unlocked development accounts (the chain is
/// prepared independently of the code under test).
/// </summary>
public static class PoolKeys
{
    private static readonly string DeployerRole = Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(Encoding.ASCII.GetBytes("DEPLOYER_ROLE")));

    /// <summary><c>TokenManager.grantRole(DEPLOYER_ROLE, account)</c> sent by <paramref name="admin"/> (an unlocked anvil account holding the admin role).</summary>
    public static async Task GrantDeployerRoleAsync(JsonRpc rpc, string tokenManager, string admin, string account)
    {
        var data = JsonRpc.Selector("grantRole(bytes32,address)") + DeployerRole + account[2..].ToLowerInvariant().PadLeft(64, '0');
        await SendAsync(rpc, new Dictionary<string, string> { ["from"] = admin, ["to"] = tokenManager, ["data"] = data });
    }

    /// <summary>Sets the balance of <paramref name="account"/> (<c>anvil_setBalance</c>), e.g. to zero for a key without funds.</summary>
    public static Task SetBalanceAsync(JsonRpc rpc, string account, System.Numerics.BigInteger wei) =>
        rpc.CallRawAsync("anvil_setBalance", account, "0x" + (wei.IsZero ? "0" : wei.ToString("x", CultureInfo.InvariantCulture).TrimStart('0')));

    private static async Task SendAsync(JsonRpc rpc, Dictionary<string, string> transaction)
    {
        var hash = (await rpc.CallRawAsync("eth_sendTransaction", transaction)).GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var receipt = await rpc.CallRawAsync("eth_getTransactionReceipt", hash);
            if (receipt.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                if (receipt.GetProperty("status").GetString() != "0x1")
                {
                    throw new InvalidOperationException($"transaction {hash} reverted");
                }

                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"transaction {hash} not mined within 60 s");
            }

            await Task.Delay(50);
        }
    }
}
