using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Hokusai.Contracts.AspNetCore.Http;
using Nethereum.Util;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class ValidationProperties
{
    private const string AllowedModelIdChars = "abcxyzABCXYZ0189_-";
    private const string OtherChars = " !.$/\\\né\"'";

    private static bool IsAllowedModelId(string value) =>
        value.Length is >= 1 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    private static Arbitrary<string> ModelIds() =>
        Gen.Frequency(
                (6, Gen.Elements(AllowedModelIdChars.ToCharArray())),
                (1, Gen.Elements(OtherChars.ToCharArray())))
            .ListOf()
            .Select(chars => new string(chars.ToArray()))
            .Select(s => s.Length > 70 ? s[..70] : s)
            .ToArbitrary();

    private static Arbitrary<byte[]> AddressBytes() =>
        Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(20).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property ModelId_IsAcceptedExactlyWhenItMatchesTheRule_AndDefaultsAreValid() =>
        Prop.ForAll(ModelIds(), modelId =>
        {
            using var document = JsonDocument.Parse(JsonSerializer.Serialize(new { modelId, userAddress = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" }));
            var request = DeploymentRequestValidator.Validate(document.RootElement, "accuracy", out _);
            if (!IsAllowedModelId(modelId))
            {
                return request is null;
            }

            return request is not null
                && request.ModelId == modelId
                && request.TokenSymbol.StartsWith("HK", StringComparison.Ordinal)
                && request.TokenSymbol.Length <= 10
                && request.TokenSymbol.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterUpper(c))
                && request.TokenName.Length <= 50
                && request.TokenName.All(c => char.IsAsciiLetterOrDigit(c) || c is ' ' or '_' or '-');
        });

    [Property(MaxTest = 200)]
    public Property Address_AnyCaseWithoutChecksum_NormalisesToNethereumChecksum() =>
        Prop.ForAll(AddressBytes(), bytes =>
        {
            var lower = "0x" + Convert.ToHexStringLower(bytes);
            var expected = AddressUtil.Current.ConvertToChecksumAddress(lower);
            return EthereumAddress.TryNormalize(lower, out var fromLower) == EthereumAddress.Problem.None
                && fromLower == expected
                && EthereumAddress.TryNormalize("0x" + lower[2..].ToUpperInvariant(), out var fromUpper) == EthereumAddress.Problem.None
                && fromUpper == expected
                && EthereumAddress.TryNormalize(expected, out var same) == EthereumAddress.Problem.None
                && same == expected;
        });

    [Property(MaxTest = 200)]
    public Property Address_OneLetterCaseFlippedInMixedCase_IsRejected() =>
        Prop.ForAll(AddressBytes(), Gen.Choose(0, 39).ToArbitrary(), (bytes, position) =>
        {
            var checksummed = AddressUtil.Current.ConvertToChecksumAddress("0x" + Convert.ToHexStringLower(bytes));
            var hex = checksummed[2..].ToCharArray();
            var letters = Enumerable.Range(0, 40).Where(i => char.IsAsciiLetter(hex[i])).ToList();
            if (letters.Count < 3)
            {
                return true;
            }

            var index = letters[position % letters.Count];
            hex[index] = char.IsAsciiLetterUpper(hex[index]) ? char.ToLowerInvariant(hex[index]) : char.ToUpperInvariant(hex[index]);
            var flipped = "0x" + new string(hex);
            var mixed = hex.Any(char.IsAsciiLetterUpper) && hex.Any(char.IsAsciiLetterLower);
            var problem = EthereumAddress.TryNormalize(flipped, out _);
            return mixed ? problem == EthereumAddress.Problem.Checksum : problem == EthereumAddress.Problem.None;
        });
}
