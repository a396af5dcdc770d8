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
# expect_nover: like expect, with the ,"version":N fields of --json output
# left out (where the test is about the bytes, not the offsets).
expect_nover() {
  local rc="$1" want="$2"
  shift 3
  local got status
  got="$("$KVCTL" --brokers "$BOOT" --timeout 20000 "$@" 2>"$TMP/stderr")"
  status=$?
  got="$(sed -E 's/,"version":[0-9]+//g' <<<"$got")"
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
expect 0 '{"found":true,"key":"user/1","value":"ada","version":0}' -- --json get user/1  # The first record.
expect 1 "" -- get user/2
expect 1 '{"found":false,"key":"user/2"}' -- --json get user/2
printf 'user/2\tbob\nuser/3\tcy\n\nitem/1\tx\n' >"$TMP/batch"
got="$("$KVCTL" --brokers "$BOOT" batch <"$TMP/batch" 2>"$TMP/stderr")" || fail "batch exited $?: $(cat "$TMP/stderr")"
[[ "$got" == "OK 3 records" ]] || fail "batch printed '$got'"
expect 0 $'user/1\tada\nuser/2\tbob\nuser/3\tcy' -- range --prefix user/
expect 0 $'item/1\tx\nuser/1\tada' -- range --limit 2
expect 0 $'user/2\tbob' -- range --start user/2 --end user/3
expect_nover 0 '[{"key":"user/3","value":"cy"}]' -- --json range --start user/3
expect 0 "OK" -- del user/1
expect 1 "" -- get user/1
# stats: the figures after the replay of the 5 records so far (put, batch of 3, del).
got="$("$KVCTL" --brokers "$BOOT" stats 2>"$TMP/stderr")" || fail "stats exited $?: $(cat "$TMP/stderr")"
for line in $'applied_position\t5' $'end_offset\t5' $'lag_records\t0' $'records_applied\t5' $'keys\t3' \
            $'sets_applied\t4' $'deletes_applied\t1' $'corrupt_records\t0'; do
  grep -qxF "$line" <<<"$got" || fail "stats lacks '$line': $got"
done
got="$("$KVCTL" --brokers "$BOOT" stats --prometheus 2>"$TMP/stderr")" || fail "stats --prometheus exited $?"
grep -qxF 'kvlog_keys{client="kvctl"} 3' <<<"$got" || fail "stats --prometheus lacks the key count: $got"
grep -qxF '# TYPE kvlog_records_applied_total counter' <<<"$got" || fail "stats --prometheus lacks TYPE lines: $got"
got="$("$KVCTL" --brokers "$BOOT" --json stats 2>"$TMP/stderr")" || fail "--json stats exited $?"
grep -qF '"keys":3' <<<"$got" || fail "--json stats printed '$got'"
expect 2 "" -- --json stats --prometheus
grep -q "not both" "$TMP/stderr" || fail "--json stats --prometheus message: $(cat "$TMP/stderr")"
# Usage errors: exit 2 without touching the cluster.
expect 2 "" -- get
expect 2 "" -- frobnicate
expect 2 "" -- range --prefix a --start b
printf 'no tab here\n' | "$KVCTL" --brokers "$BOOT" batch >/dev/null 2>&1
[[ $? == 2 ]] || fail "a batch line without TAB should exit 2"
expect 2 "" -- put "" v
# put --ttl: readable until the deadline, then hidden; a bad TTL is a usage error.
expect 0 "OK" -- put lease/1 held --ttl 600000
expect 0 "held" -- get lease/1
expect 0 "OK" -- put lease/2 brief --ttl 1
sleep 0.05
expect 1 "" -- get lease/2
expect 2 "" -- put lease/3 v --ttl -5
expect 2 "" -- put lease/3 v --ttl soon
# A topic with 4 partitions is refused (the log error code), naming it.
"$KVMOCK" --brokers 3 --topic four --partitions 4 >"$TMP/boot4" 2>/dev/null &
mock4_pid=$!
trap 'kill "$mock_pid" "$mock4_pid" 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 1 100); do [[ -s "$TMP/boot4" ]] && break; sleep 0.1; done
BOOT4="$(head -n1 "$TMP/boot4")"
"$KVCTL" --brokers "$BOOT4" --topic four get k >/dev/null 2>"$TMP/stderr"
[[ $? == 3 ]] || fail "a 4-partition topic should exit 3"
grep -q "topic 'four' has 4 partitions" "$TMP/stderr" || fail "4-partition message: $(cat "$TMP/stderr")"

# --- A value from stdin or a file, exactly its bytes.
printf 'line 1\nline 2\n\x00\xff' >"$TMP/doc"
"$KVCTL" --brokers "$BOOT" put doc - <"$TMP/doc" >/dev/null 2>"$TMP/stderr" || fail "put doc - exited $?: $(cat "$TMP/stderr")"
"$KVCTL" --brokers "$BOOT" get doc --value-file "$TMP/doc.out" 2>"$TMP/stderr" || fail "get --value-file exited $?"
cmp -s "$TMP/doc" "$TMP/doc.out" || fail "put k - then get --value-file changed the bytes: $(od -c "$TMP/doc.out")"
"$KVCTL" --brokers "$BOOT" get doc --value-file - >"$TMP/doc.stdout" 2>/dev/null || fail "get --value-file - exited $?"
cmp -s "$TMP/doc" "$TMP/doc.stdout" || fail "get --value-file - should print the raw value without a newline"
expect_nover 0 '{"found":true,"key":"doc","value":"line 1\\nline 2\\n\\x00\\xff"}' -- --json get doc
printf 'from a file\n' >"$TMP/value.txt"
expect 0 "OK" -- put filed --value-file "$TMP/value.txt"
expect 0 "from a file" -- get filed
expect 2 "" -- put filed v --value-file "$TMP/value.txt"  # Both sources.
expect 2 "" -- put filed                                  # Neither.
expect 2 "" -- put filed --value-file "$TMP/no-such-file"
grep -q "no-such-file: No such file" "$TMP/stderr" || fail "missing --value-file message: $(cat "$TMP/stderr")"
head -c 900001 /dev/zero >"$TMP/too-big"
expect 2 "" -- put big --value-file "$TMP/too-big"
grep -q "longer than 900000 bytes" "$TMP/stderr" || fail "oversized value message: $(cat "$TMP/stderr")"

# --- Binary keys and values through --json, in every encoding. The key holds
# 0x00 and 0xFF; the value also invalid UTF-8 (a lone 0xC3), valid UTF-8 (é), a
# backslash and a TAB. Expected texts come from od and base64, not from kvctl.
printf '\x00k\xff' >"$TMP/key.bin"
printf '\x00\xff\xc3(\xc3\xa9\\\t' >"$TMP/value.bin"
hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
json_str() { local s="${1//\\/\\\\}"; printf '%s' "${s//\"/\\\"}"; }
declare -A KEY VALUE
KEY[escaped]='\x00k\xff';       VALUE[escaped]=$'\\x00\\xff\\xc3(\xc3\xa9\\\\\\t'
KEY[hex]="$(hex "$TMP/key.bin")"; VALUE[hex]="$(hex "$TMP/value.bin")"
KEY[base64]="$(base64 -w0 <"$TMP/key.bin")"; VALUE[base64]="$(base64 -w0 <"$TMP/value.bin")"
for enc in escaped hex base64; do
  k="${KEY[$enc]}" v="${VALUE[$enc]}"
  # Raw bytes in (a file), encoded text out.
  expect 0 "OK" -- --encoding "$enc" put "$k" --value-file "$TMP/value.bin"
  expect_nover 0 "{\"found\":true,\"key\":\"$(json_str "$k")\",\"value\":\"$(json_str "$v")\"}" -- --encoding "$enc" --json get "$k"
  expect_nover 0 "[{\"key\":\"$(json_str "$k")\",\"value\":\"$(json_str "$v")\"}]" -- --encoding "$enc" --json range --prefix "$k" --limit 1
  # Encoded text in (an argument), raw bytes out.
  expect 0 "OK" -- --encoding "$enc" put "$k" "$v"
  "$KVCTL" --brokers "$BOOT" --encoding "$enc" get "$k" --value-file "$TMP/value.out" 2>"$TMP/stderr"
  cmp -s "$TMP/value.bin" "$TMP/value.out" || fail "$enc: the value did not survive: $(od -c "$TMP/value.out")"
done
expect_nover 0 "[{\"key\":\"006bff\",\"value\":\"$(hex "$TMP/value.bin")\"}]" -- --encoding hex --json range --start 00 --end 01
[[ "$(base64 -d <<<"${VALUE[base64]}" | od -An -tx1)" == "$(od -An -tx1 "$TMP/value.bin")" ]] ||
  fail "base64 -d disagrees with the value"
# Range lines are encoded, so a TAB or newline in the data keeps one line per key.
expect 0 "OK" -- put doc2 'line 1\nline 2\n\x00\xff'
expect 0 $'doc2\tline 1\\nline 2\\n\\x00\\xff' -- range --prefix doc2
# ... and range's lines are batch's input: piping one into the other rewrites the same bytes.
expect 0 "OK" -- del doc
got="$("$KVCTL" --brokers "$BOOT" range --prefix doc2 2>/dev/null | sed 's/^doc2/doc/' |
  "$KVCTL" --brokers "$BOOT" batch 2>"$TMP/stderr")" || fail "range | batch exited $?: $(cat "$TMP/stderr")"
