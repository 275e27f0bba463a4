#!/usr/bin/env bash
# Compares `kitovu sync` with rclone, smbget and smbclient on the same loopback Samba share
# (issue 7, measurement half) and writes one markdown table per scenario to OUT.md.
#
#   bench/compare.sh OUT.md
#
# Scenarios (trees are generated on the share from fixed seeds; content is random bytes):
#   a  A_FILES files of log-uniform size 1 KB..A_MAX_KB in nested folders, first sync
#   b  B_FILES files of 1-16 KB, first sync
#   c  no-change resync of b
#   d  resync of b after 1 % of its files were rewritten on the server (new mtime)
#   e  one file of E_MB MiB, first sync
# Environment: REPS (3), KITOVU_BENCH_QUICK=1 (small sizes), KITOVU_BENCH_A_FILES (2000),
# KITOVU_BENCH_A_MAX_KB (8192), KITOVU_BENCH_B_FILES (20000), KITOVU_BENCH_E_MB (1024),
# KITOVU_BENCH_SCENARIOS ("a b c d e"), KITOVU_BENCH_BUILD_DIR (build-bench).
# Tools alternate within each repetition (the starting tool rotates per repetition), so
# drift on the machine hits all of them alike.
set -euo pipefail
out_md=$(realpath -m "${1:?usage: bench/compare.sh OUT.md}")
cd "$(dirname "$0")/.."

