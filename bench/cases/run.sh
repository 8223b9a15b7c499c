#!/usr/bin/env bash
# Caseload page latency with 200,000 generated cases on SQLite: builds the bench in release,
# generates the data once (cached under bench/out/cases), renders each caseload view through
# the real router and prints p50/p95/p99 and the ratio to the bare SQL the page runs.
#
# Usage: bash bench/cases/run.sh [cases, default 200000] [requests per view, default 300]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CASES=${1:-200000}
REQUESTS=${2:-300}
OUT=../out/cases
mkdir -p "$OUT"
cp -n ../../Cargo.lock Cargo.lock 2>/dev/null || true
cargo build --release -q
"${CARGO_TARGET_DIR:-target}/release/pathways-cases-bench" "$OUT/cases-$CASES.db" "$CASES" "$REQUESTS"
