#!/bin/sh
# Writes kitovu.toml(5) with go-md2man: the head in kitovu.toml.5.md, then docs/config.md from
# its first "## " section on (its title and introduction are for the web page), so the man page
# says what the config reference says. Usage: config-page.sh SOURCE_DIR VERSION OUTPUT
set -eu
source_dir=$1 version=$2 output=$3
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" '+%B %Y')
config=$(awk '/^## / { on = 1 } on' "$source_dir/docs/config.md")
if [ -z "$config" ]; then
  echo "config-page.sh: no '## ' section in $source_dir/docs/config.md" >&2
  exit 1
fi
{
  sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "$source_dir/packaging/man/kitovu.toml.5.md"
  printf '# FORMAT\n\n'
  printf '%s\n' "$config"
  printf '\n# SEE ALSO\n\n**kitovu**(1)\n'
} | go-md2man >"$output"
