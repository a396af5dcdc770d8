#!/usr/bin/env bash
# The main job's command line: usage errors exit 2, a passing sweep 0, an
# unreachable live cluster 3 (at once, with the cause), SIGINT 130 with a
# summary. (The full job is scripts/main.)
set -uo pipefail
kvlog=$(readlink -f "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source tools/cli/test_lib.sh

usage() { expect_usage kvlog "$kvlog" "$@"; }  # expected-message args...
usage "--seeds: 0 is out of range: must be in 1..1000000" --seeds 0
usage "expected a decimal integer, got '3x'" --seeds 3x
usage "expected a number" --ops ""
usage "--topic-config needs --brokers" --topic-config retention.ms=1
usage "producer setting acks=0 for topic" -X acks=0
usage "can lose acknowledged writes" -X acks=0
usage "on the command line: --allow-unsafe-acks" -X acks=0
usage "not expected: --nosuch" --nosuch
"$kvlog" --help >"$tmp/help"; code=$?
[ $code -eq 0 ] || fail "--help exited $code"
grep -q "seeds INT=50" "$tmp/help" || fail "--help shows no default for --seeds"
grep -q "^  3 .*live run could not be made" "$tmp/help" || fail "--help does not explain exit 3"

out=$("$kvlog" --seeds 3 --ops 20 --no-live 2>"$tmp/err"); code=$?
[ $code -eq 0 ] || fail "a passing sweep exited $code: $out"
grep -q "3 passed, 0 failed" <<<"$out" || fail "sweep summary: $out"
grep -q "every check passed" <<<"$out" || fail "final verdict: $out"
[ ! -s "$tmp/err" ] || fail "progress drawn on a non-terminal: $(cat "$tmp/err")"

out=$("$kvlog" --seeds 2 --ops 10 --brokers 127.0.0.1:1 2>"$tmp/err"); code=$?
[ $code -eq 3 ] || fail "unreachable brokers exited $code, want 3: $out"
grep -q "cannot reach any broker of 127.0.0.1:1: 127.0.0.1:1: Connection refused" "$tmp/err" ||
  fail "unreachable brokers: $(cat "$tmp/err")"
grep -q "COULD NOT BE MADE" <<<"$out" || fail "final verdict for an unreachable cluster: $out"

"$kvlog" --seeds 1000000 >"$tmp/int.out" 2>&1 &
interrupt kvlog $!
[ $code -eq 130 ] || fail "interrupted job exited $code, want 130"
grep -q "INTERRUPTED after [0-9]* of 1000000 seeds" "$tmp/int.out" || fail "no summary: $(cat "$tmp/int.out")"
grep -q "live: skipped (interrupted)" "$tmp/int.out" || fail "live ran after SIGINT: $(cat "$tmp/int.out")"

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvlog: all checks passed"
