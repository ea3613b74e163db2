using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Http;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class ApiJsonTests
{
    [Fact]
    public void Create_BeforeAnyUse_ReadOnlyWithItsResolver()
    {
        var options = ApiJson.Create();

        Assert.True(options.IsReadOnly);
        Assert.NotNull(options.TypeInfoResolver);
    }

    [Fact]
    public async Task TypedResultsJson_FreshOptionsFirstUsedByManyRequestsAtOnce_NeverThrows()
    {
        // What many first requests do at once: each wraps its body in a JSON result with the envelope's options.
        for (var round = 0; round < 20; round++)
        {
            var options = ApiJson.Create();
            using var start = new ManualResetEventSlim();
            var results = Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            {
                start.Wait();
                return TypedResults.Json(new { n = i }, options, statusCode: 200);
            })).ToArray();
            start.Set();

            Assert.All(await Task.WhenAll(results), r => Assert.Equal(200, r.StatusCode));
        }
    }
}
