#!/usr/bin/env bash
# Where several instances should read the crime store from: the demo borough's store
# (three synthetic boroughs, 36 months) as one problem profile reads it from a folder,
# against fetching the same segment files out of PostgreSQL (bytea rows), which is what
# each request would pay if the store lived in the database without a local copy.
#
# Usage: bash bench/instances/crime_store.sh [repeats, default 5]
# Env:   BIN (default target/release/pathways), PG_ADMIN_URL
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPEATS=${1:-5}
BIN=${BIN:-target/release/pathways}
[ -x "$BIN" ] || cargo build --release -q -p pathways-cli
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db="pathways_bench_crime_$$"
url="${PG_ADMIN_URL%/*}/$db"
work=$(mktemp -d)
chmod 755 "$work"
trap 'psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; rm -rf "$work"' EXIT

"$BIN" demo --no-serve --data-dir "$work/demo" >/dev/null
store="$work/demo/crime"
chmod -R a+rX "$work"
files=$(find "$store" -type f | wc -l)
bytes=$(du -sb "$store" | cut -f1)
echo "store: $files files, $((bytes / 1024)) KiB"

best() { sort -n | head -n 1; }
timed() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000000)); }

profile_ms=$(for _ in $(seq 1 "$REPEATS"); do
  timed "$BIN" crime --data-dir "$work/demo" profile --area E09900001 --out "$work/out"
done | best)
read_ms=$(for _ in $(seq 1 "$REPEATS"); do
  timed sh -c "find '$store' -type f -exec cat {} + >/dev/null"
done | best)

psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $db" >/dev/null
psql "$url" -qAtc "CREATE TABLE crime_files (name TEXT PRIMARY KEY, bytes BYTEA NOT NULL)"
find "$store" -type f | while read -r f; do
  psql "$url" -qAtc "INSERT INTO crime_files VALUES ('${f#"$store"/}', pg_read_binary_file('$f'))"
done
fetch_ms=$(for _ in $(seq 1 "$REPEATS"); do
  timed psql "$url" -qAtc "COPY (SELECT name, bytes FROM crime_files) TO STDOUT WITH (FORMAT binary)"
done | best)
echo "problem profile from the folder (whole command, best of $REPEATS): ${profile_ms} ms"
echo "reading every file of the folder: ${read_ms} ms"
echo "fetching every file from PostgreSQL: ${fetch_ms} ms"
