#!/usr/bin/env bash
# The webdav plugin's listing over a slow link: 1,000 files in 20 folders on Apache mod_dav
# (tests/webdav/serve.sh), reached through bench/delay_proxy at DELAY ms each way (default 10:
# a 20 ms round trip), listed by the plugin (several folders at once) and folder by folder on
# one connection. Needs a build with the bench targets: bench/webdav.sh BUILD_DIR [DELAY_MS]
set -euo pipefail
build=${1:?usage: bench/webdav.sh BUILD_DIR [DELAY_MS]} delay=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/kitovu-webdav-bench-XXXXXX)
chmod 755 "$work"
pids=()
trap 'for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
for f in $(seq -w 1 20); do
  mkdir -p "$work/root/course/folder $f"
  for n in $(seq -w 1 50); do echo "file $n" > "$work/root/course/folder $f/Blatt $n.pdf"; done
done
chmod -R a+rX "$work/root"
setsid "$here/tests/webdav/serve.sh" apache "$work/root" "$work/state" bench bench-pass \
  > "$work/server.log" 2>&1 &
pids+=($!)
while [ ! -f "$work/state/port" ]; do sleep 0.1; done
"$build/bench/delay_proxy" 0 "$(cat "$work/state/port")" "$delay" "$work/counts" > "$work/proxy.port" &
pids+=($!)
while [ ! -s "$work/proxy.port" ]; do sleep 0.1; done
"$build/bench/webdav_bench" "http://127.0.0.1:$(head -1 "$work/proxy.port")/" bench bench-pass course "${ROUNDS:-5}"
