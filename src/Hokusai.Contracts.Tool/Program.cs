using Hokusai.Contracts.Tool;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C cancels the command (transactions already sent stay sent); a second one kills.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};

return await ContractsTool.RunAsync(args, ContractsTool.ProcessEnvironment(), Console.Out, Console.Error, cancellation.Token);
