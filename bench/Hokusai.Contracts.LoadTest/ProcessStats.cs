using System.Diagnostics;
using System.Globalization;

/// <summary>What a process has used so far, from <c>/proc</c>: the benchmarks share two cores with what they measure.</summary>
internal static class ProcessStats
{
    /// <summary>User plus system CPU time of <paramref name="pid"/> in milliseconds.</summary>
    public static double CpuMilliseconds(int pid)
    {
        // utime + stime (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name), in clock ticks of 10 ms.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
    }

    /// <summary>CPU time of this (the load-generating) process in milliseconds.</summary>
    public static double OwnCpuMilliseconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    /// <summary>Resident set size of <paramref name="pid"/> in bytes (0 when it cannot be read).</summary>
    public static long RssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