# Debian packages this script needs beyond cmake/install-deps.sh.
packages=(rclone time samba smbclient procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

reps=${REPS:-3}
# One large transfer is the noisiest measurement on a VM (the host's disk and memory), so e
# runs more repetitions; it is short.
e_reps=${KITOVU_BENCH_E_REPS:-$((reps > 5 ? reps : 5))}
if [ "${KITOVU_BENCH_QUICK:-0}" = 1 ]; then
  a_files=200 a_max_kb=2048 b_files=2000 e_mb=100
else
  a_files=2000 a_max_kb=8192 b_files=20000 e_mb=1024
fi
a_files=${KITOVU_BENCH_A_FILES:-$a_files}
a_max_kb=${KITOVU_BENCH_A_MAX_KB:-$a_max_kb}
b_files=${KITOVU_BENCH_B_FILES:-$b_files}
e_mb=${KITOVU_BENCH_E_MB:-$e_mb}
scenarios=${KITOVU_BENCH_SCENARIOS:-a b c d e}
build=${KITOVU_BENCH_BUILD_DIR:-build-bench}
if [ ! -x "$build/examples/cli/kitovu" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target kitovu_cli >/dev/null
fi
kitovu=$(realpath "$build/examples/cli/kitovu")
user=kitovu-student
export KITOVU_PASSWORD_BENCH=secret

work=$(mktemp -d /var/tmp/kitovu-compare.XXXXXX)
trap 'tests/samba-server.sh stop "$work" || true; rm -rf "$work"' EXIT
share=$work/share
mkdir -p "$share"
started=$(date +%s)
log() { echo "[compare $(date -u +%H:%M:%S)] $*" >&2; }

# Dropping the page cache between runs makes every run read the server's files from disk.
if (sync && echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
  cache_note="The page cache was dropped (\`sync; echo 3 > /proc/sys/vm/drop_caches\`) before every timed run, so the server reads its files from disk each time."
  drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
else
  cache_note="The page cache could not be dropped here: the server's files are in the page cache for all tools alike."
  drop_caches() { sync; }
fi

# --- Trees (sizes from seeded generators; content from /dev/urandom) ----------------------
write_files() { # reads "PATH SIZE" lines, relative to $share
  local path size
  while read -r path size; do
    [ -d "$share/${path%/*}" ] || mkdir -p "$share/${path%/*}"
    head -c "$size" /dev/urandom > "$share/$path"
  done
}
gen_a() { awk -v n="$a_files" -v max="$((a_max_kb * 1024))" 'BEGIN { srand(42)
  lo = log(1024); hi = log(max)
  for (i = 1; i <= n; i++) printf "a/l%d/m%d/f%d.bin %d\n", i % 8, i % 5, i, int(exp(lo + rand() * (hi - lo))) }'; }
gen_b() { awk -v n="$b_files" 'BEGIN { srand(43)
  for (i = 1; i <= n; i++) printf "b/d%d/s%d/f%d.bin %d\n", i % 50, i % 4, i, 1024 + int(rand() * 15361) }'; }
# 1 % of b (at least one file), a different seeded choice per repetition.
changed_b() { gen_b | awk -v rep="$1" -v n="$b_files" 'BEGIN { srand(1000 + rep); k = int(n / 100); if (k < 1) k = 1
    while (c < k) { j = 1 + int(rand() * n); if (!(j in pick)) { pick[j] = 1; c++ } } }
  NR in pick'; }

needs() { [[ " $scenarios " == *" $1 "* ]]; }
if needs a; then log "generating a: $a_files files, 1 KB..$a_max_kb KB"; gen_a | write_files; fi
if needs b || needs c || needs d; then log "generating b: $b_files files, 1-16 KB"; gen_b | write_files; fi
if needs e; then log "generating e: one $e_mb MiB file"; mkdir -p "$share/e"; head -c "$((e_mb * 1048576))" /dev/urandom > "$share/e/big.bin"; fi
port=$(tests/samba-server.sh start "$work")
log "samba on port $port"
rclone_pass=$(rclone obscure secret)
export RCLONE_CONFIG=$work/rclone.conf
touch "$RCLONE_CONFIG"

# --- Tools ---------------------------------------------------------------------------------
tools=(kitovu-j1 kitovu-j4 rclone smbget smbclient)
declare -A label=(
  [kitovu-j1]='`kitovu sync --jobs 1`'
  [kitovu-j4]='`kitovu sync --jobs 4`'
  [rclone]='`rclone copy` (default: 4 transfers, 8 checkers)'
  [smbget]='`smbget -R`'
  [smbclient]="\`smbclient -c 'recurse; prompt; mget *'\` (limit)"
)
kitovu_config() { # JOBS-NAME REMOTE-DIR
  cat > "$work/$1.toml" <<TOML
root-dir = "$work/out/$1"
[[connections]]
name = "bench"
plugin = "smb"
hostname = "127.0.0.1"
port = $port
share = "skripte"
username = "$user"
[[subjects]]
name = "tree"
  [[subjects.sources]]
  connection = "bench"
  remote-dir = "$2"
TOML
}
clear_out() { rm -rf "$work/out/$1" "$work/$1.cache"; mkdir -p "$work/out/$1"; }
# Prints the command line for TOOL MODE REMOTE-DIR (MODE: first | resync).
command_for() {
  local tool=$1 mode=$2 dir=$3
  case $tool in
    kitovu-j1|kitovu-j4)
      kitovu_config "$tool" "$dir"
      cmd=("$kitovu" sync -q --jobs "${tool#kitovu-j}" --config "$work/$tool.toml" --cache "$work/$tool.cache") ;;
    rclone)
      cmd=(rclone copy ":smb:skripte/$dir" "$work/out/rclone" --smb-host 127.0.0.1 --smb-port "$port"
           --smb-user "$user" --smb-pass "$rclone_pass") ;;
    smbget)
      cmd=(smbget -q -n -R -U "$user%secret" "smb://127.0.0.1:$port/skripte/$dir")
      if [ "$mode" = resync ]; then cmd+=(-u); fi ;;
    smbclient)
      if [ "$mode" = resync ]; then
        cmd=(smbclient "//127.0.0.1/skripte" -p "$port" -U "$user%secret" -D "$dir" -c 'recurse; ls')
      else
        cmd=(smbclient "//127.0.0.1/skripte" -p "$port" -U "$user%secret" -D "$dir" -c 'recurse; prompt; mget *')
      fi ;;
  esac
}
# Runs TOOL MODE DIR untimed or timed (TIMED=1); appends "SECONDS KB" to $work/r.SCEN.TOOL.
run_tool() {
  local scen=$1 tool=$2 mode=$3 dir=$4 timed=$5 rc=0
  command_for "$tool" "$mode" "$dir"
  if [ "$timed" = 1 ]; then
    drop_caches
    (cd "$work/out/$tool" && /usr/bin/time -f '%e %M' -o "$work/time" "${cmd[@]}" >"$work/log.$tool" 2>&1) || rc=$?
    cat "$work/time" | tail -1 >> "$work/r.$scen.$tool"
  else
    (cd "$work/out/$tool" && "${cmd[@]}" >"$work/log.$tool" 2>&1) || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    log "$tool ($scen, $mode) exited with $rc: $(tail -3 "$work/log.$tool" | tr '\n' ' ')"
    echo "$tool exited with status $rc in scenario $scen" >> "$work/problems"
  fi
}
# The first-sync outputs must hold every file; the resync outputs must hold the server's bytes.
check_count() { # SCEN TOOL EXPECTED (file count and total bytes)
  local n bytes want; n=$(find "$work/out/$2" -type f -name '*.bin' | wc -l)
  bytes=$(find "$work/out/$2" -type f -name '*.bin' -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
  want=$(find "$share/$1" -type f -name '*.bin' -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
  [ "$bytes" = "$want" ] || { log "$2 ($1): $bytes of $want bytes"; echo "$2 got $bytes of $want bytes in scenario $1" >> "$work/problems"; }
  [ "$n" -eq "$3" ] || { log "$2 ($1): $n of $3 files"; echo "$2 got $n of $3 files in scenario $1" >> "$work/problems"; }
}
check_changed() { # TOOL REP
  local path size got
  while read -r path size; do
    got=$(find "$work/out/$1" -type f -path "*/${path#b/}" | head -1)
    if [ -z "$got" ] || ! cmp -s "$got" "$share/$path"; then
      echo "$1 did not fetch the rewritten ${path} in scenario d" >> "$work/problems"; return
    fi
  done < <(changed_b "$2" | head -5)
}
rotated() { local r=$1 i; for i in "${!tools[@]}"; do echo "${tools[$(((i + r) % ${#tools[@]}))]}"; done; }

first_sync() { # SCEN DIR EXPECTED-FILES REPETITIONS
  local rep tool
  for rep in $(seq "$4"); do
    for tool in $(rotated "$rep"); do
      clear_out "$tool"
      run_tool "$1" "$tool" first "$2" 1
      check_count "$1" "$tool" "$3"
    done
    log "$1: repetition $rep of $4 done"
  done
}
prepare_resync() { # DIR: a full, untimed sync into each tool's folder (smbclient lists only)
  local tool
  for tool in "${tools[@]}"; do
    [ "$tool" = smbclient ] && continue
    if [ ! -d "$work/out/$tool" ] || [ "$(find "$work/out/$tool" -type f -name '*.bin' | wc -l)" -ne "$b_files" ]; then
      clear_out "$tool"; run_tool prep "$tool" first "$1" 0
    fi
  done
  mkdir -p "$work/out/smbclient"
}

for scen in $scenarios; do
  case $scen in
    a) log "scenario a"; first_sync a a "$a_files" "$reps" ;;
    b) log "scenario b"; first_sync b b "$b_files" "$reps" ;;
    c) log "scenario c"; prepare_resync b
       for rep in $(seq "$reps"); do for tool in $(rotated "$rep"); do run_tool c "$tool" resync b 1; done; done ;;
    d) log "scenario d"; prepare_resync b
       for rep in $(seq "$reps"); do
         sleep 1  # the rewritten files get an mtime after every earlier download
         changed_b "$rep" | while read -r path size; do head -c "$size" /dev/urandom > "$share/$path"; done
         for tool in $(rotated "$rep"); do
           run_tool d "$tool" resync b 1
           [ "$tool" = smbclient ] || check_changed "$tool" "$rep"
         done
         log "d: repetition $rep of $reps done"
       done ;;
    e) log "scenario e"; first_sync e e 1 "$e_reps"; rm -rf "$work/out" ;;
  esac
