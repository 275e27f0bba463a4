#!/usr/bin/env bash
# The Debian packages as a user gets them: cpack -G DEB builds kitovu_VERSION_amd64.deb,
# libkitovu-dev_VERSION_all.deb and, where BUILD_DIR builds the window, kitovu-gui_VERSION_amd64.deb
# from BUILD_DIR (a built tree, e.g. tests/run-all.sh's plain build), apt-get installs them, the
# command, its man pages, completions, units and kitovu.pc are checked, examples/custom_plugin and
# examples/login_plugin are built against the installed package, the smb helper is in libexec, the window starts (--version, --help) and its .desktop
# entry validates, and all are purged again; the list of installed packages must then be what it was. BUILD_DIR is set to
# prefix /usr for the packages and back afterwards: only the service unit and kitovu.pc name
# the prefix, so nothing is compiled again. Usage (as root): tests/deb_test.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "$1") # absolute: apt-get takes "a/b.deb" for a package "a" of release "b.deb"
work=$(mktemp -d)
chmod 755 "$work" # apt-get reads the packages as user _apt
packages=(kitovu kitovu-smb-helper libkitovu-dev)
targets=(kitovu_cli kitovu_smb_helper kitovu_man)
gui=$(sed -n 's/^KITOVU_BUILD_GUI:BOOL=//p' "$build/CMakeCache.txt")
if [ "$gui" = ON ]; then
  packages+=(kitovu-gui)
  targets+=(kitovu_gui)
fi
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "$p is installed already; this test would remove it" >&2
    exit 1
  fi
done
installed() { dpkg-query -W -f='${Package} ${Version} ${Status}\n' | sort; }
installed >"$work/before"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
trap 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1 || true
      cmake -S . -B "$build" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=OFF \
        >/dev/null
      rm -rf "$work"' EXIT

# Only what the packages hold is built, not everything (cpack's default).
cmake -S . -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
cmake --build "$build" -j2 --target "${targets[@]}"
(cd "$build" && cpack -G DEB -B "$work/packages" >/dev/null)
version=$(sed -n 's/^project(kitovu VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb=$work/packages/kitovu_${version}_amd64.deb dev=$work/packages/libkitovu-dev_${version}_all.deb
debs=("$deb" "$dev" "$work/packages/kitovu-smb-helper_${version}_amd64.deb")
[ "$gui" = ON ] && debs+=("$work/packages/kitovu-gui_${version}_amd64.deb")
for d in "${debs[@]}"; do dpkg-deb --info "$d" | grep -E '^ (Package|Version|Depends|Recommends):'; done
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null

test "$(kitovu --version)" = "kitovu $version"
# The smb plugin's helper, where the installed command looks for it; it is not run by hand.
test -x /usr/libexec/kitovu/kitovu-smb-helper
! /usr/libexec/kitovu/kitovu-smb-helper 2>/dev/null
man -w kitovu
man -w kitovu.toml
pkg-config --cflags kitovu | grep -- -DKITOVU_USE_TL_EXPECTED=
test -f /usr/include/kitovu/testing.hpp # the conformance suite, component testing
bash --norc -c 'source /usr/share/bash-completion/completions/kitovu && complete -p kitovu'
mkdir -m 700 "$work/runtime"
complaints=$(XDG_RUNTIME_DIR=$work/runtime systemd-analyze --user verify \
  /usr/lib/systemd/user/kitovu-sync.timer /usr/lib/systemd/user/kitovu-sync.service 2>&1) || true
test -z "$complaints" || { echo "$complaints"; exit 1; }
# A third party's program, once with CMake and once with pkg-config.
cmake -S examples/custom_plugin -B "$work/plugin" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/plugin"
"$work/plugin/custom_plugin" | grep "plugins: local, notes" # runs the suite and syncs
g++ -std=c++23 -fsyntax-only $(pkg-config --cflags kitovu) examples/custom_plugin/main.cpp
cmake -S examples/login_plugin -B "$work/login" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/login"
"$work/login/login_plugin" | grep "skript.txt synced" # runs the suite and syncs with a password
g++ -std=c++23 -fsyntax-only $(pkg-config --cflags kitovu) examples/login_plugin/main.cpp
if [ "$gui" = ON ]; then
  # The window as a desktop starts it: its entry and icon where the menus look, the program on
  # PATH with every library it needs from the package's dependencies.
  desktop-file-validate /usr/share/applications/kitovu-gui.desktop
  test -f /usr/share/icons/hicolor/scalable/apps/kitovu-gui.svg
  test "$(QT_QPA_PLATFORM=offscreen kitovu-gui --version)" = "kitovu-gui $version"
  QT_QPA_PLATFORM=offscreen kitovu-gui --help | grep -- '--config <FILE>'
  LANGUAGE=de QT_QPA_PLATFORM=offscreen kitovu-gui --help | grep 'Die Konfigurationsdatei'
fi

DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" >/dev/null
if command -v kitovu || command -v kitovu-gui; then
  echo "kitovu is still installed after the purge" >&2
  exit 1
fi
installed >"$work/after"
diff "$work/before" "$work/after"
echo "deb test: built, installed, checked and removed kitovu $version"
