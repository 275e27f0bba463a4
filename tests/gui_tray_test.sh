#!/usr/bin/env bash
# kitovu-gui's tray on a real X display: Xvfb, a window manager (openbox) and an XEmbed system
# tray (trayer) in a D-Bus session of their own, then the GUI tests tagged [tray] on Qt's xcb
# platform. Missing programs fail the test (apt-get install xvfb openbox trayer xdotool).
# Usage: gui_tray_test.sh GUI_TESTS
set -euo pipefail
gui_tests=$1
for program in Xvfb openbox trayer xdotool dbus-run-session; do
  command -v "$program" >/dev/null || {
    echo "$program not found: apt-get install xvfb openbox trayer xdotool dbus" >&2
    exit 1
  }
done
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# A free display: Xvfb writes the number it took (-displayfd) once it accepts clients.
mkfifo "$work/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
display=
read -r display <"$work/display" || true
[ -n "$display" ] || { cat "$work/xvfb.log" >&2; exit 1; }
export DISPLAY=:$display
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
dbus-run-session -- bash -c '
  set -euo pipefail
  openbox >/dev/null 2>&1 & wm=$!
  trayer --edge top --align right --widthtype request --height 24 >/dev/null 2>&1 & tray=$!
  trap "kill $wm $tray 2>/dev/null || true" EXIT
  # Waits (no sleep) until the tray has its window, so Qt finds the tray on starting.
  timeout 60 xdotool search --sync --classname panel >/dev/null
  QT_QPA_PLATFORM=xcb "$0" "[tray]"
' "$gui_tests"
