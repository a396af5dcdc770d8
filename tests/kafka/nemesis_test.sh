#!/usr/bin/env bash
# The real-broker nemesis (nemesis/, kvsim --live --nemesis) on a local KRaft
# cluster this test starts: 3 broker-only nodes, the quorum on 3 controller-only
# nodes, each node in its own network namespace.
#   safe:   acks=all, idempotence, RF 3, min.insync.replicas=2, clean elections,
#           under kill-leader, pause-leader and partition-leader: kvsim exits 0
#           (no lost or duplicated acknowledged write; read-your-writes and
#           convergence hold).
#   unsafe: RF 3, min.insync.replicas=1, unclean.leader.election.enable=true,
#           under kill-lone-leader: kvsim exits 1 with lost-write violations,
#           each named with when it was acknowledged.
# Needs Java and the Kafka jars (scripts/kafka-cluster fetch), root and `ip`
# (network namespaces); without them it says SKIPPED and records a skipped
# case. Usage: nemesis_test.sh KVSIM KAFKA_CLUSTER_SCRIPT TEST_SKIP_SH
set -uo pipefail
kvsim="$1" cluster="$2"
out="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"

# shellcheck source=scripts/test-skip.sh
source "$3"
skip() { skip_test nemesis_test "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

# A cluster of its own, away from scripts/kafka-cluster's default; the jar
# cache of the user running this.
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"
kraft_cluster_init nemesis "$cluster" 29492 "$tmp/cluster"

command -v java >/dev/null 2>&1 || skip "java not found (the KRaft cluster needs a JDK 17)"
bash "$cluster" fetch >"$tmp/fetch.log" 2>&1 || skip "the Kafka jars are not there and could not be fetched: $(tail -n 1 "$tmp/fetch.log")"
[[ $(id -u) == 0 ]] || skip "network namespaces need root"
command -v ip >/dev/null 2>&1 || skip "the ip command (iproute2) is missing"

echo "== starting 3 brokers + 3 controllers in network namespaces (logs: $out/brokers)"
start=$SECONDS
kraft_cluster_start --brokers 3 --controllers 3 --netns --run-dir "$out/brokers" \
  --broker-config broker.session.timeout.ms=4000 --broker-config broker.heartbeat.interval.ms=500 \
  --broker-config replica.lag.time.max.ms=3000 || fail "kafka-cluster start failed (its messages are above)"
echo "   $brokers in $((SECONDS - start)) s"

common=(--live --brokers "$brokers" --cluster-script "$cluster" --clients 3 --replication-factor 3
        --nemesis-first-ms 500 --nemesis-gap-ms 1000 --connect-timeout-ms 30000)

echo "== safe settings under kill-leader, pause-leader, partition-leader"
start=$SECONDS
timeout 600 "$kvsim" "${common[@]}" --seed 1 --ops 200 --nemesis kill-leader,pause-leader,partition-leader \
  --nemesis-cycle --nemesis-max 3 --nemesis-duration-ms 6000 --topic-config min.insync.replicas=2 \
  --out "$out/safe.jsonl" >"$out/safe.txt" 2>&1
rc=$?
cat "$out/safe.txt"
echo "   exit $rc in $((SECONDS - start)) s"
((rc == 0)) || fail "safe settings: kvsim exited $rc (want 0)"
for want in "durability: valid" "session: valid" "convergence: valid" "broker nemesis: 3 faults"; do
  grep -q "$want" "$out/safe.txt" || fail "safe settings: the report lacks '$want'"
done
for f in kill restart pause resume start-partition stop-partition; do
  grep -q "\"f\":\"$f\"" "$out/safe.jsonl" || fail "safe settings: no '$f' nemesis line in the history"
done
grep -q "leader .* -> " "$out/safe.txt" || fail "safe settings: no leader change reported"

echo "== unsafe settings (min.insync.replicas=1, unclean election) under kill-lone-leader"
start=$SECONDS
timeout 600 "$kvsim" "${common[@]}" --seed 2 --ops 200 --nemesis kill-lone-leader --nemesis-max 1 \
  --nemesis-duration-ms 6000 --topic-config min.insync.replicas=1 \
  --topic-config unclean.leader.election.enable=true --out "$out/unsafe.jsonl" >"$out/unsafe.txt" 2>&1
rc=$?
cat "$out/unsafe.txt"
echo "   exit $rc in $((SECONDS - start)) s"
((rc == 1)) || fail "unsafe settings: kvsim exited $rc (want 1: lost writes found)"
grep -q "lost-write: acknowledged" "$out/unsafe.txt" || fail "unsafe settings: no lost-write violation"
grep -q "lost or duplicated acknowledged writes" "$out/unsafe.txt" || fail "unsafe settings: losses not timed"
grep -q "\"f\":\"kill\"" "$out/unsafe.jsonl" || fail "unsafe settings: no kill in the history"
echo "PASS"