[[ "$got" == "OK 1 records" ]] || fail "range | batch printed '$got'"
"$KVCTL" --brokers "$BOOT" get doc --value-file "$TMP/doc.copy" 2>/dev/null
printf 'line 1\nline 2\n\x00\xff' | cmp -s - "$TMP/doc.copy" || fail "range | batch changed the bytes"
# Malformed text in the chosen encoding is a usage error naming the problem.
expect 2 "" -- put 'a\q' v
grep -q "invalid escape '\\\\q' at byte 1" "$TMP/stderr" || fail "bad escape message: $(cat "$TMP/stderr")"
expect 2 "" -- --encoding hex get abc
grep -q "odd number of digits" "$TMP/stderr" || fail "bad hex message: $(cat "$TMP/stderr")"
expect 2 "" -- --encoding base64 get 'AG'
expect 2 "" -- --encoding raw get k
printf 'ok\tfine\nbad\\z\tv\n' | "$KVCTL" --brokers "$BOOT" batch >/dev/null 2>"$TMP/stderr"
[[ $? == 2 ]] || fail "a batch line with a bad escape should exit 2"
grep -q "batch line 2: key" "$TMP/stderr" || fail "bad batch line message: $(cat "$TMP/stderr")"

# --- Usage errors exit 2 and say what was wrong; numbers are strict.
expect 2 "" -- frobnicate a b
grep -q "unknown subcommand 'frobnicate'" "$TMP/stderr" || fail "unknown subcommand message: $(cat "$TMP/stderr")"
expect 2 "" -- --topic t frobnicate
grep -q "unknown subcommand 'frobnicate'" "$TMP/stderr" || fail "unknown subcommand after an option: $(cat "$TMP/stderr")"
expect 2 "" -- --no-such-flag get k
grep -q "unknown option '--no-such-flag'" "$TMP/stderr" || fail "unknown option message: $(cat "$TMP/stderr")"
for bad in "--timeout 10x" "--timeout 0x10" "--timeout 1e3" "--timeout 0" "--timeout -5" "--replication-factor 3.0" \
           "--replication-factor -1" "range --limit -1" "range --limit 2x" "-X acks"; do
  # shellcheck disable=SC2086  # Word splitting is the point.
  "$KVCTL" --brokers "$BOOT" $bad >/dev/null 2>"$TMP/stderr"
  rc=$?
  [[ $rc == 2 ]] || fail "'$bad' exited $rc, want 2"
  option="${bad% *}"; option="${option#range }"
  grep -q -- "$option" "$TMP/stderr" || fail "'$bad': the message should name $option: $(cat "$TMP/stderr")"
