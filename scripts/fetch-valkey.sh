#!/usr/bin/env bash
# Valkey ≥ 8.1 (valkey-server; valkey-tools holds the binary it links to), whose `SET … IFEQ` lets a lease-checked write be one plain command (no Lua), for
# the tests (the `valkey` topology, test/helpers/topologies.ts) and `npm run bench`. Debian 12's
# apt has Redis 7.0 only; this takes Debian 13's valkey-server package and, since it needs a newer
# C library than Debian 12's, Debian 13's libc6 beside it, used by this binary alone through its
# own loader (nothing is installed on the system). Both come from deb.debian.org through apt.
#
# Prints the wrapper's path (.cache/valkey/bin/valkey-server, or $VALKEY_DIR/bin/valkey-server).
# Already there and working: prints it and downloads nothing. x86_64 only.
set -euo pipefail
dest="${VALKEY_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.cache/valkey}"
wrapper="$dest/bin/valkey-server"
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi
[ "$(uname -m)" = x86_64 ] || { echo "fetch-valkey: x86_64 only (this is $(uname -m))" >&2; exit 1; }
# Only what this script makes there is removed: VALKEY_DIR may name a folder with other things in it.
rm -rf "$dest/apt" "$dest/debs" "$dest/valkey" "$dest/libc" "$dest/bin"
mkdir -p "$dest/apt/lists/partial" "$dest/apt/cache/archives/partial" "$dest/debs" "$dest/bin"
cat >"$dest/apt/trixie.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_opts=(
  -o "Dir::Etc::sourcelist=$dest/apt/trixie.sources" -o "Dir::Etc::sourceparts=$dest/apt/none"
  -o "Dir::State::Lists=$dest/apt/lists" -o "Dir::Cache=$dest/apt/cache" -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" update -qq
(cd "$dest/debs" && apt-get "${apt_opts[@]}" download -qq valkey-server valkey-tools libc6)
for deb in "$dest"/debs/valkey-*.deb; do dpkg-deb -x "$deb" "$dest/valkey"; done
for deb in "$dest"/debs/libc6_*.deb; do dpkg-deb -x "$deb" "$dest/libc"; done
rm -rf "$dest/apt" "$dest/debs"
# The loader and C library of Debian 13 first, then this machine's libraries for the rest
# (jemalloc, lzf, OpenSSL 3, systemd), which Debian 12 has in versions the binary accepts.
cat >"$wrapper" <<'WRAPPER'
#!/bin/sh
root="$(cd "$(dirname "$0")/.." && pwd)"
libc="$root/libc/usr/lib/x86_64-linux-gnu"
exec "$libc/ld-linux-x86-64.so.2" --library-path "$libc:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "$root/valkey/usr/bin/valkey-server" "$@"
WRAPPER
chmod 755 "$wrapper"
version="$("$wrapper" --version)"
case "$version" in
  *"v=8.1"* | *"v=8.2"* | *"v=8.3"* | *"v=9."*) ;;
  *) echo "fetch-valkey: expected Valkey 8.1 or later, got: $version" >&2; exit 1 ;;
esac
echo "$wrapper"
