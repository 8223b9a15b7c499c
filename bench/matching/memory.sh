#!/usr/bin/env bash
# Peak memory of matching a large CSV file: the file is streamed, so memory follows the
# records read, not the file's size. Builds a file of ROWS people (from the generator) whose
# every row also carries an unmapped notes column of NOTE_BYTES, so the file is about
# ROWS x NOTE_BYTES bytes (defaults: 200,000 x 10,000 = 2 GB), matches it against 1,000
# people and prints the peak resident memory (GNU time).
#
# Usage: bench/matching/memory.sh [ROWS] [NOTE_BYTES]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
ROWS="${1:-200000}"
NOTE_BYTES="${2:-10000}"
OUT="$ROOT/bench/out/matching/memory"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$OUT"
CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p pathways-matching --example match_csv --example generate
BIN="$TARGET/release/examples"
"$BIN/generate" "$ROWS" 11 "$OUT/people" > /dev/null
"$BIN/generate" 1000 12 "$OUT/small" > /dev/null
python3 - "$OUT/people/a.csv" "$OUT/big.csv" "$NOTE_BYTES" <<'PY'
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
note = "x" * n
with open(src) as f, open(dst, "w") as out:
    out.write(f.readline().rstrip("\n") + ",notes\n")
    for line in f:
        out.write(line.rstrip("\n") + "," + note + "\n")
PY
echo "file: $(du -h "$OUT/big.csv" | cut -f1), $ROWS records"
MAP="id=id,first_name=first_name,surname=surname,dob=dob,postcode=postcode,address_line=address_line,phone=phone"
/usr/bin/time -f "peak resident memory %M KB, %e s wall" \
  "$BIN/match_csv" match "$OUT/small/a.csv" "$OUT/big.csv" --map "$MAP" --out "$OUT/pairs.csv"
rm -f "$OUT/big.csv"
