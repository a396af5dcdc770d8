#!/usr/bin/env bash
# kvcheck end to end: verdicts, exit codes (0 valid, 1 invalid, 2 usage error,
# 3 could not judge: unreadable history or unwritable report, 4 unknown, 130
# interrupted), JSON output, the HTML file, and the --knossos-jar message.
set -uo pipefail
kvcheck="$(readlink -f "$1")"
here="$(dirname "$(readlink -f "$0")")"
data="$here/testdata"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source tools/cli/test_lib.sh

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

# A zero budget cannot decide: unknown, exit 4 (not 2, a usage error).
expect_exit 4 "zero budget" "$kvcheck" "$tmp/valid.jsonl" --check linearizability --budget-ms 0

# Unreadable: file and line in the message.
printf '{"process":0,"type":"invoke","f":"put","key":"k","value":"a"}\n{"process":0,"type":"ok"\n' >"$tmp/broken.jsonl"
expect_exit 3 "unparseable history" "$kvcheck" "$tmp/broken.jsonl"
grep -q "broken.jsonl:2: invalid JSON" "$tmp/err" || { fail "parse error lacks file:line: reason"; cat "$tmp/err"; }
expect_exit 3 "missing file" "$kvcheck" "$tmp/nope.jsonl"

# Usage errors: exit 2 naming the option, whether or not linearizability runs.
expect_exit 2 "unknown model" "$kvcheck" "$tmp/valid.jsonl" --model nosuch
grep -q "model: nosuch not in" "$tmp/err" || fail "unknown model not named: $(cat "$tmp/err")"
expect_exit 2 "negative budget" "$kvcheck" "$tmp/valid.jsonl" --budget-ms -5
grep -q "budget-ms: -5 is out of range" "$tmp/err" || fail "negative budget not named: $(cat "$tmp/err")"
expect_exit 2 "negative threads" "$kvcheck" "$tmp/valid.jsonl" --threads -3
grep -q "threads: -3 is out of range" "$tmp/err" || fail "negative threads not named: $(cat "$tmp/err")"
expect_exit 2 "threads not a number" "$kvcheck" "$tmp/valid.jsonl" --threads 2x
expect_exit 2 "unknown option" "$kvcheck" "$tmp/valid.jsonl" --nosuch
expect_exit 2 "no file" "$kvcheck"
expect_exit 0 "--help" "$kvcheck" --help
grep -q "budget-ms INT=60000" "$tmp/out" || fail "--help shows no default budget"
grep -q "^Exit codes:" "$tmp/out" || fail "--help lists no exit codes"
for code in 0 1 2 3 4 130; do
  grep -qE "^  $code +[a-z]" "$tmp/out" || fail "--help does not explain exit code $code"
done
grep -q "threads INT=[0-9]*.*1 to 1024 (the default is this machine's core" "$tmp/out" ||
  { fail "--help: --threads range and default not said"; grep -A2 -e --threads "$tmp/out"; }

# Relative paths resolve against BUILD_WORKING_DIRECTORY (bazel run's caller).
mkdir -p "$tmp/caller" "$tmp/elsewhere"
cp "$tmp/valid.jsonl" "$tmp/caller/h.jsonl"
(cd "$tmp/elsewhere" && BUILD_WORKING_DIRECTORY="$tmp/caller" "$kvcheck" h.jsonl --html r.html >/dev/null) ||
  fail "relative history path under BUILD_WORKING_DIRECTORY"
[ -s "$tmp/caller/r.html" ] || fail "relative --html not written under BUILD_WORKING_DIRECTORY"

# An unwritable --html: exit 3 with the reason.
expect_exit 3 "unwritable --html" "$kvcheck" "$tmp/valid.jsonl" --html "$tmp/no/such/r.html"
grep -q "No such file or directory" "$tmp/err" || fail "unwritable --html: $(cat "$tmp/err")"

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
grep -q 'class="op ok flag blocking"' "$tmp/bad.html" || fail "HTML does not mark the op that cannot be placed"

# --knossos-jar with no jar: a usage error, exit 2.
expect_exit 2 "missing knossos jar" "$kvcheck" "$tmp/good.edn" --knossos-jar "$tmp/knossos.jar"
grep -q "knossos-jar: no file at" "$tmp/err" || fail "missing jar not explained"

# A file that is not a Knossos jar: java fails, kvcheck says so, exit 3.
# (java comes with Debian's clojure package, which the EDN test needs too.)
if ! command -v java >/dev/null; then
  fail "java is not installed (it comes with the clojure package: scripts/install-deps)"
else
  : >"$tmp/not-a-jar.jar"
  expect_exit 3 "broken knossos jar" "$kvcheck" "$tmp/good.edn" --knossos-jar "$tmp/not-a-jar.jar"
  grep -q "exited with status" "$tmp/err" || { fail "java failure not explained"; cat "$tmp/err"; }
