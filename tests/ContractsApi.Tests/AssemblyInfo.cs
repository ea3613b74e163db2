// The host's runtime contract (signals, setpriv, dumb-init, /proc) is the Linux container's.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
