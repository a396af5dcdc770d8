#!/usr/bin/env bash
# kvsim --live --workload ttl | watch on the embedded mock cluster, briefly:
# the correct clients pass the same checks as on the simulator (convergence and
# expiry; watch), kvcheck judges the JSONL they wrote the same way, and the
# broken variants are caught live too. Real time is not replayable, so a broken
# variant gets up to three runs to show itself (each run that fails is a
# violation the checks found, never a flake of the correct client).
set -uo pipefail
kvsim=$(readlink -f "$1")
kvcheck=$(readlink -f "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source tools/cli/test_lib.sh

# TTL, correct: passes; the history carries deadlines and the machine's skew
# bound (the clients share one clock: the bound is small but named).
out=$("$kvsim" --workload ttl --live --seed 2 --ops 40 --out "$tmp/ttl.jsonl"); code=$?
[ $code -eq 0 ] || fail "live ttl exited $code: $out"
grep -q "seed 2: PASS" <<<"$out" || fail "live ttl: $out"
grep -q "live on the embedded mock cluster" <<<"$out" || fail "live ttl account: $out"
grep -q "sharing one clock" <<<"$out" || fail "live ttl account does not say the clients share a clock: $out"
grep -q "expiry: valid" <<<"$out" || fail "live ttl: no valid expiry report: $out"
grep -q "convergence: valid" <<<"$out" || fail "live ttl: no valid convergence report: $out"
grep -q '^{"expiry":{.*"skew_bound":[1-9]' "$tmp/ttl.jsonl" || fail "live ttl history has no expiry line"
grep -q '"deadline":[0-9]' "$tmp/ttl.jsonl" || fail "live ttl history has no deadlines"
"$kvcheck" "$tmp/ttl.jsonl" >"$tmp/check"; code=$?
[ $code -eq 0 ] || fail "kvcheck judged the live ttl history $code: $(cat "$tmp/check")"
grep -q "expiry: valid" "$tmp/check" || fail "kvcheck live ttl: $(cat "$tmp/check")"

# Watch, correct: passes, with watch sessions in the file.
out=$("$kvsim" --workload watch --live --seed 1 --ops 60 --out "$tmp/watch.jsonl"); code=$?
[ $code -eq 0 ] || fail "live watch exited $code: $out"
grep -q "watch: valid" <<<"$out" || fail "live watch: $out"
grep -q '"watch":' "$tmp/watch.jsonl" || fail "live watch history has no watch sessions"
"$kvcheck" "$tmp/watch.jsonl" >"$tmp/check"; code=$?
[ $code -eq 0 ] || fail "kvcheck judged the live watch history $code: $(cat "$tmp/check")"
grep -q "watch: valid" "$tmp/check" || fail "kvcheck live watch: $(cat "$tmp/check")"

# caught WORKLOAD VARIANT WANT ARGS...: a live run of the variant fails (exit
# 1) with WANT in its report within three runs, and kvcheck fails its file.
caught() {
  local workload="$1" variant="$2" want="$3"
  shift 3
  for attempt in 1 2 3; do
    out=$("$kvsim" --workload "$workload" --live --seed "$attempt" --variant "$variant" "$@" \
      --out "$tmp/$variant.jsonl"); code=$?
    if [ $code -eq 1 ]; then
      grep -q "$want" <<<"$out" || fail "live $variant failed without '$want': $out"
      grep -q "run again (live: not the same history) with: kvsim --live --seed $attempt" <<<"$out" ||
        fail "live $variant: no rerun command: $out"
      "$kvcheck" "$tmp/$variant.jsonl" >"$tmp/check"; code=$?
      [ $code -eq 1 ] || fail "kvcheck judged the live $variant history $code, want 1: $(cat "$tmp/check")"
      return
    fi
    [ $code -eq 0 ] || { fail "live $variant exited $code: $out"; return; }
  done
  fail "live $variant was not caught in 3 runs: $out"
}
caught ttl clock-beyond-bound "expired-read" --ops 40
caught ttl apply-time-expiry "invalid" --ops 40
caught watch watch-drop "watch: invalid" --ops 60

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvsim ttl/watch live: all checks passed"
