# Shared by bench/instances/referrals.sh and bench/soak/run.sh (sourced, not run): several
# `pathways serve` processes on one fresh PostgreSQL database, a slow SMTP relay, a partner
# API token. Everything listens on 127.0.0.1 and is stopped and dropped on exit.
#
# Needs: BIN (the pathways binary), WORK (a scratch folder), PG_ADMIN_URL.

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
CLUSTER_DB="pathways_bench_$$_$RANDOM"
CLUSTER_URL="${PG_ADMIN_URL%/*}/$CLUSTER_DB"
SMTP_PORT=$((20000 + RANDOM % 20000))
declare -a PIDS=() PORTS=()
SINK_PID=""

cluster_cleanup() {
  for pid in "${PIDS[@]}" $SINK_PID; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  psql "$PG_ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $CLUSTER_DB WITH (FORCE)" >/dev/null 2>&1 || true
}

pg() { psql "$CLUSTER_URL" -qAtc "$1"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Creates the database, schema, an agency, an administrator and a partner API token
# (printed into TOKEN).
cluster_setup() {
  psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $CLUSTER_DB" >/dev/null
  "$BIN" migrate --database "$CLUSTER_URL" --log warn >/dev/null
  "$BIN" admin agency add --database "$CLUSTER_URL" --kind police "Bench Police" >/dev/null
  "$BIN" admin user invite --database "$CLUSTER_URL" --agency "Bench Police" \
    --email admin@police.example --name "Bench Admin" --role administrator >/dev/null
  TOKEN=$("$BIN" admin token create --database "$CLUSTER_URL" --name bench \
    --agency "Bench Police" --scope make_referral | sed -n 's/^secret .*: //p')
  [ -n "$TOKEN" ] || { echo "no API token was printed" >&2; exit 1; }
}

# Starts the slow relay (delay in seconds) logging Message-IDs to $WORK/mail.log.
sink_start() {
  : >"$WORK/mail.log"
  python3 "$(dirname "${BASH_SOURCE[0]}")/smtp_sink.py" --port "$SMTP_PORT" --delay "$1" \
    --log "$WORK/mail.log" &
  SINK_PID=$!
}

# Starts instance $1 (0-based) on a free port; waits until it is ready.
instance_start() {
  local i=$1
  local port=${PORTS[$i]:-$(free_port)}
  PORTS[$i]=$port
  local proxy=()
  # Builds from before the setting existed are compared too.
  if "$BIN" serve --help | grep -q -- --trusted-proxy; then proxy=(--trusted-proxy 127.0.0.1); fi
  # Instances of one deployment sign the shared audit log with one key file.
  if "$BIN" serve --help | grep -q -- --audit-key; then proxy+=(--audit-key "$WORK/audit-signing-key.pem"); fi
  PATHWAYS_SMTP_HOST=127.0.0.1 PATHWAYS_SMTP_PORT=$SMTP_PORT \
    "$BIN" serve --database "$CLUSTER_URL" --listen "127.0.0.1:$port" \
    "${proxy[@]}" --log warn >>"$WORK/instance-$i.log" 2>&1 &
  PIDS[$i]=$!
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[$i]}" 2>/dev/null || { echo "instance $i exited; see $WORK/instance-$i.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "instance $i never became ready" >&2
  exit 1
}

targets() {
  local out=""
  for p in "${PORTS[@]}"; do out="${out:+$out,}http://127.0.0.1:$p"; done
  echo "$out"
}
