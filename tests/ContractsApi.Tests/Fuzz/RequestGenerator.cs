using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace ContractsApi.Tests.Fuzz;

/// <summary>
/// Generates hostile HTTP requests from a seed: request <c>i</c> of seed <c>s</c> is always the same, so a
/// failure is reproduced from the two numbers. Covers methods, paths, query strings, headers, content
/// types, bodies (JSON mutations, Unicode, lone surrogate escapes, invalid UTF-8, other encodings) and
/// JWTs (valid, forged, unsigned, expired, malformed, odd claims).
/// </summary>
internal sealed class RequestGenerator(int seed, RequestGenerator.Credentials credentials)
{
    /// <summary>What the generator may use to get past authentication some of the time.</summary>
    internal sealed record Credentials(string ApiKey, string JwtSecret, IReadOnlyList<string> Addresses, IReadOnlyList<string> ModelPool, IReadOnlyList<Guid> KnownJobs);

    // Weighted towards the API's own methods, so most requests get past routing to the handlers.
    private static readonly string[] Methods =
    [
        "GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "POST", "POST", "POST", "POST", "POST", "POST", "POST", "POST",
        "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FUZZ", "get",
    ];

    private static readonly string[] Weird =
    [
        "", " ", "\t", "null", "true", "0", "-1", "1e309", "NaN", "2147483648", "9223372036854775808", "99999999999999999999999999999",
        "%", "%%", "%zz", "%00", "%C0%AF", "%ED%A0%80", "%FF%FE", "..", "../..", "%2e%2e%2f", "//", "\\", "'", "\"", "<script>",
        "{", "}", "[]", "{}", "a\u0000b", "\u202e", "\ufeff", "\ud83d\ude00", "\u00e9", "日本語", "ä", new string('a', 300), new string('9', 80),
        "pending", "completed", "PENDING", "model-1", "00000000-0000-0000-0000-000000000000",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json", "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
        "application/problem+json", "application/vnd.api+json", "text/plain", "text/json", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/xml", "*/*", "application/json; charset=\"", ";;;", "application/", "",
    ];

    public int Seed { get; } = seed;

    /// <summary>Request number <paramref name="index"/> of this seed.</summary>
    public HttpRequestMessage Create(int index, Uri baseAddress)
    {
        var random = new Random(HashCode.Combine(Seed, index));
        var method = Pick(random, Methods);
        // Most bodies go where they are read.
        var path = method == "POST" && random.Next(10) < 7 ? "/api/deployments" : Path(random);
        var query = random.Next(3) == 0 ? Query(random) : string.Empty;
        // Appended to the authority as text: combining would read "//x" as another host.
        if (!Uri.TryCreate(baseAddress.GetLeftPart(UriPartial.Authority) + path + query, UriKind.Absolute, out var uri))
        {
            uri = new Uri(baseAddress, "/api/deployments?unparsable=1");
        }

        var request = new HttpRequestMessage(new HttpMethod(method), uri);
        AddHeaders(random, request);
        if (method is "POST" or "PUT" or "PATCH" || random.Next(10) == 0)
        {
            var (body, contentType) = Body(random);
            var content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }

            request.Content = content;
        }

        return request;
    }

    private string Path(Random random) => random.Next(16) switch
    {
        14 => $"/api/deployments/{Id(random)}/events" + (random.Next(2) == 0 ? "?limit=" + Escape(random, Pick(random, Weird)) : string.Empty),
        15 => $"/api/deployments/{Id(random)}/events/{Id(random)}/redeliver",
        0 or 1 or 2 or 3 => "/api/deployments",
        4 => $"/api/deployments/{Id(random)}/status",
        5 => $"/api/deployments/{Id(random)}/cancel",
        6 => $"/api/deployments/{Id(random)}",
        7 => Pick(random, ["/health", "/health/ready", "/health/detailed", "/openapi/v1.json", "/metrics", "/", "/api", "/api/deployments/", "//api//deployments", "/API/DEPLOYMENTS"]),
        8 => "/api/deployments/" + Escape(random, Pick(random, Weird)) + (random.Next(2) == 0 ? "/status" : string.Empty),
        9 => "/" + string.Join('/', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Escape(random, RandomText(random, 12)))),
        10 => "/api/deployments/%2F..%2F..%2Fhealth",
        11 => "/api/deployments/" + new string('x', random.Next(1, 4000)),
        12 => "/api/deployments/" + Uri.EscapeDataString(RandomText(random, 40)) + "/status",
        _ => "/health/" + Escape(random, Pick(random, Weird)),
    };

    private string Id(Random random) => random.Next(5) switch
    {
        0 when credentials.KnownJobs.Count > 0 => Pick(random, credentials.KnownJobs).ToString(),
        1 => Guid.NewGuid().ToString("N"),
        2 => Guid.NewGuid().ToString("B"),
        3 => Escape(random, Pick(random, Weird)),
        _ => new Guid(Bytes(random, 16)).ToString(),
    };

    private static string Query(Random random)
    {
        var parts = new List<string>();
        for (var i = random.Next(1, 6); i > 0; i--)
        {
            var name = Pick(random, ["status", "page", "limit", "modelId", "Status", "page", "x", "", "limit[]", "%zz", "modelId"]);
            var value = random.Next(3) switch
            {
                0 => Pick(random, Weird),
                1 => random.Next(int.MinValue, int.MaxValue).ToString(CultureInfo.InvariantCulture),
                _ => RandomText(random, 20),
            };
            parts.Add(Escape(random, name) + (random.Next(8) == 0 ? string.Empty : "=" + Escape(random, value)));
        }

        return "?" + string.Join(random.Next(6) == 0 ? ";" : "&", parts);
    }

    private void AddHeaders(Random random, HttpRequestMessage request)
    {
        switch (random.Next(9))
        {
            case 0 or 1 or 2 or 7:
                request.Headers.TryAddWithoutValidation("X-API-Key", credentials.ApiKey);
                break;
            case 3:
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Jwt(random));
                break;
            case 4:
                request.Headers.TryAddWithoutValidation("X-API-Key", HeaderText(random));
                break;
            case 5:
                request.Headers.TryAddWithoutValidation("Authorization", Pick(random, ["Bearer", "Bearer ", "Basic YTpi", "bearer " + Jwt(random), "Bearer a.b.c", HeaderText(random)]));
                break;
            case 6:
                request.Headers.TryAddWithoutValidation("X-API-Key", credentials.ApiKey);
                request.Headers.TryAddWithoutValidation("X-API-Key", credentials.ApiKey + "x");
                break;
            default:
                break;
        }

        if (random.Next(4) == 0)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", random.Next(3) == 0 ? HeaderText(random) : "idem-" + random.Next(50));
        }

        if (random.Next(5) == 0)
        {
            request.Headers.TryAddWithoutValidation("X-Request-Id", HeaderText(random));
        }

        if (random.Next(6) == 0)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", Pick(random, ["203.0.113.9", "10.0.0.1, 198.51.100.2", "not-an-ip", "::1", "1.2.3.4:99999", HeaderText(random)]));
            request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", Pick(random, ["https", "http", "gopher", HeaderText(random)]));
        }

        if (random.Next(8) == 0)
        {
            request.Headers.TryAddWithoutValidation("Origin", Pick(random, ["https://app.hokus.ai", "null", "https://evil.example", HeaderText(random)]));
            request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", Pick(random, ["POST", "GET", "DELETE", "FUZZ"]));
        }

        if (random.Next(10) == 0)
        {
            request.Headers.TryAddWithoutValidation("Accept", Pick(random, ["application/xml", "*/*", "text/html", HeaderText(random)]));
            request.Headers.TryAddWithoutValidation("Accept-Encoding", Pick(random, ["gzip", "br", "identity;q=0", "x"]));
        }
    }

    /// <summary>Header values: visible ASCII and Latin-1 (what HTTP/1.1 can carry), never CR or LF.</summary>
    private static string HeaderText(Random random)
    {
        var length = random.Next(0, random.Next(3) == 0 ? 600 : 40);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)(random.Next(4) == 0 ? random.Next(0xA0, 0x100) : random.Next(0x20, 0x7F));
        }

        return new string(chars).Trim();
    }

    private (byte[] Body, string? ContentType) Body(Random random)
    {
        var contentType = random.Next(10) < 6 ? "application/json" : random.Next(12) == 0 ? null : Pick(random, ContentTypes);
        var kind = random.Next(12);
        byte[] body = kind switch
        {
            0 or 1 or 2 or 3 => Encoding.UTF8.GetBytes(JsonBody(random)),
            4 => InvalidUtf8(random),
            5 => Encoding.UTF8.GetBytes(JsonBody(random).Replace("\"m", "\"\\ud800m", StringComparison.Ordinal)),
            6 => Encoding.Unicode.GetBytes(JsonBody(random)),
            7 => [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(JsonBody(random))],
            8 => Bytes(random, random.Next(0, 300)),
            9 => Encoding.UTF8.GetBytes(Truncate(random, JsonBody(random))),
            10 => Encoding.UTF8.GetBytes(Nested(random)),
            _ => Encoding.UTF8.GetBytes(Pick(random, ["", "null", "[]", "{}", "\"x\"", "1", "{\"modelId\":", "{\"a\":1,\"a\":2}", new string(' ', 70_000), "{\"modelId\":\"" + new string('x', 70_000) + "\"}"])),
        };
        return (body, contentType);
    }

    private string JsonBody(Random random)
    {
        var fields = new List<string>();
        void Field(string name, string json)
        {
            if (random.Next(6) != 0)
            {
                fields.Add($"\"{name}\":{json}");
            }
        }

        Field("modelId", random.Next(3) == 0 ? Quote(Pick(random, credentials.ModelPool)) : JsonValue(random));
        Field("userAddress", random.Next(2) == 0 ? Quote(Pick(random, credentials.Addresses)) : Pick(random, [
            Quote("0x0000000000000000000000000000000000000000"), Quote("0x0000000000000000000000000000000000000001"),
            Quote("0x" + Convert.ToHexString(Bytes(random, 20))), Quote("0x" + Convert.ToHexString(Bytes(random, 20)).ToLowerInvariant()),
            JsonValue(random)]));
        Field("tokenName", JsonValue(random));
        Field("tokenSymbol", JsonValue(random));
        Field("initialSupply", Pick(random, ["\"0\"", "\"1000\"", "1000", "-1", "1.5", "1e3", "\"" + new string('9', 80) + "\"", "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"", JsonValue(random)]));
        Field("performanceMetric", JsonValue(random));
        Field("metadata", random.Next(3) switch
        {
            0 => JsonValue(random),
            1 => $"{{\"description\":{JsonValue(random)},\"website\":{JsonValue(random)},\"whitepaper\":{Quote("javascript:alert(1)")}}}",
            _ => $"{{\"tags\":{{{string.Join(',', Enumerable.Range(0, random.Next(0, 25)).Select(i => Quote(RandomText(random, random.Next(0, 70))) + ":" + JsonValue(random)))}}}}}",
        });
        Field("token", JsonValue(random));
        Field("callbackUrl", Pick(random, [
            Quote("https://hooks.example.test/h"), Quote("http://127.0.0.1:1/h"), Quote("https://169.254.169.254/latest"),
            Quote("https://user:pw@example.test/"), Quote("javascript:alert(1)"), Quote("https://[::1]/x"), "\"https://\\ud800.test/\"", JsonValue(random)]));
        if (random.Next(5) == 0)
        {
            fields.Add(Quote(RandomText(random, 10)) + ":" + JsonValue(random));
        }

        var order = fields.OrderBy(_ => random.Next()).ToList();
        return "{" + string.Join(',', order) + "}";
    }

    private static string JsonValue(Random random) => random.Next(10) switch
    {
        0 => "null",
        1 => random.Next(2) == 0 ? "true" : "false",
        2 => random.Next().ToString(CultureInfo.InvariantCulture),
        3 => "[" + Quote(RandomText(random, 5)) + "]",
        4 => "{\"x\":1}",
        5 => "\"\\ud800\"",
        6 => "\"a\\udc00b\\u0000c\"",
        7 => Quote(Pick(random, Weird)),
        _ => Quote(RandomText(random, random.Next(0, 80))),
    };

    /// <summary>Any Unicode scalar value, including controls, RTL marks, supplementary planes.</summary>
    private static string RandomText(Random random, int maxLength)
    {
        var builder = new StringBuilder();
        var length = random.Next(0, maxLength + 1);
        while (builder.Length < length)
        {
            var rune = random.Next(5) switch
            {
                0 => random.Next(0x20, 0x7F),
                1 => random.Next(0, 0x20),
                2 => random.Next(0xA0, 0xD800),
                3 => random.Next(0xE000, 0x10000),
                _ => random.Next(0x10000, 0x110000),
            };
            builder.Append(char.ConvertFromUtf32(rune is >= 0xD800 and < 0xE000 ? 'x' : rune));
        }

        return builder.ToString();
    }

    private static byte[] InvalidUtf8(Random random)
    {
        var prefix = Encoding.UTF8.GetBytes("{\"modelId\":\"");
        byte[][] bad = [[0xFF, 0xFE], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82]];
        var field = Pick(random, ["modelId", "tokenName", "userAddress", "performanceMetric", "initialSupply"]);
        prefix = Encoding.UTF8.GetBytes($"{{\"{field}\":\"");
        var suffix = Encoding.UTF8.GetBytes("\",\"userAddress\":\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"}");
        return [.. prefix, .. Pick(random, bad), .. suffix];
    }

    private static string Truncate(Random random, string json) => json.Length == 0 ? json : json[..random.Next(json.Length)];

    private static string Nested(Random random)
    {
        var depth = random.Next(10, 200);
        var open = random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        return "{\"metadata\":" + string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth)) + "}";
    }

    private string Jwt(Random random)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var sub = random.Next(4) switch
        {
            0 => "fuzz-user",
            1 => RandomText(random, 30),
            2 => "alice",
            _ => new string('s', random.Next(1, 600)),
        };
        var claims = new Dictionary<string, object?>
        {
            ["sub"] = random.Next(10) == 0 ? null : sub,
            ["exp"] = random.Next(6) == 0 ? now - 3600 : now + 600,
            ["nbf"] = now - 60,
            ["iat"] = now - 60,
        };
        if (random.Next(3) == 0)
        {
            claims["address"] = random.Next(2) == 0 ? Pick(random, credentials.Addresses) : RandomText(random, 20);
        }

        if (random.Next(4) == 0)
        {
            claims["iss"] = RandomText(random, 40);
            claims["roles"] = new[] { "hokusai:admin" };
            claims["hokusai:owner"] = "alice";
        }

        var header = random.Next(8) == 0 ? """{"alg":"none","typ":"JWT"}""" : """{"alg":"HS256","typ":"JWT"}""";
        var payload = System.Text.Json.JsonSerializer.Serialize(claims);
        var unsigned = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(payload));
        var secret = random.Next(5) == 0 ? "a-different-secret-that-is-long-enough-000" : credentials.JwtSecret;
        var signature = B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(unsigned)));
        return random.Next(10) switch
        {
            0 => unsigned + ".",
            1 => unsigned,
            2 => unsigned + "." + signature + ".extra",
            3 => "%%%." + signature,
            _ => unsigned + "." + signature,
        };
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Escape(Random random, string value) => random.Next(3) switch
    {
        0 => Uri.EscapeDataString(value),
        1 => string.Concat(Encoding.UTF8.GetBytes(value).Select(b => "%" + b.ToString("X2", CultureInfo.InvariantCulture))),
        _ => string.Concat(value.Where(c => c is > ' ' and < '\u007f' and not ('#' or '?' or '/' or '\\' or '%'))),
    };

    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    private static byte[] Bytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