fi

# Never silent: inputs with nothing to judge are errors (exit 3), naming why.
: >"$tmp/empty.jsonl"
printf '\n  \n\n' >"$tmp/blank.jsonl"
mkdir -p "$tmp/adir"
for f in empty.jsonl blank.jsonl adir; do
  expect_exit 3 "no operations: $f" "$kvcheck" "$tmp/$f"
  grep -q -e "no operations" -e "is a directory" "$tmp/err" || { fail "$f: no reason given"; cat "$tmp/err"; }
done
expect_exit 0 "--allow-empty" "$kvcheck" "$tmp/empty.jsonl" --allow-empty
# An unknown f names its line.
sed '4s/"f":"get"/"f":"frobnicate"/; 5s/"f":"get"/"f":"frobnicate"/' "$tmp/valid.jsonl" >"$tmp/frob.jsonl"
expect_exit 3 "unknown f" "$kvcheck" "$tmp/frob.jsonl"
grep -q "frob.jsonl:4: unknown f 'frobnicate'" "$tmp/err" || { fail "unknown f not named with its line"; cat "$tmp/err"; }
# A value written twice is refused, naming the line that repeats it (both in
# the log, or once: neither can be judged by value).
sed '6s/"value":"b"/"value":"a"/; 7s/"value":"b"/"value":"a"/; 9s/"value":"b"/"value":"a"/; 13s/"value":"b"/"value":"a"/' \
  "$tmp/valid.jsonl" >"$tmp/twice.jsonl"
grep -v '"offset":1,"key"' "$tmp/twice.jsonl" >"$tmp/twice-once.jsonl"
for f in twice.jsonl twice-once.jsonl; do
  expect_exit 3 "value written twice: $f" "$kvcheck" "$tmp/$f"
  grep -q "$f:6: writes k=a again (first written at line 2).*unique" "$tmp/err" || { fail "$f: repeat not named"; cat "$tmp/err"; }
done
# Without its log a history is not judged valid for session or durability.
grep -v '"log"' "$tmp/valid.jsonl" >"$tmp/nolog.jsonl"
expect_exit 4 "no log" "$kvcheck" "$tmp/nolog.jsonl"
grep -q "^session: unknown (not judged valid: the history carries no log" "$tmp/out" || { fail "no log not said"; cat "$tmp/out"; }
grep -q "^durability: unknown" "$tmp/out" || fail "durability judged without a log"
# Analysis time per check, in JSON and text.
expect_exit 0 "timings" "$kvcheck" "$tmp/valid.jsonl" --json
[ "$(grep -c '"analysis_seconds"' "$tmp/out")" = 3 ] || { fail "json lacks analysis_seconds per check"; cat "$tmp/out"; }
expect_exit 0 "timings in text" "$kvcheck" "$tmp/valid.jsonl"
grep -q "^session: valid (.*) \[analysis [0-9.]* s\]" "$tmp/out" || { fail "text lacks the analysis time"; cat "$tmp/out"; }
# No progress line when stderr is not a terminal.
[ ! -s "$tmp/err" ] || { fail "stderr not empty off a terminal"; cat "$tmp/err"; }

# SIGINT during a long check: a summary of what was done, exit 130, at once.
# 18 concurrent writes and a read of a value none wrote: the search explores
# every subset of the writes, far longer than the test waits.
{
  echo "["
  for i in $(seq 1 18); do echo "{:process $i, :type :invoke, :f :write, :value $i}"; done
  for i in $(seq 1 18); do echo "{:process $i, :type :ok, :f :write, :value $i}"; done
  echo "{:process 0, :type :invoke, :f :read, :value nil}"
  echo "{:process 0, :type :ok, :f :read, :value 0}]"
} >"$tmp/hard.edn"
"$kvcheck" "$tmp/hard.edn" --threads 1 --budget-ms 600000 >"$tmp/int.out" 2>"$tmp/int.err" &
interrupt kvcheck $!
[ $code -eq 130 ] || fail "interrupted check exited $code, want 130"
[ $(($(date +%s) - sent)) -le 5 ] || fail "kvcheck took more than 5 s to stop after SIGINT"
grep -q "^kvcheck: INTERRUPTED after [0-9]* s, during linearizability" "$tmp/int.out" ||
  fail "no summary naming the step: $(cat "$tmp/int.out")"
grep -q "^steps finished: reading, pairing" "$tmp/int.out" || fail "no steps finished: $(cat "$tmp/int.out")"
grep -q "^events read: 38" "$tmp/int.out" || fail "no count of what was read: $(cat "$tmp/int.out")"
grep -q "^verdict: unknown" "$tmp/int.out" || fail "no verdict line: $(cat "$tmp/int.out")"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvcheck_test: all passed"
