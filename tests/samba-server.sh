#!/usr/bin/env bash
# A throwaway Samba server on 127.0.0.1 for the demo and the benchmarks (the C++ tests have
# their own fixture, tests/samba_fixture.hpp). Needs root and the samba package.
#
#   tests/samba-server.sh start DIR   serves DIR/share read-only as share "skripte" on a free
#                                     port; prints the port. User and password come from
#                                     $SAMBA_USER (kitovu-student) and $SAMBA_PASSWORD (secret).
#   tests/samba-server.sh stop DIR    stops exactly the server started for DIR.
set -euo pipefail
command=${1:?usage: samba-server.sh start|stop DIR}
dir=$(realpath "${2:?usage: samba-server.sh start|stop DIR}")
user=${SAMBA_USER:-kitovu-student}
password=${SAMBA_PASSWORD:-secret}

stop() {
  local pid_file=$dir/samba/pid/smbd.pid
  [ -f "$pid_file" ] || return 0
  local pid; pid=$(cat "$pid_file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# A port nobody listens on; smbd failing to bind (a race with another program) means a retry.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

start() {
  [ "$(id -u)" -eq 0 ] || { echo "samba-server.sh: needs root (smbd switches to the share's user)" >&2; exit 1; }
  command -v smbd >/dev/null || { echo "samba-server.sh: smbd missing: apt-get install samba" >&2; exit 1; }
  local s=$dir/samba port
  mkdir -p "$dir/share" "$s"/{private,state,cache,lock,pid,ncalrpc,log}
  # smbd reads the share as $user: the share and every folder above it must be traversable.
  local p=$dir; while [ "$p" != / ]; do chmod a+x "$p"; p=$(dirname "$p"); done
  chmod -R a+rX "$dir/share"
  id "$user" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    cat > "$s/smb.conf" <<CONF
[global]
  workgroup = WORKGROUP
  server role = standalone server
  smb ports = $port
  interfaces = 127.0.0.1
  bind interfaces only = yes
  passdb backend = tdbsam:$s/private/passdb.tdb
  private dir = $s/private
  state directory = $s/state
  cache directory = $s/cache
  lock directory = $s/lock
  pid directory = $s/pid
  ncalrpc dir = $s/ncalrpc
  log file = $s/log/smbd.log
  disable netbios = yes
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2
[skripte]
  path = $dir/share
  read only = yes
  valid users = $user
CONF
    (echo "$password"; echo "$password") | smbpasswd -c "$s/smb.conf" -s -a "$user" >/dev/null
    # smbd daemonises into its own process group (never --no-process-group: on shutdown it
    # signals its whole group).
    smbd -s "$s/smb.conf" -D
    for _ in $(seq 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
      sleep 0.1
    done
    stop
  done
  echo "samba-server.sh: smbd did not start; see $s/log/smbd.log" >&2
  exit 1
}

case $command in
  start) start ;;
  stop) stop ;;
  *) echo "usage: samba-server.sh start|stop DIR" >&2; exit 2 ;;
esac
