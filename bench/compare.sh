#!/usr/bin/env bash
# Compares `kitovu sync` with rclone, smbget and smbclient on the same loopback Samba share
# and writes one markdown table per scenario to OUT.md.
#
#   bench/compare.sh [--wan] [--memory] OUT.md
#
# Scenarios (trees are generated on the share from fixed seeds; content is random bytes):
#   a  A_FILES files of log-uniform size 1 KB..A_MAX_KB in nested folders, first sync
#   b  B_FILES files of 1-16 KB, first sync
#   c  no-change resync of b
#   d  resync of b after 1 % of its files were rewritten on the server (new mtime)
#   e  one file of E_MB MiB, first sync
# Over a slow link, only with --wan (never in CI: each run takes minutes): the share is reached
# through bench/delay_proxy, which delays every chunk by DELAY ms in each direction (a round
# trip of 2 DELAY, like a VPN from home). Tree: W_FILES files of 1-64 KB in 85 folders three
# levels deep. Tools: kitovu (its default --jobs), rclone copy (defaults, and 16 checkers and
# transfers), smbget -R (first sync only: its resync stats every file).
#   w1  first sync at 10 ms each way      w2  no-change resync at 10 ms
#   w3  resync after 1 % changed, 10 ms   w4  no-change resync at 25 ms
# Each link table has the computed limit beside it and the round trips the proxy counted.
# --memory: scenario m, the peak memory of all kitovu processes together (sum of their
# proportional set sizes, sampled every 0.1 s) during a first sync of b (B_FILES files).
# Environment: REPS (3), KITOVU_BENCH_QUICK=1 (small sizes), KITOVU_BENCH_A_FILES (2000),
# KITOVU_BENCH_A_MAX_KB (8192), KITOVU_BENCH_B_FILES (20000), KITOVU_BENCH_E_MB (1024),
# KITOVU_BENCH_W_FILES (1000), KITOVU_BENCH_SCENARIOS ("a b c d e"; with --wan "w1 w2 w3 w4",
# with --memory also "m"), KITOVU_BENCH_BUILD_DIR (build-bench), KITOVU_BENCH_BASELINE (a git
# revision: its kitovu, built here, is timed beside this build's in every scenario but m, so a
# slower machine, which moves every tool, is told apart from a slower kitovu).
# Tools alternate within each repetition (the starting tool rotates per repetition), so
# drift on the machine hits all of them alike.
set -euo pipefail
wan=0 memory=0
while [[ ${1:-} == --* ]]; do
  case $1 in
    --wan) wan=1 ;;
    --memory) memory=1 ;;
    *) echo "bench/compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