done
"$KVCTL" --help >"$TMP/help" 2>&1 || fail "--help should exit 0"
for want in "--timeout INT=30000" "-t,--topic TEXT=kvlog" "--replication-factor INT=0" "=escaped" "Exit codes:" \
            "1    key not found" "2    usage error" "3    broker or log error" "4    condition false"; do
  grep -q -- "$want" "$TMP/help" || fail "--help lacks '$want'"
done

# --- The topic kvctl creates: replication factor min(3, brokers) unless told,
# said on stderr. (The mock has no CreateTopics, so the creation itself fails.)
"$KVCTL" --brokers "$BOOT4" --topic fresh get k >/dev/null 2>"$TMP/stderr"
grep -q "creating it with 1 partition and replication factor 3 (min(3, 3 brokers in the cluster)" "$TMP/stderr" ||
  fail "replication factor message on 3 brokers: $(cat "$TMP/stderr")"
grep -q "the cluster created it with 4 partitions when it was looked up" "$TMP/stderr" ||
  fail "the mock's auto-created topic should be explained: $(cat "$TMP/stderr")"
"$KVCTL" --brokers "$BOOT" --topic fresh get k >/dev/null 2>"$TMP/stderr"
grep -q "replication factor 1 (min(3, 1 broker in the cluster)" "$TMP/stderr" ||
  fail "replication factor message on 1 broker: $(cat "$TMP/stderr")"
