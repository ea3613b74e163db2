#!/usr/bin/env bash
# Assembles a minimal base image from this machine's own files, standing in for
# mcr.microsoft.com/dotnet/aspnet:10.0-alpine + `apk add dumb-init` + `adduser appuser` where no
# registry can be reached: the .NET and ASP.NET Core runtimes, their shared libraries, dumb-init,
# busybox (sh, wget, id) and the appuser account (uid 10001).
#   make-local-base.sh IMAGE_NAME
set -euo pipefail
image="${1:?usage: make-local-base.sh IMAGE_NAME}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
mkdir -p "$root/usr/share/dotnet/shared" "$root/usr/bin" "$root/bin" "$root/etc" "$root/tmp" "$root/app"
chmod 1777 "$root/tmp"
cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$root/usr/share/dotnet/"
for fw in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
  # The newest installed runtime of each framework (what a framework-dependent app rolls forward to).
  version="$(find "$dotnet_root/shared/$fw" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)"
  mkdir -p "$root/usr/share/dotnet/shared/$fw"
  cp -a "$dotnet_root/shared/$fw/$version" "$root/usr/share/dotnet/shared/$fw/"
done
ln -s /usr/share/dotnet/dotnet "$root/usr/bin/dotnet"
cp "$(command -v dumb-init)" "$root/usr/bin/dumb-init"
cp /bin/busybox "$root/bin/busybox"
for applet in sh wget id ls cat ps; do ln -s /bin/busybox "$root/bin/$applet"; done
ln -s /bin/wget "$root/usr/bin/wget"

# Shared libraries of every binary and native runtime library, plus OpenSSL, which .NET loads lazily.
{
  find "$root/usr/share/dotnet" -type f \( -name '*.so' -o -name dotnet \)
  echo "$root/usr/bin/dumb-init"
  ls /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3 2>/dev/null || true
} | while read -r bin; do
  echo "$bin"
  ldd "$bin" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'
done | sort -u | while read -r lib; do
  case "$lib" in
    "$root"/*) ;;
    /*) mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib" ;;
  esac
done
mkdir -p "$root/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
appuser:x:10001:10001:appuser:/nonexistent:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
appuser:x:10001:
nogroup:x:65534:
GROUP

tar -C "$root" -c . | podman import --change 'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true' - "$image" >/dev/null
echo "$image"