out_md=$(realpath -m "${1:?usage: bench/compare.sh [--wan] [--memory] OUT.md}")
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
w_files=${KITOVU_BENCH_W_FILES:-1000}
default_scenarios="a b c d e"
if ((wan || memory)); then default_scenarios=; fi
if ((wan)); then default_scenarios="w1 w2 w3 w4"; fi
if ((memory)); then default_scenarios+=" m"; fi
scenarios=${KITOVU_BENCH_SCENARIOS:-$default_scenarios}
build=${KITOVU_BENCH_BUILD_DIR:-build-bench}
if [ ! -x "$build/examples/cli/kitovu" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# Built every time: a changed kitovu is what gets measured.
targets=(kitovu_cli); if ((wan)); then targets+=(delay_proxy); fi
cmake --build "$build" -j2 --target "${targets[@]}" >/dev/null
kitovu=$(realpath "$build/examples/cli/kitovu")
user=kitovu-student
export KITOVU_PASSWORD_BENCH=secret

work=$(mktemp -d /var/tmp/kitovu-compare.XXXXXX)
proxy_pid=
trap '[ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null; tests/samba-server.sh stop "$work" || true; rm -rf "$work"' EXIT
base_kitovu=
if [ -n "${KITOVU_BENCH_BASELINE:-}" ]; then
  base_label="$(git log -1 --format='%h of %cs' "$KITOVU_BENCH_BASELINE")"
  # Its sources and build are kept in the build folder for the next run (--wan after the rest).
  base_dir=$(realpath -m "$build/baseline-$(git rev-parse --short "$KITOVU_BENCH_BASELINE")")
  if [ ! -d "$base_dir/src" ]; then
    mkdir -p "$base_dir/src"
    git archive "$KITOVU_BENCH_BASELINE" | tar -x -C "$base_dir/src"
  fi
  base_kitovu=$base_dir/build/examples/cli/kitovu
  cmake -S "$base_dir/src" -B "$base_dir/build" -DCMAKE_BUILD_TYPE=Release -DKITOVU_BUILD_TESTS=OFF >/dev/null
  cmake --build "$base_dir/build" -j2 --target kitovu_cli >/dev/null
fi
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

# w: 85 folders three levels deep (1 + 4 + 16 + 64), the files in the 64 deepest, 1-64 KB.
gen_w() { awk -v n="$w_files" 'BEGIN { srand(44)
  for (i = 1; i <= n; i++) { k = i % 64
    printf "w/l%d/m%d/n%d/f%d.bin %d\n", int(k / 16), int(k / 4) % 4, k % 4, i, 1024 + int(rand() * 64513) } }'; }
changed_w() { gen_w | awk -v rep="$1" -v n="$w_files" 'BEGIN { srand(2000 + rep); k = int(n / 100); if (k < 1) k = 1
    while (c < k) { j = 1 + int(rand() * n); if (!(j in pick)) { pick[j] = 1; c++ } } }
  NR in pick'; }

needs() { [[ " $scenarios " == *" $1 "* ]]; }
if needs a; then log "generating a: $a_files files, 1 KB..$a_max_kb KB"; gen_a | write_files; fi
if needs b || needs c || needs d || needs m; then log "generating b: $b_files files, 1-16 KB"; gen_b | write_files; fi
if needs w1 || needs w2 || needs w3 || needs w4; then log "generating w: $w_files files, 1-64 KB, 85 folders"; gen_w | write_files; fi
if needs e; then log "generating e: one $e_mb MiB file"; mkdir -p "$share/e"; head -c "$((e_mb * 1048576))" /dev/urandom > "$share/e/big.bin"; fi
port=$(tests/samba-server.sh start "$work")
log "samba on port $port"
server_port=$port # where the tools connect: the server, or the delaying proxy in front of it
rclone_pass=$(rclone obscure secret)
export RCLONE_CONFIG=$work/rclone.conf
touch "$RCLONE_CONFIG"

# --- Tools ---------------------------------------------------------------------------------
tools=(kitovu-j1 kitovu-j4 rclone smbget smbclient)
((wan || memory)) && tools=(kitovu rclone rclone16 smbget)
base=() # the baseline build, where there is one
[ -z "$base_kitovu" ] || base=(kitovu-base)
declare -A label=(
  [kitovu]='`kitovu sync` (default --jobs)'
  [rclone16]='`rclone copy --checkers 16 --transfers 16`'
  [kitovu-j1]='`kitovu sync --jobs 1`'
  [kitovu-j4]='`kitovu sync --jobs 4`'
  [kitovu-base]="\`kitovu sync --jobs 4\` built from ${base_label:-}"
  [rclone]='`rclone copy` (default: 4 transfers, 8 checkers)'
  [smbget]='`smbget -R`'
  [smbclient]="\`smbclient -c 'recurse; prompt; mget *'\` (limit)"
)
((wan || memory)) && label[kitovu-base]="\`kitovu sync\` (default --jobs) built from ${base_label:-}"
kitovu_config() { # JOBS-NAME REMOTE-DIR
  cat > "$work/$1.toml" <<TOML
root-dir = "$work/out/$1"
[[connections]]
name = "bench"
plugin = "smb"
hostname = "127.0.0.1"
port = $server_port
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
    kitovu|kitovu-j1|kitovu-j4)
      kitovu_config "$tool" "$dir"
      cmd=("$kitovu" sync -q --config "$work/$tool.toml" --cache "$work/$tool.cache")
      if [ "$tool" != kitovu ]; then cmd+=(--jobs "${tool#kitovu-j}"); fi ;;
    kitovu-base)
      kitovu_config "$tool" "$dir"
      cmd=("$base_kitovu" sync -q --config "$work/$tool.toml" --cache "$work/$tool.cache")
      if ! ((wan || memory)); then cmd+=(--jobs 4); fi ;;
    rclone|rclone16)
      cmd=(rclone copy ":smb:skripte/$dir" "$work/out/$tool" --smb-host 127.0.0.1 --smb-port "$server_port"
           --smb-user "$user" --smb-pass "$rclone_pass")
      if [ "$tool" = rclone16 ]; then cmd+=(--checkers 16 --transfers 16); fi ;;
    smbget)
      cmd=(smbget -q -n -R -U "$user%secret" "smb://127.0.0.1:$server_port/skripte/$dir")
      if [ "$mode" = resync ]; then cmd+=(-u); fi ;;
    smbclient)
      if [ "$mode" = resync ]; then
        cmd=(smbclient "//127.0.0.1/skripte" -p "$server_port" -U "$user%secret" -D "$dir" -c 'recurse; ls')
      else
        cmd=(smbclient "//127.0.0.1/skripte" -p "$server_port" -U "$user%secret" -D "$dir" -c 'recurse; prompt; mget *')
      fi ;;
  esac
}
# Runs TOOL MODE DIR untimed or timed (TIMED=1); appends "SECONDS KB" to $work/r.SCEN.TOOL.
run_tool() {
  local scen=$1 tool=$2 mode=$3 dir=$4 timed=$5 rc=0
  command_for "$tool" "$mode" "$dir"
  if [ "$timed" = 1 ]; then
    drop_caches
    proxy_counts >/dev/null # from here on, this run's
    [ -z "$proxy_pid" ] || : > "$work/trace"
    (cd "$work/out/$tool" && /usr/bin/time -f '%e %M' -o "$work/time" "${cmd[@]}" >"$work/log.$tool" 2>&1) || rc=$?
    cat "$work/time" | tail -1 >> "$work/r.$scen.$tool"
    proxy_counts >> "$work/n.$scen.$tool"
    [ -z "$proxy_pid" ] || trace_summary >> "$work/k.$scen.$tool"
  else
    (cd "$work/out/$tool" && "${cmd[@]}" >"$work/log.$tool" 2>&1) || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    log "$tool ($scen, $mode) exited with $rc: $(tail -3 "$work/log.$tool" | tr '\n' ' ')"
    echo "$tool exited with status $rc in scenario $scen" >> "$work/problems"
  fi
}
# The first-sync outputs must hold every file; the resync outputs must hold the server's bytes.
check_count() { # TREE TOOL EXPECTED (file count and total bytes)
  local n bytes want; n=$(find "$work/out/$2" -type f -name '*.bin' | wc -l)
  bytes=$(find "$work/out/$2" -type f -name '*.bin' -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
  want=$(find "$share/$1" -type f -name '*.bin' -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
  [ "$bytes" = "$want" ] || { log "$2 ($1): $bytes of $want bytes"; echo "$2 got $bytes of $want bytes in scenario $1" >> "$work/problems"; }
  [ "$n" -eq "$3" ] || { log "$2 ($1): $n of $3 files"; echo "$2 got $n of $3 files in scenario $1" >> "$work/problems"; }
}
check_changed() { # TOOL REP [TREE]
  local path size got tree=${3:-b}
  while read -r path size; do
    got=$(find "$work/out/$1" -type f -path "*/${path#"$tree"/}" | head -1)
    if [ -z "$got" ] || ! cmp -s "$got" "$share/$path"; then
      echo "$1 did not fetch the rewritten ${path} in scenario ${4:-d}" >> "$work/problems"; return
    fi
  done < <("changed_$tree" "$2" | head -5)
}
active=("${tools[@]}" "${base[@]}") # the tools of the scenario at hand
rotated() { local r=$1 i; for i in "${!active[@]}"; do echo "${active[$(((i + r) % ${#active[@]}))]}"; done; }

# --- The link: bench/delay_proxy in front of the server ---------------------------------------
start_proxy() { # DELAY-MS each way
  stop_proxy
  : > "$work/counts"; rm -f "$work/proxy.port"
  : > "$work/trace"
  DELAY_PROXY_TRACE=$work/trace "$build/bench/delay_proxy" 0 "$port" "$1" "$work/counts" > "$work/proxy.port" &
  proxy_pid=$!
  until [ -s "$work/proxy.port" ]; do sleep 0.05; done
  server_port=$(cat "$work/proxy.port")
  delay=$1
  log "proxy on port $server_port, $1 ms each way"
}
stop_proxy() {
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true; fi
  proxy_pid= server_port=$port
}
# "connections requests answers round-trips" the proxy forwarded since the last call (its
# turns: client chunks sent after the server had spoken); nothing without a proxy.
proxy_counts() {
  [ -n "$proxy_pid" ] || return 0
  local before; before=$(wc -l < "$work/counts")
  kill -USR1 "$proxy_pid"
  while [ "$(wc -l < "$work/counts")" -eq "$before" ]; do sleep 0.01; done
  tail -1 "$work/counts"
}
# One line for the run just traced: the most round trips any one connection waited (the
# shortest chain of them the run could have), then its round trips by the SMB2 request that began
# them. A trace line: MS CONNECTION turn|more COMMAND...
trace_summary() {
  local longest
  longest=$(awk '$3 == "turn" { per[$2]++ } END { m = 0; for (c in per) if (per[c] > m) m = per[c]; print m }' "$work/trace")
  echo "$longest $(awk '$3 == "turn" { by[$4]++ } END { for (r in by) print by[r], r }' "$work/trace" |
    sort -rn | awk '{ printf "%s%s=%d", (NR > 1 ? " " : ""), $2, $1 }')"
}
# Peak memory of a kitovu run and the processes it started, all together: the sum of their
# proportional set sizes (shared pages split between the processes sharing them), sampled.
run_sampled() { # SCEN: runs "${cmd[@]}"; appends "SECONDS PEAK_PSS_KB PEAK_RSS_KB" to $work/m.SCEN
  local start pid peak_pss=0 peak_rss=0 pss rss
  start=$(date +%s.%N)
  (cd "$work/out/kitovu" && exec "${cmd[@]}" >"$work/log.kitovu" 2>&1) &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    read -r pss rss < <(for p in $pid $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
      cat /proc/"$p"/smaps_rollup 2>/dev/null; done | awk '/^Pss:/ { p += $2 } /^Rss:/ { r += $2 } END { print p + 0, r + 0 }')
    ((pss > peak_pss)) && peak_pss=$pss
    ((rss > peak_rss)) && peak_rss=$rss
    sleep 0.1
  done
  wait "$pid" || echo "kitovu exited with status $? in scenario $1" >> "$work/problems"
  echo "$(echo "$(date +%s.%N) - $start" | bc) $peak_pss $peak_rss" >> "$work/m.$1"
}

first_sync() { # SCEN DIR EXPECTED-FILES REPETITIONS
  local rep tool
  for rep in $(seq "$4"); do
    for tool in $(rotated "$rep"); do
      clear_out "$tool"
      run_tool "$1" "$tool" first "$2" 1
      check_count "$2" "$tool" "$3"
    done
    log "$1: repetition $rep of $4 done"
  done
}
prepare_resync() { # DIR [FILES]: a full, untimed sync into each tool's folder (smbclient lists only)
  local tool
  for tool in "${active[@]}"; do
    [ "$tool" = smbclient ] && continue
    if [ ! -d "$work/out/$tool" ] || [ "$(find "$work/out/$tool" -type f -name '*.bin' | wc -l)" -ne "${2:-$b_files}" ]; then
      clear_out "$tool"; run_tool prep "$tool" first "$1" 0
    fi
  done
  mkdir -p "$work/out/smbclient"
}

for scen in $scenarios; do
  case $scen in
    a) log "scenario a"; first_sync a a "$a_files" "$reps" ;;
    b) log "scenario b"; first_sync b b "$b_files" "$reps" ;;
    c) log "scenario c"
       prepare_resync b
       for rep in $(seq "$reps"); do for tool in $(rotated "$rep"); do run_tool c "$tool" resync b 1; done; done ;;
    d) log "scenario d"
       prepare_resync b
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
    w1) log "scenario w1"; start_proxy 10; active=(kitovu rclone rclone16 smbget "${base[@]}")
        first_sync w1 w "$w_files" "$reps"; stop_proxy ;;
    w2|w3|w4) log "scenario $scen"; active=(kitovu rclone rclone16 "${base[@]}")
        prepare_resync w "$w_files" # straight to the server: untimed
        start_proxy "$([ "$scen" = w4 ] && echo 25 || echo 10)"
        for rep in $(seq "$reps"); do
          if [ "$scen" = w3 ]; then
            sleep 1 # the rewritten files get an mtime after every earlier download
            changed_w "$rep" | while read -r path size; do head -c "$size" /dev/urandom > "$share/$path"; done
          fi
          for tool in $(rotated "$rep"); do
            run_tool "$scen" "$tool" resync w 1
            [ "$scen" != w3 ] || check_changed "$tool" "$rep" w w3
          done
          log "$scen: repetition $rep of $reps done"
        done
        stop_proxy ;;
    m) log "scenario m"; active=(kitovu)
       for rep in $(seq "$reps"); do clear_out kitovu; command_for kitovu first b; run_sampled m; check_count b kitovu "$b_files"; done ;;
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
footer() { # what went wrong, and how long it all took
  if [ -s "$work/problems" ]; then
    echo
    echo "Problems seen during the run:"
    sort "$work/problems" | uniq -c | sed 's/^ *\([0-9]*\) /- (×\1) /'
  fi
  echo
  echo "The whole comparison took $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s including generating the trees."
}
# This build against the baseline's, timed in the same run: within 10 %.
base_ratio() { # THIS-MEDIAN BASE-MEDIAN
  [ -n "$2" ] || return 0
  awk -v k="$1" -v b="$2" -v label="$base_label" 'BEGIN {
    printf "This build / the build from %s, timed in the same run: **%.2f×**; target at most 1.10×: %s.\n", label, (b > 0 ? k / b : 0), (b > 0 && k / b <= 1.10 ? "met" : "**missed**") }'
}
median_of() { # COLUMN FILE
  awk -v c="$1" '{ print $c }' "$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# Over the link: kitovu against the others and against what the round trips allow.
link_tables() {
  echo "Measured by \`bench/compare.sh --wan\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; $(rclone version | head -1 | sed 's/^rclone //;s/^/rclone /'), $(smbclient --version); kitovu Release build."
  echo "Server: \`tests/samba-server.sh\` on 127.0.0.1, reached through \`bench/delay_proxy\`, which forwards every chunk"
  echo "DELAY ms after it arrived, in each direction (a round trip costs 2 DELAY; no bandwidth limit). Tree: $w_files files"
  echo "of 1–64 KB in 85 folders three levels deep ($(du -sm "$share/w" 2>/dev/null | cut -f1) MiB). Each repetition runs every tool once, in an order that"
  echo "rotates per repetition; $reps repetitions; wall time median and spread (min–max). Resyncs start from a full, untimed sync."
  echo "Round trips: what the proxy counted for the median run's tool (requests sent after the server had last"
  echo "spoken on their connection, summed over connections, medians over the repetitions); a synchronous client waits one round trip for each."
  echo
  echo "The limit: a session setup costs about 4 round trips, and listing a folder about 4 (create, two"
  echo "directory queries, close), done in parallel for all folders of one level: the tree's 4 levels"
  echo "(the folder itself and 3 below it) cost (4 + 4 × 4) round trips. Each downloaded file costs 3 more"
  echo "(open, read, close), divided by the connections in flight: 16 here, the polite cap kitovu uses."
  if [ "$reps" != 3 ] || [ "$w_files" != 1000 ]; then
    echo
    echo "**Reduced run** (the full run is 1000 files, 3 repetitions). This run: $w_files files, $reps repetitions."
  fi
  local scen tool m lo hi kb
  for scen in $scenarios; do
    [[ $scen == w? ]] || continue
    local d=10; [ "$scen" = w4 ] && d=25
    local changed=$((w_files / 100 > 0 ? w_files / 100 : 1))
    case $scen in
      w1) echo; echo "### w1) first sync over a ${d} ms link (round trip $((2 * d)) ms)" ;;
      w2) echo; echo "### w2) no-change resync over a ${d} ms link (round trip $((2 * d)) ms)" ;;
      w3) echo; echo "### w3) resync after 1 % ($changed files) changed, over a ${d} ms link (round trip $((2 * d)) ms)" ;;
      w4) echo; echo "### w4) no-change resync over a ${d} ms link (round trip $((2 * d)) ms)" ;;
    esac
    echo
    echo "| tool | median wall | spread (min–max) | connections | round trips |"
    echo "|---|---|---|---|---|"
    declare -A med=()
    for tool in "${tools[@]}" "${base[@]}"; do
      [ -s "$work/r.$scen.$tool" ] || continue
      read -r m lo hi kb < <(stats "$work/r.$scen.$tool")
      med[$tool]=$m
      conns=$(median_of 1 "$work/n.$scen.$tool") turns=$(median_of 4 "$work/n.$scen.$tool")
      name=${label[$tool]}
      printf '| %s | %s s | %s–%s s | %s | %s |\n' "$name" "$m" "$lo" "$hi" "$conns" "$turns"
    done
    awk -v scen="$scen" -v rtt="$(echo "2 * $d / 1000" | bc -l)" -v files="$w_files" -v changed="$changed" \
        -v k="${med[kitovu]}" -v r="${med[rclone]}" -v t="${med[rclone16]:-0}" '
      function verdict(ratio, limit) { return ratio <= limit ? "met" : "**missed**" }
      BEGIN {
        listing = (4 + 4 * 4) * rtt
        limit = listing
        if (scen == "w1") limit += 3 * files * rtt / 16
        if (scen == "w3") limit += 3 * rtt * int((changed + 15) / 16)
        printf "| limit (computed) | %.2f s | | | |\n\n", limit
        printf "kitovu / rclone (defaults): **%.2f×**; kitovu / rclone 16/16: **%.2f×**; kitovu / limit: **%.1f×**.\n", k / r, (t > 0 ? k / t : 0), k / limit
        if (scen == "w1") printf "Targets at most 0.5 × rclone (defaults): %s; at most 0.8 × rclone 16/16: %s.\n", verdict(k / r, 0.5), verdict(k / t, 0.8)
        if (scen == "w2") printf "Targets at most 0.5 × rclone (defaults): %s; at most 3 × the limit: %s.\n", verdict(k / r, 0.5), verdict(k / limit, 3)
        if (scen == "w3") printf "Target at most 0.5 × rclone (defaults): %s.\n", verdict(k / r, 0.5)
      }'
    base_ratio "${med[kitovu]}" "${med[kitovu-base]:-}"
    echo
    echo "Round trips of the median run by the request that began them, and the most that one connection waited:"
    echo
    for tool in "${tools[@]}" "${base[@]}"; do
      [ -s "$work/k.$scen.$tool" ] || continue
      # The line of the run whose wall time is the median (runs are in the same order in r. and k.).
      paste -d' ' <(awk '{ print $1 }' "$work/r.$scen.$tool") "$work/k.$scen.$tool" | sort -n |
        awk -v name="${label[$tool]}" '{ line[NR] = $0 } END {
          n = split(line[int((NR + 1) / 2)], f, " ")
          out = ""
          for (i = 3; i <= n; i++) { split(f[i], kv, "="); out = out (out == "" ? "" : ", ") kv[1] " " kv[2] }
          printf "- %s: one connection %d; %s\n", name, f[2], out }'
    done
  done
  if needs m; then
    read -r m lo hi kb < <(stats "$work/m.m")
    echo
    echo "### m) memory of all kitovu processes together, first sync of $b_files files of 1–16 KB (loopback)"
    echo
    echo "The sum over kitovu and the processes it started of their proportional set size (shared pages"
    echo "divided among the processes sharing them) and of their resident set size (shared pages counted"
    echo "in every process), sampled every 0.1 s; the highest sample over $reps runs (median wall $m s)."
    echo
    awk '{ if ($2 > p) p = $2; if ($3 > r) r = $3 } END {
      printf "Peak sum of PSS: **%.1f MB**; peak sum of RSS: %.1f MB. Target under 60 MB: %s.\n", p / 1024, r / 1024, (p / 1024 < 60 ? "met" : "**missed**") }' "$work/m.m"
  fi
  footer
}
if ((wan || memory)); then
  link_tables > "$out_md"
  cat "$out_md"
  exit 0
fi

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
    for tool in "${tools[@]}" "${base[@]}"; do
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
      # The loopback targets, judged on these medians.
      if (scen == "a" || scen == "b") printf "Target at most 0.9 × the fastest of rclone and smbget: %s.\n", verdict(vs_best, 0.9)
      if (scen == "e") printf "Targets at most 0.9 × the fastest of rclone and smbget: %s; at most 1.2 × the smbclient limit: %s.\n", verdict(vs_best, 0.9), verdict(vs_limit, 1.2)
      if (scen == "c") printf "Targets at most 0.5 × rclone (%.2f×): %s; at most 1.5 × the bare listing: %s.\n", vs_rclone, verdict(vs_rclone, 0.5), verdict(vs_limit, 1.5)
      if (scen == "d") printf "Target at most 0.5 × rclone (%.2f×): %s.\n", vs_rclone, verdict(vs_rclone, 0.5) }'
    base_ratio "${med[kitovu-j4]}" "${med[kitovu-base]:-}"
  done
  footer
} > "$out_md"
cat "$out_md"