"$KVCTL" --brokers "$BOOT4" --topic fresher --replication-factor 2 get k >/dev/null 2>"$TMP/stderr"
grep -q "replication factor 2 (--replication-factor)" "$TMP/stderr" || fail "chosen factor: $(cat "$TMP/stderr")"
"$KVCTL" --brokers "$BOOT" --replication-factor 2 get user/2 >/dev/null 2>"$TMP/stderr"
grep -q "exists with replication factor 1; --replication-factor 2 applies only to a topic kvctl creates" "$TMP/stderr" ||
  fail "factor of an existing topic: $(cat "$TMP/stderr")"

# --- An unreachable broker: exit 3 at once, with librdkafka's cause.
ms() { date +%s%3N; }
t0=$(ms)
"$KVCTL" --brokers 127.0.0.1:1 --timeout 20000 get k >/dev/null 2>"$TMP/stderr"
rc=$? took=$(($(ms) - t0))
[[ $rc == 3 ]] || fail "an unreachable broker should exit 3, got $rc"
((took < 5000)) || fail "a refused connection took $took ms to report"
grep -q "127.0.0.1:1" "$TMP/stderr" || fail "unreachable message lacks the address: $(cat "$TMP/stderr")"
grep -q "Connection refused" "$TMP/stderr" || fail "unreachable message lacks the cause: $(cat "$TMP/stderr")"

# --- --timeout bounds the whole command, waiting on stdin included.
mkfifo "$TMP/slow"
(exec sleep 8 >"$TMP/slow") &
slow_pid=$!
t0=$(ms)
"$KVCTL" --brokers "$BOOT" --timeout 1000 batch <"$TMP/slow" >/dev/null 2>"$TMP/stderr"
rc=$? took=$(($(ms) - t0))
kill "$slow_pid" 2>/dev/null
[[ $rc == 3 ]] || fail "a batch whose stdin outlives --timeout should exit 3, got $rc"
((took < 3000)) || fail "--timeout 1000 with a silent stdin took $took ms"
grep -q "timed out: --timeout 1000 ms passed while reading batch lines" "$TMP/stderr" ||
  fail "stdin timeout message: $(cat "$TMP/stderr")"
# SIGINT: exit 130, naming the step and that nothing was written.
(exec sleep 8 >"$TMP/slow") &
slow_pid=$!
"$KVCTL" --brokers "$BOOT" batch <"$TMP/slow" >/dev/null 2>"$TMP/stderr" &
kvctl_pid=$!
sleep 0.5
kill -INT "$kvctl_pid"
wait "$kvctl_pid"
rc=$?
kill "$slow_pid" 2>/dev/null
[[ $rc == 130 ]] || fail "SIGINT while reading a batch should exit 130, got $rc"
grep -q "interrupted while reading batch lines from stdin; nothing was written" "$TMP/stderr" ||
  fail "SIGINT message: $(cat "$TMP/stderr")"
# A broker that accepts connections and never answers.
if command -v python3 >/dev/null; then
  python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$TMP/silent" &
  silent_pid=$!
  for _ in $(seq 1 100); do [[ -s "$TMP/silent" ]] && break; sleep 0.1; done
  t0=$(ms)
  "$KVCTL" --brokers "127.0.0.1:$(cat "$TMP/silent")" --timeout 1500 put k v >/dev/null 2>"$TMP/stderr"
  rc=$? took=$(($(ms) - t0))
  kill "$silent_pid" 2>/dev/null
  [[ $rc == 3 ]] || fail "a silent broker should exit 3, got $rc"
  ((took >= 1400 && took < 3500)) || fail "--timeout 1500 against a silent broker took $took ms"
  grep -qi "timeout" "$TMP/stderr" || fail "silent broker message: $(cat "$TMP/stderr")"
