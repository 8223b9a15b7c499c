#!/usr/bin/env bash
# Person matching benchmark: Pathways against Splink (DuckDB backend) on the same generated
# lists with known truth, in one run; then candidate lookup latency against 1,000,000 people.
#
# Usage: bench/matching/run.sh [SIZES...]   (default: 10000 100000 records per list)
# Needs python3 (with venv) and network access to PyPI the first time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000 100000)
VENV="$ROOT/bench/.venv"
OUT="$ROOT/bench/out/matching"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LOOKUP_PEOPLE="${LOOKUP_PEOPLE:-1000000}"
MAP="id=id,first_name=first_name,middle_names=middle_names,surname=surname,dob=dob,approx_birth_year=approx_birth_year,gender=gender,postcode=postcode,address_line=address_line,phone=phone,school=school,email=email"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# splink_run.py reads and writes with pandas itself; Splink 5 no longer brings it along.
"$VENV/bin/pip" install -q "splink==5.0.0" "duckdb==2.0.1" pandas
SPLINK_VERSION="$("$VENV/bin/python" -c 'import splink; print(splink.__version__)')"
DUCKDB_VERSION="$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"

CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p pathways-matching --example match_csv --example generate --example lookup_latency
BIN="$TARGET/release/examples"

now() { python3 -c 'import time; print(time.perf_counter())'; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
# Pathways wall time counts the whole process (reading, training, scoring, writing); Splink's
# counts cleaning, training and prediction but not the Python import, which favours Splink.
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

echo "splink $SPLINK_VERSION, duckdb $DUCKDB_VERSION, $(nproc) cores, $(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| records per list | tool | precision | recall | F1 @0.5 | best F1 | wall seconds | CPU seconds |\n|---|---|---|---|---|---|---|---|\n'
SUMMARY=""
for n in "${SIZES[@]}"; do
  dir="$OUT/$n"
  mkdir -p "$dir"
  "$BIN/generate" "$n" 2026 "$dir" > /dev/null

  python3 bench/matching/timed.py "$dir/pathways.time" \
    "$BIN/match_csv" match "$dir/a.csv" "$dir/b.csv" --map "$MAP" --threshold 0.01 --out "$dir/pathways.csv" 2> "$dir/pathways.log"
  read -r ours_s ours_cpu < "$dir/pathways.time"
  ours=$(python3 bench/matching/evaluate.py "$dir/truth.csv" "$dir/pathways.csv" 0.5)

  t0=$(now)
  splink_out=$("$VENV/bin/python" bench/matching/splink_run.py "$dir/a.csv" "$dir/b.csv" "$dir/splink.csv" 2> "$dir/splink.log")
  t1=$(now)
  splink_total=$(elapsed "$t0" "$t1")
  splink_s=$(echo "$splink_out" | field seconds)
  splink_cpu=$(echo "$splink_out" | field cpu_seconds)
  theirs=$(python3 bench/matching/evaluate.py "$dir/truth.csv" "$dir/splink.csv" 0.5)

  for tool in pathways splink; do
    if [ $tool = pathways ]; then r="$ours"; s="$ours_s"; c="$ours_cpu"; else r="$theirs"; s="$splink_s (process $splink_total)"; c="$splink_cpu"; fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$tool" "$(echo "$r" | field precision)" \
      "$(echo "$r" | field recall)" "$(echo "$r" | field f1)" "$(echo "$r" | field best_f1)" "$s" "$c"
  done
  f1_ratio=$(python3 -c "print(f'{$(echo "$ours" | field f1) / $(echo "$theirs" | field f1):.3f}')")
  time_ratio=$(python3 -c "print(f'{$ours_s / $splink_s:.3f}')")
  cpu_ratio=$(python3 -c "print(f'{$ours_cpu / $splink_cpu:.3f}')")
  SUMMARY+="$n per list: F1 Pathways/Splink = $f1_ratio (target >= 1); wall time Pathways/Splink = $time_ratio, CPU time = $cpu_ratio (target <= 0.1)"$'\n'
done
printf '\n%s' "$SUMMARY"

echo
echo "Candidate lookup against $LOOKUP_PEOPLE people (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
"$BIN/lookup_latency" "$LOOKUP_PEOPLE" 2000
