namespace ContractsApi.Tests.Consumer;

public sealed class ReadmeSnippetsTests
{
    [Fact]
    public void Extract_MarkedCsharpBlocks_ReturnsNameAndCodeOfEachOnly()
    {
        const string Readme = "# T\n<!-- snippet: embedding -->\n```csharp\nvar a = 1;\n```\n\n```csharp\nunmarked();\n```\n<!-- snippet: client-app -->\r\n```csharp\r\nvar b = 2;\r\n```\n";

        var snippets = ReadmeSnippets.Extract(Readme);

        Assert.Equal([new ReadmeSnippet("embedding", "var a = 1;\n"), new ReadmeSnippet("client-app", "var b = 2;\n")], snippets);
        Assert.Equal("Consumer.ClientApp", snippets[1].ProjectName);
    }

    [Fact]
    public void Describe_BuildOutputWithCompilerErrors_NamesTheSnippetAndItsErrorsOnce()
    {
        var snippets = new[] { new ReadmeSnippet("embedding", ""), new ReadmeSnippet("client", "") };
        const string Output = """
              Determining projects to restore...
            /tmp/c/embedding/Program.cs(6,36): error CS1501: No overload for method 'AddHokusaiContracts' takes 0 arguments [/tmp/c/embedding/Consumer.Embedding.csproj]
            /tmp/c/embedding/Program.cs(9,5): error CS1061: 'WebApplication' does not contain a definition for 'UseHokusaiContracts' [/tmp/c/embedding/Consumer.Embedding.csproj]
            /tmp/c/embedding/Program.cs(6,36): error CS1501: No overload for method 'AddHokusaiContracts' takes 0 arguments [/tmp/c/embedding/Consumer.Embedding.csproj]
              Consumer.Client -> /tmp/c/client/bin/Release/net10.0/Consumer.Client.dll
            """;

        var message = ReadmeSnippets.Describe(snippets, Output, s => "/tmp/c/" + s.Name);

        Assert.Equal(
            "README.md snippet 'embedding' (the ```csharp block after <!-- snippet: embedding -->) does not compile against the packed packages:\n"
            + "  Program.cs(6,36): error CS1501: No overload for method 'AddHokusaiContracts' takes 0 arguments\n"
            + "  Program.cs(9,5): error CS1061: 'WebApplication' does not contain a definition for 'UseHokusaiContracts'",
            message);
    }

    [Fact]
    public void Describe_ErrorOfNoSnippet_ShowsTheWholeOutput()
    {
        const string Output = "/tmp/c/consumer.slnx : error MSB4025: The project file could not be loaded.";

        var message = ReadmeSnippets.Describe([new ReadmeSnippet("embedding", "")], Output, s => "/tmp/c/" + s.Name);

        Assert.Equal("The consumer build failed:\n" + Output, message);
    }
}
