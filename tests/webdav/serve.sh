#!/bin/sh
# Serves ROOT over WebDAV on 127.0.0.1 for the webdav plugin's tests, in the foreground until
# killed: `serve.sh apache|rclone ROOT STATE USER PASSWORD`. Writes the port to STATE/port once
# the server answers. Apache (mod_dav_fs) runs its workers as nobody, so that a folder or file
# made unreadable gives real 403s; rclone (serve webdav) is a second implementation.
set -eu
kind=$1 root=$2 state=$3 user=$4 password=$5
mkdir -p "$state"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
case $kind in
apache)
  modules=/usr/lib/apache2/modules
  mkdir -p "$state/lock"
  chown nobody "$state/lock" 2>/dev/null || true
  htpasswd -bc "$state/htpasswd" "$user" "$password" 2>/dev/null
  chmod 644 "$state/htpasswd"
  cat > "$state/httpd.conf" <<CONF
ServerName 127.0.0.1
ServerRoot $state
PidFile $state/httpd.pid
ErrorLog $state/error.log
LogLevel warn
Listen 127.0.0.1:$port
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authn_core_module $modules/mod_authn_core.so
LoadModule authn_file_module $modules/mod_authn_file.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule authz_user_module $modules/mod_authz_user.so
LoadModule auth_basic_module $modules/mod_auth_basic.so
LoadModule dav_module $modules/mod_dav.so
LoadModule dav_fs_module $modules/mod_dav_fs.so
User nobody
Group nogroup
DocumentRoot $root
DavLockDB $state/lock/DavLock
<Directory />
  Require all denied
</Directory>
<Directory $root>
  Dav On
  AuthType Basic
  AuthName "kitovu tests"
  AuthUserFile $state/htpasswd
  Require valid-user
</Directory>
CONF
  (while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do sleep 0.05; done
   echo "$port" > "$state/port.tmp" && mv "$state/port.tmp" "$state/port") &
  exec /usr/sbin/apache2 -f "$state/httpd.conf" -DFOREGROUND
  ;;
rclone)
  (while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do sleep 0.05; done
   echo "$port" > "$state/port.tmp" && mv "$state/port.tmp" "$state/port") &
  # As nobody too (when root), so that an unreadable folder or file is one for rclone.
  as_nobody=
  [ "$(id -u)" -ne 0 ] || as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
  exec $as_nobody rclone serve webdav "$root" --addr "127.0.0.1:$port" --user "$user" \
    --pass "$password" --config /dev/null --dir-cache-time 0s
  ;;
*) echo "serve.sh: unknown server '$kind'" >&2; exit 2 ;;
esac
