#!/usr/bin/env bash
# kvctl against kvmock: outputs and exit codes of every subcommand.
# Usage: kvctl_test.sh <kvctl> <kvmock>
set -uo pipefail
readonly KVCTL="$1" KVMOCK="$2"
readonly TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect RC EXPECTED_STDOUT -- ARGS...: runs kvctl and checks both.
expect() {
  local rc="$1" want="$2"
  shift 3
  local got status
  got="$("$KVCTL" --brokers "$BOOT" --timeout 20000 "$@" 2>"$TMP/stderr")"
  status=$?
  [[ "$status" == "$rc" ]] || fail "kvctl $* exited $status, want $rc; stderr: $(cat "$TMP/stderr")"
  [[ "$got" == "$want" ]] || fail "kvctl $* printed '$got', want '$want'"
}

"$KVMOCK" --brokers 1 --topic kvlog >"$TMP/boot" 2>"$TMP/kvmock.err" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null' EXIT
for _ in $(seq 1 100); do [[ -s "$TMP/boot" ]] && break; sleep 0.1; done
BOOT="$(head -n1 "$TMP/boot")"
[[ -n "$BOOT" ]] || { echo "kvmock printed no bootstrap address: $(cat "$TMP/kvmock.err")"; exit 1; }

expect 0 "OK" -- put user/1 ada
expect 0 "ada" -- get user/1
expect 0 '{"found":true,"key":"user/1","value":"ada"}' -- --json get user/1
expect 1 "" -- get user/2
expect 1 '{"found":false,"key":"user/2"}' -- --json get user/2
printf 'user/2\tbob\nuser/3\tcy\n\nitem/1\tx\n' >"$TMP/batch"
got="$("$KVCTL" --brokers "$BOOT" batch <"$TMP/batch" 2>"$TMP/stderr")" || fail "batch exited $?: $(cat "$TMP/stderr")"
[[ "$got" == "OK 3 records" ]] || fail "batch printed '$got'"
expect 0 $'user/1\tada\nuser/2\tbob\nuser/3\tcy' -- range --prefix user/
expect 0 $'item/1\tx\nuser/1\tada' -- range --limit 2
expect 0 $'user/2\tbob' -- range --start user/2 --end user/3
expect 0 '[{"key":"user/3","value":"cy"}]' -- --json range --start user/3
expect 0 "OK" -- del user/1
expect 1 "" -- get user/1
# Usage errors: exit 2 without touching the cluster.
expect 2 "" -- get
expect 2 "" -- frobnicate
expect 2 "" -- range --prefix a --start b
printf 'no tab here\n' | "$KVCTL" --brokers "$BOOT" batch >/dev/null 2>&1
[[ $? == 2 ]] || fail "a batch line without TAB should exit 2"
expect 2 "" -- put "" v
# A topic with 4 partitions is refused (the log error code), naming it.
"$KVMOCK" --brokers 1 --topic four --partitions 4 >"$TMP/boot4" 2>/dev/null &
mock4_pid=$!
trap 'kill "$mock_pid" "$mock4_pid" 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 1 100); do [[ -s "$TMP/boot4" ]] && break; sleep 0.1; done
"$KVCTL" --brokers "$(head -n1 "$TMP/boot4")" --topic four get k >/dev/null 2>"$TMP/stderr"
[[ $? == 3 ]] || fail "a 4-partition topic should exit 3"
grep -q "topic 'four' has 4 partitions" "$TMP/stderr" || fail "4-partition message: $(cat "$TMP/stderr")"
# An unreachable broker: exit 3, naming the address.
"$KVCTL" --brokers 127.0.0.1:1 --timeout 1000 get k >/dev/null 2>"$TMP/stderr"
[[ $? == 3 ]] || fail "an unreachable broker should exit 3"
grep -q "127.0.0.1:1" "$TMP/stderr" || fail "unreachable message: $(cat "$TMP/stderr")"
# No --brokers: an embedded mock cluster for the one command.
got="$("$KVCTL" put a b 2>/dev/null)" || fail "embedded put exited $?"
[[ "$got" == "OK" ]] || fail "embedded put printed '$got'"
"$KVCTL" --help >/dev/null || fail "--help should exit 0"

if ((failures > 0)); then echo "$failures failure(s)"; exit 1; fi
echo "all kvctl checks passed"
