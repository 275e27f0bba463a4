#!/usr/bin/env bash
# Every string the window shows (tr(), translate(), QT_TRANSLATE_NOOP) has a translation in each
# examples/gui/translations/*.ts: lupdate brings a temporary copy of each up to date with the
# sources, and a string left unfinished or new there fails the test. Usage: translations_test.sh LUPDATE
set -euo pipefail
cd "$(dirname "$0")/../examples/gui"
lupdate=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for ts in translations/*.ts; do
  copy=$work/$(basename "$ts")
  cp "$ts" "$copy"
  "$lupdate" -silent -no-obsolete -locations none . -ts "$copy"
  if grep -q 'type="unfinished"' "$copy"; then
    echo "$ts: strings without a translation (cmake --build BUILD --target update_translations," \
      "then translate them):" >&2
    grep -B2 'type="unfinished"' "$copy" | grep '<source>' >&2
    status=1
  fi
  if ! diff -q "$ts" "$copy" >/dev/null; then
    echo "$ts is not up to date with the sources:" >&2
    diff "$ts" "$copy" >&2 || true
    status=1
  fi
done
exit $status
