# `cpack -G DEB` in the build folder: kitovu_VERSION_ARCH.deb (component cli: the command, its
# man pages, shell completions and systemd user units) and libkitovu-dev_VERSION_all.deb
# (components dev and testing: the headers, the conformance suite for plugin authors, the CMake
# package and kitovu.pc, grouped as dev) and kitovu-smb-helper_VERSION_ARCH.deb (component
# smbhelper: the process the smb plugin runs libsmbclient in). The paths inside are those of
# CMAKE_INSTALL_PREFIX, which a Debian package wants to be /usr (tests/deb_test.sh). Where the
# window is built, kitovu-gui_VERSION_ARCH.deb too (component gui: kitovu-gui, its .desktop entry
# and icon).
set(CPACK_PACKAGE_NAME kitovu)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "kitovu maintainers <kitovu@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
if(TARGET kitovu_cli)
  set(CPACK_COMPONENTS_ALL cli smbhelper dev testing)
else() # without libsmbclient there is no command, only the library
  set(CPACK_COMPONENTS_ALL dev testing)
endif()
if(TARGET kitovu_gui)
  list(APPEND CPACK_COMPONENTS_ALL gui)
endif()
# One package per group: testing goes into libkitovu-dev with the headers it checks against.
set(CPACK_COMPONENT_DEV_GROUP dev)
set(CPACK_COMPONENT_TESTING_GROUP dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/kitovu/kitovu")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME kitovu)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION net)
# Dependencies from the binary's shared libraries (dpkg-shlibdeps, package dpkg-dev).
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
# The smb plugin runs libsmbclient in kitovu-smb-helper, a package of its own (the window needs it
# too, and two packages cannot hold one file).
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "kitovu-smb-helper (= ${PROJECT_VERSION})")
# notify-send for `kitovu sync --notify`; without it there is simply no notification.
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "libnotify-bin")
# The extended description; the synopsis is the project's description.
set(CPACK_DEBIAN_CLI_DESCRIPTION
    "kitovu syncs course material from SMB/Windows shares, Moodle and local folders into local
folders without ever overwriting a file edited locally. With man pages, shell completions
(bash, zsh, fish) and systemd user units for an hourly sync
(systemctl --user enable --now kitovu-sync.timer).")

set(CPACK_DEBIAN_GUI_PACKAGE_NAME kitovu-gui)
set(CPACK_DEBIAN_GUI_PACKAGE_SECTION net)
# Qt 6, libsecret, libcurl from the binary's shared libraries (dpkg-shlibdeps).
set(CPACK_DEBIAN_GUI_PACKAGE_SHLIBDEPS ON)
# libsmbclient runs in kitovu-smb-helper; Qt's own dialog buttons and the German window need Qt's
# translations (qt6-translations-l10n).
set(CPACK_DEBIAN_GUI_PACKAGE_DEPENDS "kitovu-smb-helper (= ${PROJECT_VERSION}), qt6-translations-l10n")
# The window draws its icon from the theme (hicolor) and its text with the system's fonts; on a
# Wayland desktop it runs natively with qt6-wayland (else through XWayland, libqt6gui6's xcb).
set(CPACK_DEBIAN_GUI_PACKAGE_RECOMMENDS
    "hicolor-icon-theme, fonts-dejavu-core | fonts-freefont-ttf, qt6-wayland")
set(CPACK_DEBIAN_GUI_DESCRIPTION
    "kitovu-gui is the desktop window of kitovu: subjects at a glance with their state, sync with
progress and Cancel, conflicts resolved with one click (never losing either file), a config
editor that shows every problem as you type, and a first-run assistant. It links the kitovu
library itself (no wrapper around the command) and speaks English and German.")

set(CPACK_DEBIAN_SMBHELPER_PACKAGE_NAME kitovu-smb-helper)
set(CPACK_DEBIAN_SMBHELPER_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SMBHELPER_PACKAGE_SHLIBDEPS ON) # libsmbclient, linked by the helper only
set(CPACK_DEBIAN_SMBHELPER_DESCRIPTION
    "The process in which kitovu's smb plugin runs libsmbclient (libexec/kitovu/kitovu-smb-helper),
started by the kitovu command, kitovu-gui and any program that embeds kitovu::smb: those programs
never load libsmbclient themselves.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libkitovu-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libfmt-dev, libtomlplusplus-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS
    "kitovu-smb-helper, libcurl4-openssl-dev | libcurl-dev, nlohmann-json3-dev, libexpat1-dev, pkg-config, cmake")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "The header-only C++23 library behind the kitovu command: sync engine, file cache and the
plugin interface with its conformance suite for plugin authors (kitovu/testing.hpp), with the
smb, moodle and webdav plugins (which need kitovu-smb-helper at run time, resp. libcurl and
nlohmann-json3-dev, resp. libcurl and libexpat1-dev).
Use it with find_package(kitovu) in CMake or pkg-config --cflags kitovu.")

include(CPack)
