using System.Reflection;
using System.Runtime.Loader;
using Hokusai.Contracts;
using Hokusai.Contracts.Backends;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

[assembly: HostingStartup(typeof(Hokusai.Contracts.LocalLookup.LocalLookupStartup))]

namespace Hokusai.Contracts.LocalLookup
{
    /// <summary>
    /// Registers a registry lookup that answers "no token" without a chain call, before the library's TryAdd
    /// default, so a load run can tell how much of a POST's cost is the per-request <c>eth_call</c>. A
    /// measurement aid for bench/ only: a real deployment must ask the chain (or a mirror of it).
    /// </summary>
    public sealed class LocalLookupStartup : IHostingStartup
    {
        public void Configure(IWebHostBuilder builder) =>
            builder.ConfigureServices(services =>
            {
                services.AddSingleton<IModelTokenLookup, NoTokenLookup>();
                Console.Error.WriteLine("measurement: registry lookup answered locally");
            });

        private sealed class NoTokenLookup : IModelTokenLookup
        {
            public Task<string?> GetRegisteredTokenAsync(string modelId, CancellationToken cancellationToken) =>
                Task.FromResult<string?>(null);
        }
    }
}

/// <summary>
/// Loaded by path through <c>DOTNET_STARTUP_HOOKS</c>: makes this assembly resolvable by name, so
/// <c>ASPNETCORE_HOSTINGSTARTUPASSEMBLIES</c> can name it although the host's dependency file does not.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        var self = typeof(StartupHook).Assembly;
        AssemblyLoadContext.Default.Resolving += (_, name) =>
            name.Name == self.GetName().Name ? self : null;
    }
}
