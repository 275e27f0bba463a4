#!/bin/sh
# systemd-analyze verify, as the user manager sees them, on the systemd user units with the
# build's kitovu in ExecStart; any complaint fails. Usage: units_test.sh SOURCE_DIR BINARY WORK
# (man pages are left to tests/deb_test.sh, which verifies the installed units with them).
set -eu
source_dir=$1 binary=$2 work=$3
rm -rf "$work"
mkdir -p "$work/units" "$work/runtime"
chmod 700 "$work/runtime"
sed "s|@KITOVU_BINARY@|$binary|g" "$source_dir/packaging/systemd/kitovu-sync.service.in" \
  >"$work/units/kitovu-sync.service"
cp "$source_dir/packaging/systemd/kitovu-sync.timer" "$work/units/"
complaints=$(XDG_RUNTIME_DIR=$work/runtime systemd-analyze --user verify --man=no \
  "$work/units/kitovu-sync.timer" "$work/units/kitovu-sync.service" 2>&1) || true
if [ -n "$complaints" ]; then
  printf '%s\n' "$complaints"
  exit 1
fi
echo "systemd-analyze verify: no complaints"
