#!/usr/bin/env bash
# Schema-driven API fuzzing with schemathesis (from PyPI, in a venv this script makes) of
# both OpenAPI documents Pathways serves: /api/v1/openapi.json (with an API token holding
# every scope the API uses) and /oruk/openapi.json (open). The server runs on the demo
# borough, so lists, cases and the directory have data. The checks: no server error, and
# every response as documented (status code, content type, headers, body schema). CHECKS
# overrides them (CHECKS=all adds schemathesis's heuristics about which inputs should be
# accepted, which the documents do not spell out).
#
#   bench/schemathesis/run.sh [MAX_TIME_SECS_PER_DOCUMENT]     (default 60; CI uses 20)
#
# Prints the counts per document and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

max_time=${1:-60}
checks=${CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}
version=4.32.5
venv=target/schemathesis-venv
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi
# The binary of the workspace build the test suite makes (already there after the tests),
# built the same way so that nothing is compiled twice.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-run >/dev/null 2>&1
else
  cargo test --workspace --no-run --quiet
fi
bin=target/debug/pathways

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" demo --no-serve --data-dir "$work" >"$work/demo.log" 2>&1
db="$work/pathways-demo.db"
token=$("$bin" admin token create --database "$db" --audit-key "$work/audit-signing-key.pem" \
  --name "API fuzzing" --agency "Riverside Council Early Help and Outreach" \
  --by sam.whitfield@riverside.example \
  --scope make_referral --scope work_cases --scope administer --scope view_insight 2>/dev/null |
  grep -o 'pw_[A-Za-z0-9_-]*' | head -n 1)
[ -n "$token" ] || { echo "no token was made" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin" serve --listen "127.0.0.1:$port" --database "$db" --data-dir "$work" \
  --audit-key "$work/audit-signing-key.pem" --public-url "$base" --log warn >"$work/serve.log" 2>&1 &
server=$!
python3 - "$base/healthz" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("the server did not start")
PY

status=0
run() {
  local name=$1 url=$2
  shift 2
  echo "== $name: $url (up to ${max_time} s)"
  # The report names every failure; the summary line has the counts.
  if ! "$venv/bin/st" run "$url" --checks "$checks" --max-time "$max_time" --workers 2 \
    --no-color --seed 2026 "$@" 2>&1 | tee "$work/$name.log" | tail -n 40; then
    status=1
  fi
  grep -Eo '[0-9]+ (test cases|generated|passed|failed|errors?|skipped)[^,]*' "$work/$name.log" | sort -u || true
  mkdir -p target/schemathesis
  cp "$work/$name.log" "target/schemathesis/$name.log"
}
run api "$base/api/v1/openapi.json" -H "Authorization: Bearer $token"
run oruk "$base/oruk/openapi.json"
if grep -qE 'panicked|ERROR' "$work/serve.log"; then
  echo "the server logged errors:" >&2
  grep -E 'panicked|ERROR' "$work/serve.log" | head -n 20 >&2
  status=1
fi
exit $status
