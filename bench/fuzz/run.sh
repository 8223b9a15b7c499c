#!/usr/bin/env bash
# Long fuzzing of every input-taking target (police.uk importer, ORUK importer, people-match
# CSV reader, referral API, scoring API): rounds of ROUND_SECS per target until HOURS are
# up. Each round draws fresh random inputs; a failing input is shrunk and saved under
# crates/web/tests/fuzz-corpus/<target>/, where every later test run replays it.
#
#   bench/fuzz/run.sh HOURS [ROUND_SECS]      e.g. bench/fuzz/run.sh 1.5
#
# Real samples come from the shared data folder when present (PATHWAYS_SHARED_DIR, else
# ../shared/data beside the workspace). The log goes to target/fuzz/run-<time>.log and a
# summary (inputs per target, failures) is printed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

hours=${1:?usage: bench/fuzz/run.sh HOURS [ROUND_SECS]}
round=${2:-600}
total=$(python3 -c "print(int(float('$hours') * 3600))")
mkdir -p target/fuzz
log="target/fuzz/run-$(date -u +%Y%m%dT%H%M%SZ).log"
targets=(police_uk_import oruk_import people_match_csv referral_api score_api)

# The workspace build, as the test suite and CI make it (no second build); the test binary
# is copied so that editing the sources while this runs changes nothing.
binary=$(cargo nextest list --workspace --message-format json -E 'binary_id(pathways-web::it)' 2>/dev/null |
  python3 -c "import json,sys; d=json.load(sys.stdin); print(d['rust-suites']['pathways-web::it']['binary-path'])")
cp "$binary" target/fuzz/it
echo "fuzzing ${#targets[@]} targets for ${hours} h in rounds of ${round} s; log: $log"
started=$SECONDS
failures=0
while [ $((SECONDS - started)) -lt "$total" ]; do
  for t in "${targets[@]}"; do
    left=$((total - (SECONDS - started)))
    [ "$left" -le 0 ] && break
    secs=$((left < round ? left : round))
    if ! PATHWAYS_FUZZ_SECS=$secs target/fuzz/it --exact "fuzz::fuzz_${t}" --nocapture >>"$log" 2>&1; then
      failures=$((failures + 1))
      echo "target $t failed; see $log"
    fi
  done
done
elapsed=$((SECONDS - started))
echo "ran $(python3 -c "print(round($elapsed / 3600, 2))") h"
# Inputs per target, summed over rounds.
grep -E '^fuzz [a-z_]+: [0-9]+ inputs' "$log" | awk '{n[$2] += $3} END {for (t in n) printf "%-22s %12d inputs\n", t, n[t]}' | sort
grep -E '^fuzz [a-z_]+: answers' "$log" | tail -n 2 || true
echo "failures: $failures; saved inputs: $(find crates/web/tests/fuzz-corpus -type f 2>/dev/null | wc -l)"
[ "$failures" -eq 0 ]
