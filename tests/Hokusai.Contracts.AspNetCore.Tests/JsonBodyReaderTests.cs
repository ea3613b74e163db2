using System.Text;
using System.Text.Json;
using Hokusai.Contracts.AspNetCore.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;

namespace Hokusai.Contracts.AspNetCore.Tests;

public sealed class JsonBodyReaderTests
{
    private static DefaultHttpContext Context(byte[] body, bool sendLength = true)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().BuildServiceProvider() };
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = sendLength ? body.Length : null;
        return context;
    }

    private static int? StatusOf(IResult? result) => (result as IStatusCodeHttpResult)?.StatusCode;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadAsync_BodyLargerThanFirstBuffer_ReadsWholeDocument(bool sendLength)
    {
        // Larger than the 4 KiB first buffer when no length is sent: the buffer grows and nothing is lost.
        var description = new string('d', 20_000);
        var body = Encoding.UTF8.GetBytes("{\"modelId\":\"m\",\"metadata\":{\"description\":\"" + description + "\"}}");

        var (document, error) = await JsonBodyReader.ReadAsync(Context(body, sendLength), CancellationToken.None);

        Assert.Null(error);
        using (document)
        {
            Assert.Equal(description, document!.RootElement.GetProperty("metadata").GetProperty("description").GetString());
        }
    }

    [Fact]
    public async Task ReadAsync_DocumentUsedAfterOtherReads_KeepsItsOwnCopy()
    {
        // The read buffer is pooled: a document must not see a later request's bytes.
        var (first, _) = await JsonBodyReader.ReadAsync(Context("""{"modelId":"first-model"}"""u8.ToArray()), CancellationToken.None);
        for (var i = 0; i < 20; i++)
        {
            var (other, _) = await JsonBodyReader.ReadAsync(Context("""{"modelId":"other-model-xx"}"""u8.ToArray()), CancellationToken.None);
            other!.Dispose();
        }

        using (first)
        {
            Assert.Equal("first-model", first!.RootElement.GetProperty("modelId").GetString());
        }
    }

    [Theory]
    [InlineData("""{"modelId":"m"} trailing""")]
    [InlineData("""{"modelId":"m"}{"modelId":"n"}""")]
    [InlineData("""{"modelId":""")]
    [InlineData("   ")]
    [InlineData("""{"modelId":"m" /* comment */}""")]
    public async Task ReadAsync_MalformedOrTrailingContent_Answers400(string body)
    {
        var (document, error) = await JsonBodyReader.ReadAsync(Context(Encoding.UTF8.GetBytes(body)), CancellationToken.None);

        Assert.Null(document);
        Assert.Equal(StatusCodes.Status400BadRequest, StatusOf(error));
    }

    [Fact]
    public async Task ReadAsync_WhitespaceAroundDocument_Accepted()
    {
        var (document, error) = await JsonBodyReader.ReadAsync(Context("  \n{\"modelId\":\"m\"}\r\n  "u8.ToArray()), CancellationToken.None);

        Assert.Null(error);
        document!.Dispose();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadAsync_BodyOverLimit_Answers413(bool sendLength)
    {
        var body = Encoding.UTF8.GetBytes("\"" + new string('x', JsonBodyReader.MaxBodyBytes) + "\"");

        var (document, error) = await JsonBodyReader.ReadAsync(Context(body, sendLength), CancellationToken.None);

        Assert.Null(document);
        Assert.Equal(StatusCodes.Status413PayloadTooLarge, StatusOf(error));
    }

    [Fact]
    public async Task ReadAsync_BodyExactlyAtLimit_Accepted()
    {
        var body = Encoding.UTF8.GetBytes("\"" + new string('x', JsonBodyReader.MaxBodyBytes - 2) + "\"");

        var (document, error) = await JsonBodyReader.ReadAsync(Context(body, sendLength: false), CancellationToken.None);

        Assert.Null(error);
        Assert.Equal(JsonValueKind.String, document!.RootElement.ValueKind);
        document.Dispose();
    }

    [Fact]
    public async Task ReadAsync_EmptyBody_Answers400()
    {
        var (document, error) = await JsonBodyReader.ReadAsync(Context([]), CancellationToken.None);

        Assert.Null(document);
        Assert.Equal(StatusCodes.Status400BadRequest, StatusOf(error));
    }
}