else
  echo "SKIP: no python3, so no silent-broker check of --timeout" >&2
fi
# Every step shares one deadline: a tiny --timeout ends with exit 3 (never a
# usage error from a zero librdkafka timeout) and says so.
for t in 1 30; do
  "$KVCTL" --brokers "$BOOT" --timeout "$t" get user/2 >/dev/null 2>"$TMP/stderr"
  rc=$?
  [[ $rc == 3 || $rc == 0 ]] || fail "--timeout $t exited $rc: $(cat "$TMP/stderr")"
  [[ $rc == 0 ]] || grep -qi "timeout" "$TMP/stderr" || fail "--timeout $t message: $(cat "$TMP/stderr")"
done

# --- Versions, conditional writes, transactions and read levels.
# A key's version is the offset of its last write: what a write prints in --json.
put_offset() { "$KVCTL" --brokers "$BOOT" --json put "$1" "$2" 2>/dev/null | sed -E 's/.*"offset":([0-9]+).*/\1/'; }
v=$(put_offset acct/1 100)
[[ "$v" =~ ^[0-9]+$ ]] || fail "put --json printed no offset: '$v'"
expect 0 "$v" -- get --version acct/1
expect 0 "{\"found\":true,\"key\":\"acct/1\",\"value\":\"100\",\"version\":$v}" -- --json get acct/1
expect 1 "" -- get --version acct/none
# cas at a stale version: exit 4, nothing written, the current version on stdout.
expect 4 "CONFLICT version $v" -- cas acct/1 $((v - 1)) 90
grep -q "condition failed at offset [0-9]*: key 'acct/1' is version $v, expected version $((v - 1)); nothing was written" \
  "$TMP/stderr" || fail "cas conflict message: $(cat "$TMP/stderr")"
expect 0 "100" -- get acct/1
expect 4 "{\"conflict\":true,\"key\":\"acct/1\",\"ok\":false,\"op\":\"cas\",\"version\":$v}" -- --json cas acct/1 0 90
expect 0 "OK" -- cas acct/1 "$v" 90
expect 0 "90" -- get acct/1
v2=$("$KVCTL" --brokers "$BOOT" get --version acct/1 2>/dev/null)
((v2 > v)) || fail "cas did not move the version: $v -> $v2"
expect 4 "CONFLICT absent" -- cas acct/none 3 x
expect 2 "" -- cas acct/1 -1 x
grep -q "EXPECTED_VERSION '-1'" "$TMP/stderr" || fail "negative version message: $(cat "$TMP/stderr")"
expect 2 "" -- cas acct/1 v7 x
expect 2 "" -- cas acct/1 7
# del-if (alias delete-if).
expect 4 "CONFLICT version $v2" -- del-if acct/1 "$v"
expect 0 "90" -- get acct/1
expect 0 "OK" -- delete-if acct/1 "$v2"
expect 1 "" -- get acct/1
# setnx: only a missing key.
expect 0 "OK" -- setnx lock/1 me
vl=$("$KVCTL" --brokers "$BOOT" get --version lock/1 2>/dev/null)
expect 4 "CONFLICT version $vl" -- setnx lock/1 you
grep -q "expected absent" "$TMP/stderr" || fail "setnx conflict message: $(cat "$TMP/stderr")"
expect 0 "me" -- get lock/1

# txn: the compares, the writes if they hold, the writes otherwise (stdin).
txn() { "$KVCTL" --brokers "$BOOT" --timeout 20000 "$@" txn 2>"$TMP/stderr"; }
va=$(put_offset bank/a 50)
got=$(printf 'version(bank/a) = %s\nabsent("bank/b")\n\nput bank/a 40\nput bank/b 10\n\nput bank/log failed\n' "$va" | txn)
rc=$?
[[ $rc == 0 && "$got" == "SUCCESS" ]] || fail "txn that holds: exit $rc, printed '$got': $(cat "$TMP/stderr")"
expect 0 "40" -- get bank/a
expect 0 "10" -- get bank/b
expect 1 "" -- get bank/log
# Both writes are at one offset: the transaction is one record.
[[ "$("$KVCTL" --brokers "$BOOT" get --version bank/a 2>/dev/null)" == "$("$KVCTL" --brokers "$BOOT" get --version bank/b 2>/dev/null)" ]] ||
  fail "a transaction's writes should share one version"
