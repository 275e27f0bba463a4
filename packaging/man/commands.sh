#!/bin/sh
# Prints the COMMANDS section of kitovu(1) for help2man's --include, made of each command's
# `kitovu COMMAND --help` (the CLI11 layout: description, Usage:, Positionals:, Options:,
# Examples:), so the man page says what --help says. Usage: commands.sh KITOVU_BINARY
set -eu
kitovu=$1
echo '[COMMANDS]'
"$kitovu" complete commands | cut -f1 | while read -r command; do
  "$kitovu" "$command" --help | awk -v command="$command" '
    function roff(text) { gsub(/\\/, "\\e", text); gsub(/-/, "\\-", text); sub(/^[.'"'"']/, "\\\\\\&&", text); return text }
    NR == 1 { description = $0; next }
    /^Usage: / { sub(/^Usage: /, ""); printf ".SS \"%s\"\n%s\n", roff($0), roff(description); next }
    /^(Positionals|Options):$/ { block = "entries"; next }
    /^Examples?:$/ { block = "examples"; print ".PP\nExamples:\n.RS\n.nf"; next }
    /^$/ { next }
    block == "examples" { sub(/^  /, ""); print roff($0); next }
    # "  NAME  DESCRIPTION", or NAME alone with the description on the next, deeper line;
    # help and help-all are on every command and in OPTIONS already.
    block == "entries" && /^  [^ ]/ {
      line = substr($0, 3); name = line; text = ""
      if (match(line, /  +/)) { name = substr(line, 1, RSTART - 1); text = substr(line, RSTART + RLENGTH) }
      skip = (name ~ /^(-h,--help|--help-all)$/)
      if (!skip) { printf ".TP\n.B %s\n", roff(name); if (text != "") print roff(text) }
      next
    }
    block == "entries" && !skip { sub(/^ +/, ""); print roff($0) }
    END { if (block == "examples") print ".fi\n.RE" }
  '
done
