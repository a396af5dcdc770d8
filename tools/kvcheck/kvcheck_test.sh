#!/usr/bin/env bash
# kvcheck end to end: verdicts, exit codes (0 valid, 1 invalid, 2 unknown or
# unreadable), JSON output, the HTML file, and the --knossos-jar message.
set -uo pipefail
kvcheck="$(readlink -f "$1")"
here="$(dirname "$(readlink -f "$0")")"
data="$here/testdata"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

expect_exit() {  # expected-code description command...
  local want="$1" what="$2"
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "$what: exit $got, want $want"
    cat "$tmp/out" "$tmp/err"
  fi
}

# The digest both replicas report: state {k: b}. Compute it with kvcheck's own
# definition by asking for a mismatch and reading the expected value back.
sed 's/DIGEST_B/0000000000000000/' "$data/valid.jsonl" >"$tmp/probe.jsonl"
"$kvcheck" "$tmp/probe.jsonl" >"$tmp/probe.out" 2>&1
digest="$(grep -o 'folding the log gives [0-9a-f]*' "$tmp/probe.out" | head -1 | awk '{print $NF}')"
[ -n "$digest" ] || { fail "no digest-mismatch report for a wrong digest"; cat "$tmp/probe.out"; }
sed "s/DIGEST_B/$digest/" "$data/valid.jsonl" >"$tmp/valid.jsonl"

expect_exit 0 "valid history" "$kvcheck" "$tmp/valid.jsonl"
for c in session convergence durability; do
  grep -q "^$c: valid" "$tmp/out" || fail "no '$c: valid' line"
done

# Read-your-writes broken: c1 reads "a" after writing "b".
sed 's/"value":"b","time":405/"value":"a","time":405/' "$tmp/valid.jsonl" >"$tmp/ryw.jsonl"
expect_exit 1 "read-your-writes violation" "$kvcheck" "$tmp/ryw.jsonl"
grep -q "^session: invalid" "$tmp/out" || fail "session not invalid"
grep -q "read-your-writes" "$tmp/out" || fail "no read-your-writes violation named"

# Lost write: the log misses offset 1.
grep -v '"offset":1,"key"' "$tmp/valid.jsonl" >"$tmp/lost.jsonl"
expect_exit 1 "lost write" "$kvcheck" "$tmp/lost.jsonl"
grep -q "lost-write" "$tmp/out" || fail "no lost-write violation named"

# JSON output.
expect_exit 1 "json output" "$kvcheck" "$tmp/lost.jsonl" --json
grep -q '"overall": "invalid"' "$tmp/out" || fail "json has no overall verdict"
grep -q '"checker": "durability"' "$tmp/out" || fail "json has no durability entry"

# Linearizability on request: local reads are stale, so not linearizable.
expect_exit 1 "linearizability of local reads" "$kvcheck" "$tmp/valid.jsonl" --check linearizability --model kv
grep -q "cannot place" "$tmp/out" || fail "no witness printed"

# A zero budget cannot decide: unknown, exit 2.
expect_exit 2 "zero budget" "$kvcheck" "$tmp/valid.jsonl" --check linearizability --budget-ms 0

# Unreadable: file and line in the message.
printf '{"process":0,"type":"invoke","f":"put","key":"k","value":"a"}\n{"process":0,"type":"ok"\n' >"$tmp/broken.jsonl"
expect_exit 2 "unparseable history" "$kvcheck" "$tmp/broken.jsonl"
grep -q "broken.jsonl:2: invalid JSON" "$tmp/err" || { fail "parse error lacks file:line: reason"; cat "$tmp/err"; }
expect_exit 2 "missing file" "$kvcheck" "$tmp/nope.jsonl"

# Jepsen EDN with a cas register, valid and not.
cat >"$tmp/good.edn" <<'EDN'
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :cas, :value [1 2]}
 {:process 1, :type :ok, :f :cas, :value [1 2]}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 2}]
EDN
sed 's/:value 2}]/:value 1}]/' "$tmp/good.edn" >"$tmp/bad.edn"
expect_exit 0 "linearizable EDN" "$kvcheck" "$tmp/good.edn"
grep -q "model cas-register" "$tmp/out" || fail "cas-register not chosen for a cas history"
expect_exit 1 "non-linearizable EDN" "$kvcheck" "$tmp/bad.edn" --format edn --html "$tmp/bad.html"
grep -q 'class="op ok failing"' "$tmp/bad.html" || fail "HTML does not highlight the failing op"

# --knossos-jar with no jar: says so, exit 2.
expect_exit 2 "missing knossos jar" "$kvcheck" "$tmp/good.edn" --knossos-jar "$tmp/knossos.jar"
grep -q "knossos-jar: no file at" "$tmp/err" || fail "missing jar not explained"

# A file that is not a Knossos jar: java fails, kvcheck says so, exit 2.
# (java comes with Debian's clojure package, which the EDN test needs too.)
if ! command -v java >/dev/null; then
  fail "java is not installed (it comes with the clojure package: scripts/install-deps)"
else
  : >"$tmp/not-a-jar.jar"
  expect_exit 2 "broken knossos jar" "$kvcheck" "$tmp/good.edn" --knossos-jar "$tmp/not-a-jar.jar"
  grep -q "exited with status" "$tmp/err" || { fail "java failure not explained"; cat "$tmp/err"; }
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvcheck_test: all passed"
