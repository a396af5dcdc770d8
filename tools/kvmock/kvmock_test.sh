#!/usr/bin/env bash
# kvmock end to end: the topics named by --topic exist with one partition
# (kvctl writes to each), SIGINT stops it with exit 0, usage errors exit 2.
set -uo pipefail
kvmock=$(readlink -f "$1")
kvctl=$(readlink -f "$2")
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
source tools/cli/test_lib.sh

usage() { expect_usage kvmock "$kvmock" "$@"; }  # expected-message args...
usage "--brokers: 0 is out of range: must be in 1..16" --brokers 0
usage "expected a decimal integer, got '3x'" --brokers 3x
usage "--topic names a topic twice" --topic a --topic a
usage "--replication-factor 3 exceeds --brokers 1" --brokers 1 --replication-factor 3
usage "not expected: --nosuch" --nosuch
"$kvmock" --help >"$tmp/help"; code=$?
[ $code -eq 0 ] || fail "--help exited $code"
grep -q "^Exit codes:" "$tmp/help" || fail "--help lists no exit codes"

"$kvmock" --brokers 1 --topic kvlog --topic users >"$tmp/bootstrap" 2>"$tmp/mock.err" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/bootstrap" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$tmp/bootstrap")
[ -n "$bootstrap" ] || fail "no bootstrap address printed: $(cat "$tmp/mock.err")"
for topic in kvlog users; do
  out=$("$kvctl" --brokers "$bootstrap" --topic "$topic" put k "v-$topic" 2>&1); code=$?
  [ $code -eq 0 ] || fail "kvctl put on topic $topic exited $code: $out"
  out=$("$kvctl" --brokers "$bootstrap" --topic "$topic" get k 2>&1)
  [ "$out" = "v-$topic" ] || fail "kvctl get on topic $topic: $out"
done
grep -q "topic(s) 'kvlog', 'users' with 1 partition(s)" "$tmp/mock.err" || fail "topics not listed: $(cat "$tmp/mock.err")"
kill -INT "$pid"
wait "$pid"; code=$?
pid=
[ $code -eq 0 ] || fail "SIGINT: exit $code, want 0"
grep -q "stopping on signal 2" "$tmp/mock.err" || fail "no stop message: $(cat "$tmp/mock.err")"

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvmock: all checks passed"
