#!/bin/sh
# Each man page given renders with man(1) at 80 columns without a single warning, and has its
# sections. Usage: man_test.sh PAGE...
set -eu
for page in "$@"; do
  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  if [ -n "$warnings" ]; then
    printf '%s:\n%s\n' "$page" "$warnings"
    exit 1
  fi
  MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q '^DESCRIPTION' || { echo "$page: no DESCRIPTION"; exit 1; }
  echo "$page: renders without warnings"
done
