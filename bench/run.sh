#!/usr/bin/env bash
# Runs kitovu's benchmarks in a Release build and writes docs/benchmarks.md from what they
# measure (never typed in). Usage: bench/run.sh [FILES]   (default 100000 for the engine)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake/install-deps.sh
build=${KITOVU_BENCH_BUILD_DIR:-build-bench}
files=${1:-100000}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target config_bench engine_bench kitovu_cli >/dev/null

config=$("$build/bench/config_bench")
# How time and memory grow with the number of files: 2,000, 20,000 and FILES.
engine=$(for n in 2000 20000 "$files"; do "$build/bench/engine_bench" "$n"; done)
echo "$config"
echo "$engine"


# kitovu against rclone, smbget and smbclient on the same share (issue 7); REPS and
# KITOVU_BENCH_QUICK etc. pass through, see bench/compare.sh.
compare_md=$(mktemp)
trap 'rm -f "$compare_md"' EXIT
bench/compare.sh "$compare_md"

{
  echo "# Benchmarks"
  echo
  echo "Measured by \`bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Release build."
  echo "Wall time is the median of several runs; memory is the peak resident set of the process doing the work."
  echo
  echo "## Config loading"
  echo
  echo "Target: a config with 200 connections and 2,000 subjects loads in well under 50 ms."
  echo
  echo '```'
  echo "$config"
  echo '```'
  echo
  echo "## Engine and file cache (local plugin)"
  echo
  echo "Targets at 100,000 files: cache load + save under 0.3 s, peak memory under 100 MB. The rows for"
  echo "2,000, 20,000 and $files files show how time and memory grow with the tree."
  echo
  echo "| what | wall time | peak memory |"
  echo "|---|---|---|"
  echo "$engine"
  echo
  echo "## Against rclone and smbget on the same Samba share"
  echo
  echo "Issue 7. How kitovu gets its speed from libsmbclient, which allows one call at a time per"
  echo "process (Debian's 4.17 build; smbc_thread_posix is not exported):"
  echo
  echo "- Downloads run in one process per worker (\`--jobs\`, default 4), forked by the smb plugin, each"
  echo "  with its own SMB connection; blocks pass to the worker through a shared mapping, not a copy."
  echo "- A small file costs three round trips: open, one read of exactly its listed size, close (no"
  echo "  fstat, no read just to see the end)."
  echo "- Once a tree fans out, folders are listed by three listing processes in parallel."
  echo "- While the remote is listed, a thread reads the local metadata ahead; a run that changed"
  echo "  nothing does not rewrite the file cache."
  echo
  echo "Where the time goes (perf, 20,000-file no-change resync): about a third of all CPU is"
  echo "libsmbclient re-reading its settings for every path it is given (\`SMBC_parse_path\` and"
  echo "\`SMBC_server\` both call \`smbc_set_credentials_with_fallback\`, which looks up parameters by a"
  echo "linear, case-insensitive scan: \`lpcfg_map_parameter\`/\`strwicmp\`), once per folder listed and"
  echo "once per file opened. kitovu cannot avoid it through libsmbclient's API; parallel processes"
  echo "spread it over the cores. With the page cache dropped, a no-change resync of 20,000 files"
  echo "spent about 80 ms starting the process (loading ~130 shared libraries from disk, as smbclient"
  echo "and rclone do too), 270 ms listing (bounded by the server reading its folders from disk:"
  echo "six listing processes were no faster than three) and 70–130 ms deciding per file (the"
  echo "\`lstat\` of each local copy, path handling, cache lookups)."
  echo
  echo "Targets (c) and (d), at most 0.5 × rclone, were missed in every full run on this machine"
  echo "(on 2026-11-24: 0.60× and 0.52×). With the server on the same 2 cores and its page cache"
  echo "dropped, rclone's no-change run takes only about 2.1 × the bare \`smbclient -c 'recurse; ls'\`, so"
  echo "0.5 × rclone asks kitovu to start, list and decide in less time than smbclient takes to start and"
  echo "list. kitovu's listing alone is faster than smbclient's (parallel), but deciding 20,000 files"
  echo "after the listing and starting the process come on top; overlapping the decisions with the"
  echo "listing would need a streaming \`list()\` in the plugin API."
  echo
  cat "$compare_md"
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md"
