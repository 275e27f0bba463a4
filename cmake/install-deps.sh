#!/usr/bin/env bash
# Installs the Debian 12 packages kitovu needs to build, test and demo, only if any is missing.
set -euo pipefail
packages=(
  cmake g++ make pkg-config clang-format
  libfmt-dev libtomlplusplus-dev catch2 libcli11-dev
  libsmbclient-dev samba smbclient nlohmann-json3-dev libcurl4-openssl-dev python3 procps
  libsecret-1-dev gnome-keyring libsecret-tools dbus dbus-daemon # the keyring and its tests
  afl++ # fuzzing (tests/fuzz): afl-fuzz, its runtime and libAFLDriver.a
  systemd # systemd-analyze verify on the user units (tests/units_test.sh)
  help2man go-md2man man-db # the man pages (packaging/man) and their test
  dpkg-dev file # cpack -G DEB computes the package's dependencies (tests/deb_test.sh)
  qt6-base-dev qt6-base-dev-tools # kitovu-gui (examples/gui) and its tests (Qt Widgets, Qt Test)
  qt6-tools-dev qt6-l10n-tools # kitovu-gui's translations (Qt6LinguistTools: lupdate, lrelease)
  libexpat1-dev # the webdav plugin's XML parser
  apache2 apache2-utils rclone # the webdav plugin's tests: two real WebDAV servers on loopback
  xvfb openbox trayer xdotool # the tray test on a real X display (tests/gui_tray_test.sh)
  qt6-translations-l10n # Qt's own German strings: a dependency of the kitovu-gui package, installed here so
  # that deb_test.sh finds the package list unchanged after it purges kitovu-gui
  desktop-file-utils # desktop-file-validate on the kitovu-gui package's .desktop file (deb_test.sh)
  fuse3 fusefat exfat-fuse dosfstools exfatprogs mount # FAT32/exFAT targets (tests/disk_fixture.hpp)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
