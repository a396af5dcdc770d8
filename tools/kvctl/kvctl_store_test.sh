#!/usr/bin/env bash
# kvctl --store (RocksDB, and LMDB with --store-engine lmdb) against kvmock:
# snapshot and restore, the checks on open, the engine detected or refused,
# and kill -9 at random points of a replay on each engine: the restarted
# store converges to the state of a fresh in-memory replay, at the same
# position. Usage: kvctl_store_test.sh <kvctl> <kvmock>
set -uo pipefail
readonly KVCTL="$1" KVMOCK="$2"
readonly TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$KVMOCK" --brokers 1 --topic kvlog --topic other >"$TMP/boot" 2>"$TMP/kvmock.err" &
mock_pid=$!
trap 'kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null' EXIT
for _ in $(seq 1 100); do [[ -s "$TMP/boot" ]] && break; sleep 0.1; done
BOOT="$(head -n1 "$TMP/boot")"
[[ -n "$BOOT" ]] || { echo "kvmock printed no bootstrap address: $(cat "$TMP/kvmock.err")"; exit 1; }
kvctl() { "$KVCTL" --brokers "$BOOT" --timeout 60000 "$@"; }

# Records to replay (small values: the mock keeps about 5 MiB per partition).
seq 1 30000 | awk '{printf "k%d\tv%d\n", $1 % 7000, $1}' >"$TMP/batch"
kvctl batch <"$TMP/batch" >/dev/null 2>"$TMP/err" || fail "batch: $(cat "$TMP/err")"
seq 1 500 | awk '{printf "o%d\tw%d\n", $1 % 70, $1}' | kvctl --topic other batch >/dev/null 2>&1 || fail "batch other"

# --- snapshot and restore
got="$(kvctl --store "$TMP/a" snapshot "$TMP/snap" 2>"$TMP/err")" || fail "snapshot exited $?: $(cat "$TMP/err")"
[[ "$got" == "OK checkpoint at position 30000" ]] || fail "snapshot printed '$got'"
for i in 1 2 3; do kvctl put "tail$i" "t$i" >/dev/null 2>&1 || fail "put tail$i"; done
got="$(kvctl --store "$TMP/b" restore "$TMP/snap" 2>"$TMP/err")" || fail "restore exited $?: $(cat "$TMP/err")"
[[ "$got" == "OK restored at position 30000, replayed to 30003" ]] || fail "restore printed '$got'"
kvctl range >"$TMP/memory.range" 2>/dev/null || fail "range in memory"
kvctl --store "$TMP/b" range >"$TMP/b.range" 2>/dev/null || fail "range of the restored store"
cmp -s "$TMP/memory.range" "$TMP/b.range" || fail "the restored store differs from a fresh replay"
[[ "$(wc -l <"$TMP/memory.range")" == 7003 ]] || fail "range has $(wc -l <"$TMP/memory.range") keys, want 7003"

# Usage errors (exit 2), before touching the cluster.
kvctl --store "$TMP/b" restore "$TMP/snap" >/dev/null 2>"$TMP/err"
[[ $? == 2 ]] && grep -q "already exists" "$TMP/err" || fail "restore into an existing store: $(cat "$TMP/err")"
kvctl snapshot "$TMP/snap2" >/dev/null 2>"$TMP/err"
[[ $? == 2 ]] && grep -q "snapshot needs --store" "$TMP/err" || fail "snapshot without --store: $(cat "$TMP/err")"
kvctl --store "$TMP/c" restore "$TMP" >/dev/null 2>"$TMP/err"
[[ $? == 2 ]] && grep -q "is not a checkpoint" "$TMP/err" || fail "restore of a non-checkpoint: $(cat "$TMP/err")"

# --- a store of another topic: refused (exit 3), or rebuilt when asked.
kvctl --store "$TMP/a" --topic other range >/dev/null 2>"$TMP/err"
[[ $? == 3 ]] || fail "a store of topic kvlog opened on topic other should exit 3"
grep -q "the store holds the log 'kvlog', not the log 'other'" "$TMP/err" || fail "other topic: $(cat "$TMP/err")"
kvctl --store "$TMP/a" --topic other --rebuild-store range >"$TMP/a.range" 2>"$TMP/err" ||
  fail "--rebuild-store exited $?: $(cat "$TMP/err")"
kvctl --topic other range >"$TMP/other.range" 2>/dev/null
cmp -s "$TMP/a.range" "$TMP/other.range" || fail "the rebuilt store differs from topic other"
grep -q "rebuilding the store" "$TMP/err" || fail "the rebuild was not reported: $(cat "$TMP/err")"

