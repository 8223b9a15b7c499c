#!/usr/bin/env bash
# Referral write bursts on three instances sharing one PostgreSQL database, for two builds
# side by side (for example the build before referral numbers came from a sequence, and
# after): acknowledged writes per second, latency, and how often a PostgreSQL session was
# waiting on a row lock during the burst (pg_stat_activity sampled every 50 ms).
#
# Usage: BEFORE=/path/to/old/pathways AFTER=/path/to/new/pathways \
#          bash bench/instances/referrals.sh [writes per burst, default 4000] [rounds, default 2]
# Env:   PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres), CONCURRENCY (48)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
WRITES=${1:-4000}
ROUNDS=${2:-2}
CONCURRENCY=${CONCURRENCY:-48}
: "${BEFORE:?set BEFORE to the pathways binary to compare against}"
AFTER=${AFTER:-target/release/pathways}
[ -x "$AFTER" ] || cargo build --release -q -p pathways-cli

one_burst() {
  local label=$1
  BIN=$2
  WORK=$(mktemp -d)
  (
    source bench/instances/cluster.sh
    trap cluster_cleanup EXIT
    cluster_setup
    sink_start 0
    for i in 0 1 2; do instance_start "$i"; done
    : >"$WORK/waits"
    (
      while :; do
        pg "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity WHERE datname = '$CLUSTER_DB'" >>"$WORK/waits" 2>/dev/null || true
        sleep 0.05
      done
    ) &
    sampler=$!
    summary=$(python3 bench/instances/load.py --targets "$(targets)" --token "$TOKEN" \
      --writes "$WRITES" --seconds 600 --concurrency "$CONCURRENCY" --acked "$WORK/acked")
    kill "$sampler" 2>/dev/null || true
    samples=$(wc -l <"$WORK/waits")
    waiting=$(awk '$1 > 0' "$WORK/waits" | wc -l)
    mean=$(awk '{ s += $1 } END { printf "%.2f", (NR ? s / NR : 0) }' "$WORK/waits")
    stored=$(pg "SELECT count(*) FROM referrals")
    echo "$label: $summary"
    echo "$label: lock waits in $waiting of $samples samples (mean $mean sessions waiting); referrals stored $stored"
  )
  rm -rf "$WORK"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round: $WRITES writes, $CONCURRENCY concurrent, 3 instances"
  one_burst before "$BEFORE"
  one_burst after "$AFTER"
done
