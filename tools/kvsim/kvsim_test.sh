#!/usr/bin/env bash
# kvsim end to end: sweeps, exit codes, replay commands, byte-identical replays,
# output files that kvcheck accepts, and a live run on the embedded mock cluster.
set -uo pipefail
kvsim=$1
kvcheck=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

out=$("$kvsim" --seeds 1..5 --faults latency,crash --quiet); code=$?
[ $code -eq 0 ] || fail "safe sweep exited $code"
grep -q "5 passed, 0 failed" <<<"$out" || fail "safe sweep summary: $out"
grep -q "virtual / wall" <<<"$out" || fail "no virtual/wall ratio"
grep -q "simulated ops per second" <<<"$out" || fail "no ops per second"

out=$("$kvsim" --seeds 1..5 --variant early-ack --quiet --html "$tmp/fail.html"); code=$?
[ $code -eq 1 ] || fail "broken client sweep exited $code, want 1"
grep -q "replay with: kvsim --seed [0-9]* --variant early-ack" <<<"$out" || fail "no replay command: $out"
grep -qi "<html" "$tmp/fail.html" || fail "no HTML report of the failing seed"

"$kvsim" --seed 3 --faults lost-ack,crash,outage --out "$tmp/a.jsonl" --edn "$tmp/a.edn" >/dev/null || fail "seed 3 run"
"$kvsim" --seed 3 --faults lost-ack,crash,outage --out "$tmp/b.jsonl" >/dev/null || fail "seed 3 replay"
cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || fail "the same seed wrote different histories"
[ -s "$tmp/a.jsonl" ] || fail "empty history"
head -c 1 "$tmp/a.edn" | grep -q '[[{(]' || fail "EDN output does not start with a collection"
"$kvcheck" "$tmp/a.jsonl" >/dev/null; code=$?
[ $code -eq 0 ] || fail "kvcheck judged kvsim's history $code"

"$kvsim" --seed 1 --faults nope >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "unknown fault exited $code, want 2"
grep -q "unknown fault 'nope'" "$tmp/err" || fail "unknown fault message: $(cat "$tmp/err")"
"$kvsim" --seeds 5..1 >/dev/null 2>&1; code=$?
[ $code -eq 2 ] || fail "reversed seed range exited $code, want 2"

out=$("$kvsim" --live --faults outage,failover,crash --ops 40); code=$?
[ $code -eq 0 ] || fail "live run on the mock cluster exited $code: $out"
grep -q "PASS" <<<"$out" || fail "live run: $out"
grep -q "durability: valid" <<<"$out" || fail "live run did not check durability: $out"
"$kvsim" --live --faults compaction >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "a fault the mock cannot inject exited $code, want 2"

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvsim: all checks passed"