done

# --- Tables ---------------------------------------------------------------------------------
stats() { # FILE -> "median min max maxmem_kb"
  sort -n "$1" | awk '{ t[NR] = $1; if ($2 > m) m = $2 } END {
    n = NR; med = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
    printf "%.2f %.2f %.2f %d\n", med, t[1], t[n], m }'
}
declare -A title=(
  [a]="a) first sync of $a_files files, log-uniform 1 KB–$((a_max_kb / 1024)) MB, nested folders ($(du -sm "$share/a" 2>/dev/null | cut -f1) MiB)"
  [b]="b) first sync of $b_files files of 1–16 KB"
  [c]="c) no-change resync of b ($b_files files)"
  [d]="d) resync of b after 1 % ($((b_files / 100 > 0 ? b_files / 100 : 1)) files) were rewritten on the server"
  [e]="e) first sync of one $e_mb MiB file"
)
{
  echo "Measured by \`bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
  echo "$(rclone version | head -1 | sed 's/^rclone //;s/^/rclone /'), $(smbclient --version), libsmbclient from the same Samba; kitovu Release build."
  echo "Server: \`tests/samba-server.sh\` on 127.0.0.1 (same machine, so client and server share the 2 cores)."
  echo "Every tool reads the same remote folder. Each repetition runs every tool once, in an order that rotates per"
  echo "repetition; $reps repetitions ($e_reps for e, one large transfer, the noisiest here). Wall time: median and spread (min–max); memory: peak resident set (\`/usr/bin/time -f '%e %M'\`) over the repetitions."
  echo "Before a first sync each tool's folder is emptied; resyncs start from a full, untimed sync. $cache_note"
  echo "rclone 1.60 defaults to 4 transfers (and 8 checkers), so its default run is also its \`--transfers 4\` run."
  echo "For resyncs the limit row is \`smbclient -c 'recurse; ls'\` (listing the tree, no transfer)."
  if [ "${KITOVU_BENCH_QUICK:-0}" = 1 ] || [ "$a_files" != 2000 ] || [ "$a_max_kb" != 8192 ] || [ "$b_files" != 20000 ] || [ "$e_mb" != 1024 ] || [ "$reps" != 3 ] || [ "$e_reps" != 5 ] || [ "$scenarios" != "a b c d e" ]; then
    echo
    echo "**Reduced run** (the full run is 2000 files up to 8192 KB in a, 20000 files in b–d, 1024 MiB in e, 3 repetitions (5 for e), scenarios a b c d e; it did not fit the time available). This run: $a_files files up to $a_max_kb KB in a, $b_files files in b–d, $e_mb MiB in e, $reps repetitions ($e_reps for e), scenarios: $scenarios."
  fi
  for scen in $scenarios; do
    echo
    echo "### ${title[$scen]}"
    echo
    echo "| tool | median wall | spread (min–max) | peak memory |"
    echo "|---|---|---|---|"
    declare -A med=()
    for tool in "${tools[@]}"; do
      read -r m lo hi kb < <(stats "$work/r.$scen.$tool")
      med[$tool]=$m
      name=${label[$tool]}
      if [ "$tool" = smbget ] && [[ $scen == [cd] ]]; then name='`smbget -R -u`'; fi
      if [ "$tool" = smbclient ] && [[ $scen == [cd] ]]; then name="\`smbclient -c 'recurse; ls'\` (limit)"; fi
      printf '| %s | %s s | %s–%s s | %.1f MB |\n' "$name" "$m" "$lo" "$hi" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
    done
    awk -v scen="$scen" -v k="${med[kitovu-j4]}" -v r="${med[rclone]}" -v s="${med[smbget]}" -v l="${med[smbclient]}" '
      function verdict(ratio, limit) { return ratio <= limit ? "met" : "**missed**" }
      BEGIN {
      best = (r < s) ? r : s; who = (r < s) ? "rclone" : "smbget"
      vs_best = best > 0 ? k / best : 0; vs_limit = l > 0 ? k / l : 0; vs_rclone = r > 0 ? k / r : 0
      printf "\nkitovu --jobs 4 / fastest of rclone and smbget (%s, %.2f s): **%.2f×**; kitovu --jobs 4 / smbclient limit: **%.2f×**.\n", who, best, vs_best, vs_limit
      # The targets of issue 7, judged on these medians.
      if (scen == "a" || scen == "b") printf "Target at most 0.9 × the fastest of rclone and smbget: %s.\n", verdict(vs_best, 0.9)
      if (scen == "e") printf "Targets at most 0.9 × the fastest of rclone and smbget: %s; at most 1.2 × the smbclient limit: %s.\n", verdict(vs_best, 0.9), verdict(vs_limit, 1.2)
      if (scen == "c") printf "Targets at most 0.5 × rclone (%.2f×): %s; at most 1.5 × the bare listing: %s.\n", vs_rclone, verdict(vs_rclone, 0.5), verdict(vs_limit, 1.5)
      if (scen == "d") printf "Target at most 0.5 × rclone (%.2f×): %s.\n", vs_rclone, verdict(vs_rclone, 0.5) }'
  done
  if [ -s "$work/problems" ]; then
    echo
    echo "Problems seen during the run:"
    sort "$work/problems" | uniq -c | sed 's/^ *\([0-9]*\) /- (×\1) /'
  fi
  echo
  echo "The whole comparison took $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s including generating the trees."
} > "$out_md"
cat "$out_md"