vb=$("$KVCTL" --brokers "$BOOT" get --version bank/b 2>/dev/null)
# The same again: bank/a moved and bank/b exists, so the failure writes apply; exit 4.
got=$(printf 'version(bank/a) = %s\nabsent(bank/b)\n\nput bank/a 0\n\nput bank/log failed\n' "$va" | txn)
rc=$?
[[ $rc == 4 ]] || fail "txn whose compares fail should exit 4, got $rc: $(cat "$TMP/stderr")"
[[ "$got" == $'FAILURE\nbank/a\t'"$vb"$'\nbank/b\t'"$vb" ]] || fail "txn FAILURE printed '$got'"
expect 0 "40" -- get bank/a
expect 0 "failed" -- get bank/log
got=$(printf 'present(bank/b)\n\ndel bank/log\n' | txn --json)
rc=$?
[[ $rc == 0 ]] || fail "txn --json exited $rc: $(cat "$TMP/stderr")"
grep -q '"ok":true' <<<"$got" && grep -q '"succeeded":true' <<<"$got" && grep -q "\"key\":\"bank/b\",\"version\":$vb" <<<"$got" ||
  fail "txn --json printed '$got'"
expect 1 "" -- get bank/log
# Syntax errors exit 2 before touching the cluster, naming the line.
printf 'version(bank/a) > 3\n\nput bank/a 1\n' | txn >/dev/null
[[ $? == 2 ]] || fail "a txn with '>' should exit 2"
grep -q "txn: line 1: only '=' compares a version" "$TMP/stderr" || fail "txn syntax message: $(cat "$TMP/stderr")"
printf 'put bank/a 1\n' | txn >/dev/null
[[ $? == 2 ]] || fail "a txn without its compares section should exit 2"
grep -q "start with an empty line" "$TMP/stderr" || fail "txn missing-compares message: $(cat "$TMP/stderr")"
printf '\n\n' | txn >/dev/null
[[ $? == 2 ]] || fail "an empty txn should exit 2"

# Read levels on get and range; --json then names the position read at.
vr=$(put_offset read/1 r1)
expect 0 "r1" -- get --read=linearizable read/1
expect 0 "r1" -- get --read=bounded:0 read/1
expect 0 "r1" -- get --read "at_least:$vr" read/1
got=$("$KVCTL" --brokers "$BOOT" --json get --read=linearizable read/1 2>/dev/null)
pos=$(sed -E 's/.*"position":([0-9]+).*/\1/' <<<"$got")
[[ "$pos" =~ ^[0-9]+$ ]] && ((pos > vr)) || fail "a linearizable read should be served past $vr: '$got'"
expect 0 $'read/1\tr1' -- range --prefix read/ --read=linearizable
expect 0 "[{\"key\":\"read/1\",\"value\":\"r1\",\"version\":$vr}]" -- --json range --prefix read/ --read=at_least:$vr
# A position nobody has written yet cannot be reached: exit 3 (timeout) naming it.
"$KVCTL" --brokers "$BOOT" --timeout 1500 get --read=at_least:999999 read/1 >/dev/null 2>"$TMP/stderr"
[[ $? == 3 ]] || fail "an unreachable at_least position should exit 3"
grep -qi "timeout" "$TMP/stderr" || fail "at_least timeout message: $(cat "$TMP/stderr")"
for bad in "--read=fresh" "--read=bounded:-1" "--read=at_least:" "--read=bounded:1x"; do
  expect 2 "" -- get "$bad" read/1
  grep -q -- "--read '" "$TMP/stderr" || fail "$bad: message: $(cat "$TMP/stderr")"
done
expect 2 "" -- get --version --value-file "$TMP/x" read/1

# No --brokers: an embedded mock cluster for the one command.
got="$("$KVCTL" put a b 2>/dev/null)" || fail "embedded put exited $?"
[[ "$got" == "OK" ]] || fail "embedded put printed '$got'"

if ((failures > 0)); then echo "$failures failure(s)"; exit 1; fi
echo "all kvctl checks passed"
