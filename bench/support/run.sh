#!/usr/bin/env bash
# Throughput of the ORUK keyword search under load, as a ratio to a static route of the same
# server: 50,000 generated services, 64 connections, wrk. Usage: bench/support/run.sh
# Environment: SERVICES (default 50000), DURATION (default 15s), CONNECTIONS (default 64),
# THREADS (default 2), PORT (default 18088), CARGO_TARGET_DIR (default: the workspace target folder).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SERVICES="${SERVICES:-50000}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
PORT="${PORT:-18088}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target}"
WRK="${WRK:-/usr/bin/wrk}"

command -v "$WRK" >/dev/null || { echo "wrk not found at $WRK; install it (apt-get install wrk)" >&2; exit 1; }

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

"$BIN" serve --database "$DB" --data-dir "$WORK" --listen "127.0.0.1:$PORT" --log warn >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  if curl -fsS "$BASE/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fsS "$BASE/readyz" >/dev/null || { echo "server did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }

SEARCH="/oruk/services?search=counselling+young+people"
# The first directory request builds the in-memory index; do it before measuring.
TOTAL=$(curl -fsS "$BASE$SEARCH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_items"])')
LOADED=$(curl -fsS "$BASE/oruk/services?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_items"])')
echo "services served: $LOADED; matches for the search: $TOTAL" >&2

rps() { "$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1" | tee -a "$WORK/wrk.txt" | awk '/^Requests\/sec:/ {print $2}'; }
latency() { awk -v want="$1" '$1 == want {print $2}' "$WORK/wrk.txt" | tail -1; }

STATIC=$(rps "$BASE/healthz"); STATIC_P50=$(latency 50%); STATIC_P99=$(latency 99%)
SEARCH_RPS=$(rps "$BASE$SEARCH"); SEARCH_P50=$(latency 50%); SEARCH_P99=$(latency 99%)
RATIO=$(python3 -c "print(f'{float($SEARCH_RPS)/float($STATIC):.3f}')")

echo "services=$LOADED connections=$CONNECTIONS threads=$THREADS duration=$DURATION cores=$(nproc)"
echo "static  /healthz: ${STATIC} req/s (p50 ${STATIC_P50}, p99 ${STATIC_P99})"
echo "search  ${SEARCH}: ${SEARCH_RPS} req/s (p50 ${SEARCH_P50}, p99 ${SEARCH_P99}), ${TOTAL} matches, page of 50"
echo "ratio search/static: ${RATIO}"
