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
kitovu=$(realpath "$build/examples/cli/kitovu")

config=$("$build/bench/config_bench")
engine=$("$build/bench/engine_bench" "$files")
echo "$config"
echo "$engine"

# kitovu against the project's loopback Samba server: 2,000 files of 1-16 KB (fixed seed).
samba=$(mktemp -d /tmp/kitovu-bench.XXXXXX)
trap 'tests/samba-server.sh stop "$samba"; rm -rf "$samba"' EXIT
RANDOM=42
for i in $(seq 2000); do
  dir=$samba/share/tree/d$((i % 20))
  [ -d "$dir" ] || mkdir -p "$dir"
  head -c $((1024 + RANDOM % 15360)) /dev/zero > "$dir/f$i.bin"
done
port=$(tests/samba-server.sh start "$samba")
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { print e - s }'; }
smb_rows=""
for jobs in 1 4; do
  cat > "$samba/kitovu.toml" <<TOML
root-dir = "$samba/out"
[[connections]]
name = "bench"
plugin = "smb"
hostname = "127.0.0.1"
port = $port
share = "skripte"
username = "kitovu-student"
[[subjects]]
name = "tree"
  [[subjects.sources]]
  connection = "bench"
  remote-dir = "tree"
TOML
  first=() again=()
  for run in 1 2 3; do
    rm -rf "$samba/out" "$samba/cache"
    first+=("$(KITOVU_PASSWORD_BENCH=secret seconds "$kitovu" sync -q --jobs "$jobs" --config "$samba/kitovu.toml" --cache "$samba/cache")")
    again+=("$(KITOVU_PASSWORD_BENCH=secret seconds "$kitovu" sync -q --jobs "$jobs" --config "$samba/kitovu.toml" --cache "$samba/cache")")
  done
  smb_rows+="| kitovu sync --jobs $jobs: first sync of 2000 files (1-16 KB) | $(printf '%s\n' "${first[@]}" | median | xargs printf '%.2f') s |"$'\n'
  smb_rows+="| kitovu sync --jobs $jobs: no-change resync of the same | $(printf '%s\n' "${again[@]}" | median | xargs printf '%.2f') s |"$'\n'
done
echo "$smb_rows"

# kitovu against rclone, smbget and smbclient on the same share (issue 7); REPS and
# KITOVU_BENCH_QUICK etc. pass through, see bench/compare.sh.
compare_md=$samba/compare.md
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
  echo "Targets at 100,000 files: cache load + save under 0.3 s, peak memory under 100 MB."
  echo
  echo "| what | wall time | peak memory |"
  echo "|---|---|---|"
  echo "$engine"
  echo
  echo "## kitovu against the loopback Samba server"
  echo
  echo "tests/samba-server.sh serves the tree; median of 3 runs."
  echo
  echo "| what | wall time |"
  echo "|---|---|"
  printf '%s' "$smb_rows"
  echo
  echo "## Against rclone and smbget on the same Samba share"
  echo
  echo "Issue 7. Known limit: libsmbclient is not thread-safe in Debian's 4.17"
  echo "build (smbc_thread_posix is not exported), so the smb plugin serialises its calls into the"
  echo "library behind one lock; parallel workers overlap only their local disk writes."
  echo
  cat "$compare_md"
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md"
