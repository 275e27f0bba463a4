#!/usr/bin/env bash
# The test command: installs what is missing, builds kitovu with warnings as errors and runs
# every test (the fuzzers for KITOVU_FUZZ_SECONDS each) and the Debian packages (built,
# installed, checked and removed again, tests/deb_test.sh), then every test again under
# AddressSanitizer + UBSan and the engine and smb tests under ThreadSanitizer. CI runs exactly
# this (.ci/run). Build folders: $KITOVU_BUILD_DIR (default build), then -asan and -tsan beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake/install-deps.sh
build=${KITOVU_BUILD_DIR:-build}
asan=${KITOVU_ASAN_BUILD_DIR:-$build-asan}
tsan=${KITOVU_TSAN_BUILD_DIR:-$build-tsan}
config=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKITOVU_REQUIRE_SMB=ON -DKITOVU_REQUIRE_MOODLE=ON -DKITOVU_REQUIRE_WEBDAV=ON
        -DKITOVU_WITH_KEYRING=ON)
step() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "plain build: every test, the fuzzers for ${KITOVU_FUZZ_SECONDS:-30} s each"
# KITOVU_BUILD_GUI=ON: a missing Qt 6 fails here instead of leaving the window's tests out.
cmake -S . -B "$build" "${config[@]}" -DKITOVU_SANITIZE= -DKITOVU_FUZZ=ON -DKITOVU_BUILD_GUI=ON \
  ${KITOVU_FUZZ_SECONDS:+-DKITOVU_FUZZ_SECONDS=$KITOVU_FUZZ_SECONDS} >/dev/null
cmake --build "$build" -j2
ctest --test-dir "$build" --output-on-failure -j2

step "Debian packages: build, apt-get install, check, purge"
tests/deb_test.sh "$build"

# Any sanitizer finding aborts the process, so the test that ran it fails with the report.
# The install test is left out here: it builds examples/custom_plugin against the installed
# package in a separate CMake project that does not get the sanitizer flags, so it would only
# repeat the plain build's run.
step "AddressSanitizer + UndefinedBehaviorSanitizer: every test"
# kitovu-gui is left out here: Qt, fontconfig and the offscreen platform keep process-wide
# allocations that LeakSanitizer may report and kitovu cannot free (not yet sorted into narrow
# suppressions), and building Qt programs under ASan costs CI minutes for code that is not the
# library's. What the window asks of the library (conflicts.hpp, the engine with an observer and
# a stop token) has library tests that run here.
cmake -S . -B "$asan" "${config[@]}" -DKITOVU_SANITIZE=address -DKITOVU_FUZZ=OFF \
  -DKITOVU_BUILD_GUI=OFF >/dev/null
cmake --build "$asan" -j2
# Two leaks inside libsmbclient (Debian 12, Samba 4.17) that kitovu cannot free, found by this
# build; each suppression names a libsmbclient function, so kitovu's own leaks still fail:
# - debug_set_logfile: smbc_new_context() -> SMBC_module_init -> reopen_logs talloc_strdup()s the
#   log file name into process-global state whenever the first context is created again.
# - cli_list: when smbc_opendir() fails part-way (a listing with a name libsmbclient refuses, see
#   smb_tests "a folder libsmbclient cannot list ..."), the entries it already copied are not
#   freed and no SMBCFILE is returned that kitovu could close.
# The suppressions match function names deeper in the stack, hence fast_unwind_on_malloc=0
# (libsmbclient has no frame pointers).
cat >"$asan/lsan.supp" <<'SUPP'
leak:debug_set_logfile
leak:cli_list
SUPP
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:fast_unwind_on_malloc=0 \
LSAN_OPTIONS=suppressions=$(realpath "$asan/lsan.supp"):print_suppressions=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$asan" --output-on-failure -j2 -E '^install:'

# Only the tests with threads: the engine's parallel workers, and the smb and moodle plugins on
# them (libsmbclient runs only in kitovu-smb-helper processes, one session each; libcurl gets one
# handle per worker), and a host with threads of its own that ignores SIGCHLD (smb_host_tests).
step "ThreadSanitizer: engine_tests, smb_tests, smb_host_tests, moodle_tests"
cmake -S . -B "$tsan" "${config[@]}" -DKITOVU_SANITIZE=thread -DKITOVU_FUZZ=OFF \
  -DKITOVU_BUILD_GUI=OFF >/dev/null
cmake --build "$tsan" -j2 --target engine_tests smb_tests smb_host_tests moodle_tests
TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir "$tsan" --output-on-failure -j2 -R '^(engine_tests|smb_tests|smb_host_tests|moodle_tests):'
step "all passed"
