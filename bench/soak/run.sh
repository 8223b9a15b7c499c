#!/usr/bin/env bash
# Soak: three `pathways serve` processes on one PostgreSQL database behind one address,
# for a bounded time, with mixed referral writes and reads through the partner API,
# a burst of 150 queued e-mails then invitations (e-mail through the outbox to a relay
# taking 0.1 s a message), and kill -9
# of one instance at a random moment (restarted 5 s later). Then it checks that no
# acknowledged write was lost, that every acknowledged write was audited, that the audit
# chain verifies, and that each outbox message reached the relay exactly once.
#
# Usage: bash bench/soak/run.sh [seconds, default 120]
# Env:   BIN (default target/release/pathways, built when missing), PG_ADMIN_URL,
#        CONCURRENCY (default 24), SEED (for the kill's moment and victim)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DURATION=${1:-120}
CONCURRENCY=${CONCURRENCY:-24}
BIN=${BIN:-target/release/pathways}
[ -x "$BIN" ] || cargo build --release -q -p pathways-cli
RANDOM=${SEED:-$$}
WORK=$(mktemp -d)
source bench/instances/cluster.sh
trap 'cluster_cleanup; rm -rf "$WORK"' EXIT

cluster_setup
sink_start 0.1
for i in 0 1 2; do instance_start "$i"; done
echo "soak: ${DURATION}s, 3 instances on ports ${PORTS[*]}, $CONCURRENCY clients"

# A burst of 150 e-mails queued at once, as a bulk invitation would: every instance's
# sender finds them due together.
pg "INSERT INTO outbox (id, channel, recipient, subject, body, idempotency_key, created_at, next_attempt_at)
    SELECT md5(random()::text || g), 'email', 'burst' || g || '@police.example', 'Invitation', 'Hello.',
           'burst-' || g, extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint
    FROM generate_series(1, 150) AS g" >/dev/null

python3 bench/instances/load.py --targets "$(targets)" --token "$TOKEN" --seconds "$DURATION" \
  --concurrency "$CONCURRENCY" --read-ratio 0.5 --acked "$WORK/acked" >"$WORK/load.json" &
load=$!

# Invitations while the load runs: each queues one e-mail.
(
  n=0
  end=$((SECONDS + DURATION))
  while [ $SECONDS -lt $end ]; do
    "$BIN" admin user invite --database "$CLUSTER_URL" --agency "Bench Police" \
      --email "staff$n@police.example" --name "Staff $n" --role practitioner >/dev/null 2>&1 && n=$((n + 1))
    sleep 0.5
  done
  echo "$n" >"$WORK/invited"
) &
inviter=$!

victim=$((RANDOM % 3))
at=$((DURATION / 5 + RANDOM % (DURATION * 2 / 5 + 1)))
sleep "$at"
kill -9 "${PIDS[$victim]}"
echo "killed instance $victim (kill -9) at ${at}s"
sleep 5
instance_start "$victim"
echo "restarted instance $victim"
wait "$load"
wait "$inviter"

status=0
fail() { echo "FAIL: $*"; status=1; }
echo "load: $(cat "$WORK/load.json")"

acked=$(grep -c . "$WORK/acked" || true)
psql "$CLUSTER_URL" -qAt >"$WORK/found" <<SQL
CREATE TEMP TABLE acked (reference TEXT PRIMARY KEY);
\copy acked FROM '$WORK/acked'
SELECT count(*) FROM acked a JOIN referrals r ON r.reference = a.reference;
SELECT count(*) FROM acked a JOIN referrals r ON r.reference = a.reference
  WHERE EXISTS (SELECT 1 FROM audit_log l WHERE l.record_type = 'referral' AND l.action = 'create' AND l.record_id = r.id);
SQL
found=$(sed -n 1p "$WORK/found")
audited=$(sed -n 2p "$WORK/found")
stored=$(pg "SELECT count(*) FROM referrals")
unaudited=$(pg "SELECT count(*) FROM referrals r WHERE NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.record_type = 'referral' AND l.action = 'create' AND l.record_id = r.id)")
echo "writes: $acked acknowledged, $found of them stored, $audited of them audited; $stored stored in all ($unaudited without an audit entry: written, never acknowledged, process killed before auditing)"
[ "$found" = "$acked" ] || fail "acknowledged writes lost: $((acked - found))"
[ "$audited" = "$acked" ] || fail "acknowledged writes not audited: $((acked - audited))"

if "$BIN" audit verify --database "$CLUSTER_URL" --audit-key "$WORK/audit-signing-key.pem" >"$WORK/verify" 2>&1; then
  echo "audit chain: $(tail -n 1 "$WORK/verify")"
else
  fail "audit verify: $(cat "$WORK/verify")"
fi

# A message claimed by the killed instance waits for its lease (5 minutes) to run out.
for _ in $(seq 1 450); do
  pending=$(pg "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
  [ "$pending" = 0 ] && break
  sleep 1
done
queued=$(pg "SELECT count(*) FROM outbox WHERE channel = 'email'")
sent=$(pg "SELECT count(*) FROM outbox WHERE channel = 'email' AND sent_at IS NOT NULL")
deliveries=$(grep -c . "$WORK/mail.log" || true)
distinct=$(sort -u "$WORK/mail.log" | grep -c . || true)
echo "e-mail: 150 in a burst and $(cat "$WORK/invited") invitations, $queued queued, $sent sent, $deliveries deliveries of $distinct distinct messages"
[ "$pending" = 0 ] || fail "$pending messages still unsent"
[ "$deliveries" = "$distinct" ] || fail "$((deliveries - distinct)) repeated deliveries"
[ "$distinct" = "$sent" ] || fail "$sent marked sent but $distinct received"
[ $status -eq 0 ] && echo "soak passed"
exit $status