# --- kill -9 at random points of the replay, then restart until done. Each
# run that gets past Open prints where it resumed (-v): a position strictly
# inside the topic shows a kill landed mid-replay. Rounds go on (with a new
# store when one completes) until that is seen, at most 16.
kill_rounds() {
  local engine="$1" killed=0 mid="" start_ns run_ms round pid ms at got
  rm -rf "$TMP/k"
  RANDOM=13
  # How long a whole run takes on this machine now (connect, then replay): the
  # kills land between a fifth of it and its end, so the test means the same on
  # a quiet machine and a loaded one.
  start_ns=$(date +%s%N)
  "$KVCTL" --brokers "$BOOT" --timeout 60000 --store-engine "$engine" --store "$TMP/k" range >/dev/null 2>&1 || fail "$engine: timing run exited $?"
  run_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  rm -rf "$TMP/k"
  (( run_ms >= 50 )) || run_ms=50
  : >"$TMP/kill.err"
  for round in $(seq 1 16); do
    "$KVCTL" --brokers "$BOOT" --timeout 60000 -v --store-engine "$engine" --store "$TMP/k" range >/dev/null 2>"$TMP/round.err" &
    pid=$!
    ms=$(( run_ms / 5 + RANDOM % (run_ms * 4 / 5) ))
    sleep "$(( ms / 1000 )).$(printf '%03d' $(( ms % 1000 )))"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null
    cat "$TMP/round.err" >>"$TMP/kill.err"
    at="$(sed -n 's/.*resumed from position \([0-9]*\),.*/\1/p' "$TMP/round.err")"
    if [[ -n "$at" && "$at" != 0 && "$at" != 30003 ]]; then mid="$at"; break; fi
    if grep -q "replayed to 30003" "$TMP/round.err"; then rm -rf "$TMP/k"; fi  # Done: start over.
  done
  [[ -n "$mid" ]] || fail "$engine: no run was killed mid-replay in 16 rounds ($killed killed, a whole run ${run_ms} ms); the test proved nothing"
  got="$("$KVCTL" --brokers "$BOOT" --timeout 60000 -v --store-engine "$engine" --store "$TMP/k" range 2>"$TMP/err" >"$TMP/k.range")" ||
    fail "$engine: the run after the kills exited $?: $(cat "$TMP/err")"
  grep -q "replayed to 30003" "$TMP/err" || fail "$engine: after the kills the store did not reach 30003: $(cat "$TMP/err")"
  cmp -s "$TMP/memory.range" "$TMP/k.range" || fail "$engine: after $killed kills the store differs from a fresh replay"
  echo "kill -9 ($engine): $killed runs killed while running (a whole run ${run_ms} ms); one resumed from position $mid, mid-replay"
}
kill_rounds rocksdb
kill_rounds lmdb

# --- the LMDB engine: snapshot and restore (the checkpoint's engine is
# detected), a store's engine detected, a mismatched --store-engine refused.
got="$(kvctl --store-engine lmdb --store "$TMP/la" snapshot "$TMP/lsnap" 2>"$TMP/err")" ||
  fail "lmdb snapshot exited $?: $(cat "$TMP/err")"
[[ "$got" == "OK checkpoint at position 30003" ]] || fail "lmdb snapshot printed '$got'"
[[ -f "$TMP/la/data.mdb" && -f "$TMP/lsnap/data.mdb" && ! -e "$TMP/la/CURRENT" ]] || fail "not an LMDB store"
kvctl put tail4 t4 >/dev/null 2>&1 || fail "put tail4"
got="$(kvctl --store "$TMP/lb" restore "$TMP/lsnap" 2>"$TMP/err")" || fail "lmdb restore exited $?: $(cat "$TMP/err")"
[[ "$got" == "OK restored at position 30003, replayed to 30004" ]] || fail "lmdb restore printed '$got'"
[[ -f "$TMP/lb/data.mdb" ]] || fail "restore of an LMDB checkpoint made no LMDB store"
kvctl range >"$TMP/memory4.range" 2>/dev/null || fail "range in memory"
kvctl --store "$TMP/lb" range >"$TMP/lb.range" 2>"$TMP/err" || fail "range of the LMDB store: $(cat "$TMP/err")"
cmp -s "$TMP/memory4.range" "$TMP/lb.range" || fail "the restored LMDB store differs from a fresh replay"
kvctl --store-engine rocksdb --store "$TMP/la" range >/dev/null 2>"$TMP/err"
[[ $? == 2 ]] && grep -q "holds a lmdb store" "$TMP/err" || fail "rocksdb on an LMDB store: $(cat "$TMP/err")"
kvctl --store-engine lmdb --store "$TMP/b" range >/dev/null 2>"$TMP/err"
[[ $? == 2 ]] && grep -q "holds a rocksdb store" "$TMP/err" || fail "lmdb on a RocksDB store: $(cat "$TMP/err")"
kvctl --store-engine lmdb range >/dev/null 2>"$TMP/err"
[[ $? == 2 ]] && grep -q "needs --store" "$TMP/err" || fail "--store-engine without --store: $(cat "$TMP/err")"

if (( failures > 0 )); then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvctl --store: all checks passed"
