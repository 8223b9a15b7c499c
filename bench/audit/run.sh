#!/usr/bin/env bash
# Audit overhead benchmark: authenticated page views per second of an audited page
# (/admin/users/{id}, one `record_read` audit entry per view) with read auditing on and off,
# 32 concurrent connections, on SQLite and on PostgreSQL (own database, created and dropped).
# Load comes from wrk; the server is crates/web/examples/audit_bench_server.rs (release).
#
# Usage: bash bench/audit/run.sh [seconds per run, default 15]
# Env:   PATHWAYS_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DURATION=${1:-15}
CONNECTIONS=32
THREADS=2
ROUNDS=${ROUNDS:-2}
PG_ADMIN_URL=${PATHWAYS_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=bench/out/audit
mkdir -p "$OUT"

if ! command -v wrk >/dev/null 2>&1; then
  apt-get install -y wrk >/dev/null
fi
cargo build --release -q -p pathways-web --example audit_bench_server
SERVER="$TARGET/release/examples/audit_bench_server"

work=$(mktemp -d)
pg_db="pathways_bench_audit_$$"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

pg_url() { echo "${PG_ADMIN_URL%/*}/$pg_db"; }

# Runs one measurement; prints "requests_per_second p99_ms".
measure() {
  local database=$1 mode=$2 log="$work/server.log"
  # One signing key for the whole run: each database is reopened by every round.
  "$SERVER" --database "$database" --audit-reads "$mode" --audit-key "$work/audit-key.pem" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q '^READY ' "$log" && break; sleep 0.1; done
  read -r _ url cookie < <(grep '^READY ' "$log")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "Cookie: $cookie" "$url" >/dev/null
  local result="$OUT/$3-$mode-$4.txt"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Cookie: $cookie" "$url" >"$result"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  local rps p99 unit non2xx
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$result")
  if [ -n "$non2xx" ]; then echo "error: $non2xx non-2xx responses in $result" >&2; exit 1; fi
  rps=$(awk '/Requests\/sec/ {print $2}' "$result")
  p99=$(awk '$1 == "99%" {print $2}' "$result")
  # wrk prints us, ms or s.
  case "$p99" in
    *us) p99=$(awk -v v="${p99%us}" 'BEGIN {printf "%.2f", v / 1000}') ;;
    *ms) p99=${p99%ms} ;;
    *s) p99=$(awk -v v="${p99%s}" 'BEGIN {printf "%.2f", v * 1000}') ;;
  esac
  echo "$rps $p99"
}

printf '%-10s %-6s %5s %12s %10s\n' backend audit round "req/s" "p99 ms"
declare -A sum_rps worst_p99
for backend in sqlite postgres; do
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $pg_db" >/dev/null
    database=$(pg_url)
  else
    database="$work/bench.db"
  fi
  for round in $(seq 1 "$ROUNDS"); do
    for mode in off on; do
      read -r rps p99 < <(measure "$database" "$mode" "$backend" "$round")
      printf '%-10s %-6s %5s %12s %10s\n' "$backend" "$mode" "$round" "$rps" "$p99"
      key="$backend-$mode"
      sum_rps[$key]=$(awk -v a="${sum_rps[$key]:-0}" -v b="$rps" 'BEGIN {print a + b}')
      worst_p99[$key]=$(awk -v a="${worst_p99[$key]:-0}" -v b="$p99" 'BEGIN {print (b > a ? b : a)}')
    done
  done
done

echo
printf '%-10s %14s %14s %8s %14s %14s\n' backend "off req/s" "on req/s" ratio "off p99 ms" "on p99 ms"
for backend in sqlite postgres; do
  off=$(awk -v s="${sum_rps[$backend-off]}" -v n="$ROUNDS" 'BEGIN {printf "%.0f", s / n}')
  on=$(awk -v s="${sum_rps[$backend-on]}" -v n="$ROUNDS" 'BEGIN {printf "%.0f", s / n}')
  ratio=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.2f", a / b}')
  printf '%-10s %14s %14s %8s %14s %14s\n' "$backend" "$off" "$on" "$ratio" "${worst_p99[$backend-off]}" "${worst_p99[$backend-on]}"
done
echo "(target: audited/unaudited >= 0.70, p99 < 25 ms; raw wrk output in $OUT)"
