#!/usr/bin/env bash
# kvsim --workload ttl | watch end to end: verdicts and exit codes, the
# broken variants caught with replay commands, byte-identical replays, and
# JSONL histories that kvcheck judges the same way (the expiry and watch
# checks), failing variants included.
set -uo pipefail
kvsim=$(readlink -f "$1")
kvcheck=$(readlink -f "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source tools/cli/test_lib.sh

# TTL: the correct client passes; its history carries the deadlines and the
# skew bound, and kvcheck judges it with convergence and expiry.
out=$("$kvsim" --workload ttl --seed 2 --out "$tmp/ttl.jsonl"); code=$?
[ $code -eq 0 ] || fail "ttl seed 2 exited $code: $out"
grep -q "seed 2: PASS" <<<"$out" || fail "ttl seed 2: $out"
grep -q "expiry: valid" <<<"$out" || fail "ttl: no valid expiry report: $out"
grep -q '^{"expiry":{.*"skew_bound":[1-9]' "$tmp/ttl.jsonl" || fail "ttl history has no expiry line"
grep -q '"deadline":[0-9]' "$tmp/ttl.jsonl" || fail "ttl history has no deadlines"
"$kvsim" --workload ttl --seed 2 --out "$tmp/ttl2.jsonl" >/dev/null || fail "ttl seed 2 replay"
cmp -s "$tmp/ttl.jsonl" "$tmp/ttl2.jsonl" || fail "the same ttl seed wrote different histories"
"$kvcheck" "$tmp/ttl.jsonl" >"$tmp/check"; code=$?
[ $code -eq 0 ] || fail "kvcheck judged the ttl history $code: $(cat "$tmp/check")"
grep -q "expiry: valid" "$tmp/check" || fail "kvcheck ttl: $(cat "$tmp/check")"
grep -q "convergence: valid" "$tmp/check" || fail "kvcheck ttl: $(cat "$tmp/check")"

# The broken TTL variants fail in kvsim (exit 1, a replay command) and in
# kvcheck from the file kvsim wrote.
for variant in apply-time-expiry clock-beyond-bound; do
  out=$("$kvsim" --workload ttl --seeds 1..3 --variant "$variant" --out "$tmp/$variant.jsonl"); code=$?
  [ $code -eq 1 ] || fail "ttl variant $variant exited $code, want 1: $out"
  grep -q "replay with: kvsim --seed [0-9]* --workload ttl --variant $variant" <<<"$out" ||
    fail "ttl $variant: no replay command: $out"
  "$kvcheck" "$tmp/$variant.jsonl" >"$tmp/check"; code=$?
  [ $code -eq 1 ] || fail "kvcheck judged the $variant history $code, want 1: $(cat "$tmp/check")"
done
grep -q "expired-read" "$tmp/check" || fail "clock-beyond-bound: no expired-read: $(cat "$tmp/check")"

# Watch: the correct client passes (watchers fell behind and resumed).
out=$("$kvsim" --workload watch --seed 1 --out "$tmp/watch.jsonl" --html "$tmp/watch.html"); code=$?
[ $code -eq 0 ] || fail "watch seed 1 exited $code: $out"
grep -q "watch: valid" <<<"$out" || fail "watch seed 1: $out"
grep -q "fell behind and resumed" <<<"$out" || fail "watch seed 1 account: $out"
grep -qi "<html" "$tmp/watch.html" || fail "no HTML report of the watch run"
"$kvcheck" "$tmp/watch.jsonl" >"$tmp/check"; code=$?
[ $code -eq 0 ] || fail "kvcheck judged the watch history $code: $(cat "$tmp/check")"
grep -q "watch: valid" "$tmp/check" || fail "kvcheck watch: $(cat "$tmp/check")"
out=$("$kvsim" --workload watch --seed 1 --variant watch-drop --out "$tmp/drop.jsonl"); code=$?
[ $code -eq 1 ] || fail "watch-drop exited $code, want 1: $out"
grep -q "dropped by the consumer" <<<"$out" || fail "watch-drop account: $out"
"$kvcheck" "$tmp/drop.jsonl" >"$tmp/check"; code=$?
[ $code -eq 1 ] || fail "kvcheck judged the watch-drop history $code, want 1: $(cat "$tmp/check")"
grep -q "watch: invalid" "$tmp/check" || fail "kvcheck watch-drop: $(cat "$tmp/check")"

# What does not apply to these workloads is a usage error naming it.
usage() { expect_usage kvsim "$kvsim" "$@"; }
usage "--variant 'early-ack' is not one of the ttl workload's: correct, apply-time-expiry, clock-beyond-bound" \
  --workload ttl --variant early-ack
usage "--variant 'apply-time-expiry' is not one of the watch workload's: correct, watch-drop" \
  --workload watch --variant apply-time-expiry
usage "--faults does not apply to --workload ttl --live" --workload ttl --live --faults latency
usage "fault 'crash' does not apply to the ttl and watch workloads" --workload watch --faults crash
usage "unknown fault 'nope'" --workload ttl --faults nope
usage "--brokers needs --live" --workload watch --brokers 127.0.0.1:9092
usage "--live runs one seed" --workload ttl --live --seeds 1..2
usage "--nemesis does not apply to --workload watch" --workload watch --live --nemesis kill-leader
usage "--swarm does not apply to --workload ttl" --workload ttl --swarm
usage "--summary does not apply to --workload watch" --workload watch --seeds 1..2 --summary "$tmp/s.jsonl"
usage "--run-dir takes one seed" --workload ttl --seeds 1..2 --run-dir "$tmp/rdx"

# --run-dir: the run folder of one seed (parameters, history, reports, replay
# command), and replay.sh gives the same history.
out=$("$kvsim" --workload ttl --seed 3 --run-dir "$tmp/ttlrd"); code=$?
[ $code -eq 0 ] || fail "ttl --run-dir exited $code: $out"
for f in parameters.txt history.jsonl report.txt report.json report.html replay.sh; do
  [ -s "$tmp/ttlrd/$f" ] || fail "the ttl run folder lacks $f: $(ls "$tmp/ttlrd")"
done
grep -q "^workload: ttl" "$tmp/ttlrd/parameters.txt" || fail "parameters.txt: $(cat "$tmp/ttlrd/parameters.txt")"
grep -q "expiry: valid" "$tmp/ttlrd/report.txt" || fail "report.txt: $(cat "$tmp/ttlrd/report.txt")"
grep -q '"verdict"' "$tmp/ttlrd/report.json" || fail "report.json: $(head -c 300 "$tmp/ttlrd/report.json")"
(cd "$tmp/ttlrd" && PATH="$(dirname "$kvsim"):$PATH" sh replay.sh --out "$tmp/ttlrd-again.jsonl" >/dev/null) ||
  fail "replay.sh of the ttl run failed"
cmp -s "$tmp/ttlrd/history.jsonl" "$tmp/ttlrd-again.jsonl" || fail "the ttl replay.sh gave another history"

# The registry's safe faults (all but crash) on the simulator: the correct
# clients pass, the broken variants are still caught.
safe="latency,lagging-reader,paused-reader,client-partition,lost-ack,failed-append,outage,replication-delay,failover,compaction,corrupt"
out=$("$kvsim" --workload watch --seeds 1..3 --faults "$safe"); code=$?
[ $code -eq 0 ] || fail "watch with the safe faults exited $code: $out"
out=$("$kvsim" --workload ttl --seeds 1..3 --faults "$safe"); code=$?
[ $code -eq 0 ] || fail "ttl with the safe faults exited $code: $out"
out=$("$kvsim" --workload watch --seed 1 --variant watch-drop --faults "$safe"); code=$?
[ $code -eq 1 ] || fail "watch-drop with the safe faults exited $code, want 1: $out"
grep -q "replay with: kvsim --seed 1 --workload watch --variant watch-drop --faults $safe" <<<"$out" ||
  fail "watch-drop with faults: the replay command lacks the faults: $out"
usage "--edn does not apply to --workload watch" --workload watch --edn "$tmp/x.edn"
usage "--seed takes one seed" --workload ttl --seed 1..3

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvsim ttl/watch: all checks passed"
