#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine as root: installs what is missing, builds the
# kitovu command, starts a throwaway Samba server on 127.0.0.1 with a few course files, and
# shows kitovu at work: a first sync, a second one with nothing to do, then a file changed on
# both sides, where the local edit is kept and the remote version saved beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake/install-deps.sh
build=${KITOVU_BUILD_DIR:-build-demo}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DKITOVU_BUILD_TESTS=OFF -DKITOVU_REQUIRE_SMB=ON -DKITOVU_REQUIRE_MOODLE=ON >/dev/null
cmake --build "$build" -j2 --target kitovu_cli
kitovu=$(realpath "$build/examples/cli/kitovu")

demo=$(mktemp -d /tmp/kitovu-demo.XXXXXX)
trap 'tests/samba-server.sh stop "$demo"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A Samba share with course material"
share=$demo/share
mkdir -p "$share/Informatik/EPJ/Übungen" "$share/Informatik/EPJ/Leer" "$share/Mathe/Analysis 1"
printf 'Skript EPJ, Kapitel 1-8\n' > "$share/Informatik/EPJ/Skript.pdf"
printf 'Serie 1: Klassen und Objekte\n' > "$share/Informatik/EPJ/Übungen/Serie 1.txt"
printf 'Serie 2: Vererbung\n' > "$share/Informatik/EPJ/Übungen/Serie 2.txt"
: > "$share/Informatik/EPJ/Übungen/leer.txt"
head -c 3000000 /dev/urandom > "$share/Informatik/EPJ/Vorlesung.mp4"
printf 'Analysis 1, Folien\n' > "$share/Mathe/Analysis 1/Folien.pdf"
printf 'thumbnail cache\n' > "$share/Mathe/Analysis 1/Thumbs.db"
port=$(tests/samba-server.sh start "$demo")
(cd "$share" && find . -type f | sort)
echo "served as smb://127.0.0.1:$port/skripte (user kitovu-student)"

step "A config for it"
printf 'secret\n' > "$demo/password" && chmod 600 "$demo/password"
cat > "$demo/kitovu.toml" <<TOML
root-dir = "$demo/kitovu"
global-ignore = ["Thumbs.db", ".DS_Store", "*.tmp"]

[[connections]]
name = "skripte"
plugin = "smb"
hostname = "127.0.0.1"
port = $port
share = "skripte"
username = "kitovu-student"
password-command = "cat $demo/password"

[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "skripte"
  remote-dir = "Informatik/EPJ"

[[subjects]]
name = "Analysis"
  [[subjects.sources]]
  connection = "skripte"
  remote-dir = "Mathe/Analysis 1"
TOML
cat "$demo/kitovu.toml"
export XDG_DATA_HOME=$demo/data     # the file cache, kept inside the demo folder
"$kitovu" validate --config "$demo/kitovu.toml"

step "kitovu sync: the first run downloads everything"
"$kitovu" sync --config "$demo/kitovu.toml"
(cd "$demo/kitovu" && find . | sort)

step "kitovu sync again: nothing to do"
"$kitovu" sync --config "$demo/kitovu.toml"

step "A local edit and a remote change to the same file"
printf 'my own notes on Serie 1\n' >> "$demo/kitovu/EPJ/Übungen/Serie 1.txt"
printf 'Serie 1 (corrected)\n' > "$share/Informatik/EPJ/Übungen/Serie 1.txt"
touch -d '+1 minute' "$share/Informatik/EPJ/Übungen/Serie 1.txt"
printf 'Skript EPJ, Kapitel 1-9\n' > "$share/Informatik/EPJ/Skript.pdf"
touch -d '+1 minute' "$share/Informatik/EPJ/Skript.pdf"
"$kitovu" sync -v --config "$demo/kitovu.toml"

step "The local edit is kept; the remote version is beside it"
for f in "$demo/kitovu/EPJ/Übungen/Serie 1"*; do echo "--- $f"; cat "$f"; done

step "Where things are"
"$kitovu" fileinfo --config "$demo/kitovu.toml"
echo "synced files: $demo/kitovu"
echo "the Samba server is stopped now; remove $demo when done"
