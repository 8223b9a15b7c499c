#!/usr/bin/env bash
# The directory at regional scale, served by `pathways serve` from SQLite: 50,000 generated
# services, resident memory once the index is built, start-up to ready, and wrk at 64
# connections on keyword, taxonomy and distance searches through /oruk/services and
# /support, each as a ratio to /healthz of the same server in the same run.
# Usage: bench/directory/run.sh
# Environment: SERVICES (50000), DURATION (10s), CONNECTIONS (64), THREADS (2), PORT (18089).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SERVICES="${SERVICES:-50000}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
PORT="${PORT:-18089}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WRK="${WRK:-$(command -v wrk || true)}"
if [ -z "$WRK" ]; then
  echo "installing wrk from Debian…" >&2
  apt-get install -y wrk >/dev/null
  WRK=/usr/bin/wrk
fi

echo "building pathways (release)…" >&2
(cd "$ROOT" && cargo build --release -q -p pathways-cli)
BIN="$CARGO_TARGET_DIR/release/pathways"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

DB="$WORK/bench.db"
echo "generating and importing $SERVICES services…" >&2
"$BIN" directory generate --services "$SERVICES" --seed 1 --format ndjson > "$WORK/feed.ndjson"
"$BIN" directory import "$WORK/feed.ndjson" --strict --max-mib 4096 --database "$DB" --data-dir "$WORK" >&2
# A few postcodes inside the generated borough (ONSPD columns).
printf 'pcds,doterm,lat,long\nW8 6AB,,51.5012,-0.1912\nW8 7AA,,51.4975,-0.1850\nW14 8XX,,51.4950,-0.2010\n' > "$WORK/onspd.csv"
"$BIN" directory import-postcodes "$WORK/onspd.csv" --database "$DB" --data-dir "$WORK" >&2

START=$(date +%s.%N)
"$BIN" serve --database "$DB" --data-dir "$WORK" --listen "127.0.0.1:$PORT" --log info >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 600); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" 2>/dev/null)" = 200 ]; then break; fi
  sleep 0.1
done
READY=$(date +%s.%N)
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ] || { echo "server not ready:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
rss() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$SERVER_PID/status"; }
RSS_READY=$(rss)
TERM_ID=$(curl -fsS "$BASE/oruk/taxonomy_terms?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["contents"][0]["id"])')
LOADED=$(curl -fsS "$BASE/oruk/services?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_items"])')

declare -a NAMES=(healthz oruk-keyword oruk-taxonomy oruk-distance support-keyword support-taxonomy support-distance)
declare -a PATHS=(
  "/healthz"
  "/oruk/services?search=counselling"
  "/oruk/services?taxonomy_term_id=$TERM_ID"
  "/oruk/services?postcode=W8+6AB&proximity=1609"
  "/support?q=counselling"
  "/support?need=$TERM_ID"
  "/support?postcode=W8+6AB&within=1"
)
printf 'services=%s cores=%s connections=%s duration=%s\n' "$LOADED" "$(nproc)" "$CONNECTIONS" "$DURATION"
printf 'start-up to ready: %.1f s; resident memory once ready: %s MiB\n' "$(echo "$READY - $START" | bc)" "$RSS_READY"
HEALTH=""
for i in "${!NAMES[@]}"; do
  out=$("$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$BASE${PATHS[$i]}")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  [ -z "$HEALTH" ] && HEALTH=$rps
  ratio=$(python3 -c "print(f'{float($rps)/float($HEALTH):.3f}')")
  bytes=$(curl -s -o /dev/null -w '%{size_download}' "$BASE${PATHS[$i]}")
  printf '%-17s %10s req/s  p50 %8s  p99 %8s  ratio %s  body %s B %s  %s\n' "${NAMES[$i]}" "$rps" "$p50" "$p99" "$ratio" "$bytes" "${non2xx:+non-2xx $non2xx}" "${PATHS[$i]}"
done
printf 'resident memory after the load: %s MiB\n' "$(rss)"
grep -o '"ready: the directory index is built"[^}]*\|built the directory index.*' "$WORK/serve.log" | head -2 || true
