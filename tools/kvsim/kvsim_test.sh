#!/usr/bin/env bash
# kvsim end to end: sweeps, exit codes, replay commands, byte-identical replays,
# output files that kvcheck accepts, and a live run on the embedded mock cluster.
set -uo pipefail
kvsim=$(readlink -f "$1")
kvcheck=$(readlink -f "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source tools/cli/test_lib.sh

out=$("$kvsim" --seeds 1..5 --faults latency,crash --quiet); code=$?
[ $code -eq 0 ] || fail "safe sweep exited $code"
grep -q "5 passed, 0 failed" <<<"$out" || fail "safe sweep summary: $out"
grep -q "virtual / wall" <<<"$out" || fail "no virtual/wall ratio"
grep -q "simulated ops per second" <<<"$out" || fail "no ops per second"

# One vocabulary: the report names the registry's faults (no append-latency
# beside latency), old names are aliases, and --list-faults says where each runs.
out=$("$kvsim" --seed 2 --faults append-latency,failover); code=$?
[ $code -eq 0 ] || fail "latency+failover exited $code"
grep -q "faults: latency,failover$" <<<"$out" || fail "report fault names: $out"
grep -q "^faults  *latency,failover$" <<<"$out" || fail "summary fault names: $out"
out=$("$kvsim" --list-faults); code=$?
[ $code -eq 0 ] || fail "--list-faults exited $code"
grep -Eq "^  crash +safe +sim, mock, brokers " <<<"$out" || fail "--list-faults sites of crash: $out"
grep -Eq "^  compaction +safe +sim " <<<"$out" || fail "--list-faults sites of compaction: $out"
grep -Eq "^  client-partition +safe" <<<"$out" || fail "--list-faults lacks client-partition: $out"
for f in clock-skew slow-applier stalled-applier; do  # Client-side, simulator only.
  grep -Eq "^  $f +safe +sim +[a-z]" <<<"$out" || fail "--list-faults: $f should be safe, sim only: $out"
done
# Swarm over them: the chosen slot and magnitudes are printed, and the same seed gives the same history.
for i in 1 2; do
  "$kvsim" --seed 4 --swarm --faults clock-skew,slow-applier,stalled-applier --out "$tmp/cs$i.jsonl" >"$tmp/cs$i.txt" ||
    fail "swarm over the client-side faults failed: $(cat "$tmp/cs$i.txt")"
done
cmp -s "$tmp/cs1.jsonl" "$tmp/cs2.jsonl" || fail "swarm seed 4 over the client-side faults: histories differ"
grep -Eq "swarm parameters: .*(slow-applier.per_record_us|stalled-applier.stall_ms|clock-skew.skews)=" "$tmp/cs1.txt" ||
  fail "no client-side fault parameters printed: $(cat "$tmp/cs1.txt")"

# Swarm: the seed picks faults, magnitudes and client knobs, printed; same seed, same run.
"$kvsim" --seed 9 --swarm --faults latency,outage,client-partition,crash --out "$tmp/sw1.jsonl" >"$tmp/sw1.txt" \
  || fail "swarm seed 9: $(cat "$tmp/sw1.txt")"
"$kvsim" --seed 9 --swarm --faults latency,outage,client-partition,crash --out "$tmp/sw2.jsonl" >"$tmp/sw2.txt" \
  || fail "swarm seed 9 again"
cmp -s "$tmp/sw1.jsonl" "$tmp/sw2.jsonl" || fail "swarm seed 9 twice gave different histories"
grep -q "swarm parameters: .*client.max_poll_records=" "$tmp/sw1.txt" || fail "no swarm parameters: $(cat "$tmp/sw1.txt")"
grep -q "swarm parameters: .*client.max_writes_in_flight=" "$tmp/sw1.txt" || fail "no in-flight limit drawn: $(cat "$tmp/sw1.txt")"
out=$("$kvsim" --seeds 1..5 --swarm --variant early-ack --quiet); code=$?
[ $code -eq 1 ] || fail "swarm sweep of a broken client exited $code, want 1"
grep -q "replay with: kvsim --seed [0-9]* --swarm --variant early-ack --faults latency" <<<"$out" || fail "swarm replay: $out"
"$kvsim" --live --swarm >/dev/null 2>&1; code=$?
[ $code -eq 2 ] || fail "--live --swarm exited $code, want 2"

# --run-dir: parameters, history (JSONL, EDN), reports (text, JSON, HTML) and
# a replay script that gives the same history.
"$kvsim" --seed 3 --swarm --variant early-ack --run-dir "$tmp/rd" >"$tmp/rd.txt"; code=$?
[ $code -eq 1 ] || fail "run-dir of a failing seed exited $code, want 1"
for f in parameters.txt history.jsonl history.edn report.txt report.json report.html replay.sh; do
  [ -s "$tmp/rd/$f" ] || fail "run folder lacks $f"
done
grep -q "^parameter: client.max_poll_records=" "$tmp/rd/parameters.txt" || fail "no swarm choices in parameters.txt"
grep -q '"verdict"' "$tmp/rd/report.json" || fail "report.json: $(head -c 300 "$tmp/rd/report.json")"
(cd "$tmp/rd" && PATH="$(dirname "$kvsim"):$PATH" sh replay.sh --out "$tmp/rd-again.jsonl" >/dev/null)
cmp -s "$tmp/rd/history.jsonl" "$tmp/rd-again.jsonl" || fail "replay.sh gave another history"
"$kvsim" --seeds 1..2 --run-dir "$tmp/rd2" >/dev/null 2>&1; code=$?
[ $code -eq 2 ] || fail "--run-dir with a range exited $code, want 2"

# --jobs, --shard, --summary, --merge: two shards on 2 threads merge into the
# serial run's per-seed results.
"$kvsim" --seeds 1..10 --variant early-ack --quiet --jobs 1 --summary "$tmp/all.jsonl" >/dev/null
"$kvsim" --seeds 1..10 --variant early-ack --quiet --jobs 2 --shard 1/2 --summary "$tmp/sh1.jsonl" >/dev/null
"$kvsim" --seeds 1..10 --variant early-ack --quiet --jobs 2 --shard 2/2 --summary "$tmp/sh2.jsonl" >/dev/null
[ "$(wc -l <"$tmp/sh1.jsonl")" -eq 5 ] && [ "$(wc -l <"$tmp/sh2.jsonl")" -eq 5 ] || fail "shards of 10 seeds"
strip() { sed 's/"wall_seconds":[0-9.e-]*,//' "$@" | sort; }
[ "$(strip "$tmp/all.jsonl")" == "$(strip "$tmp/sh1.jsonl" "$tmp/sh2.jsonl")" ] || fail "shards differ from serial"
out=$("$kvsim" --merge "$tmp/sh1.jsonl" "$tmp/sh2.jsonl"); code=$?
[ $code -eq 1 ] || fail "merge of failing shards exited $code, want 1: $out"
grep -q "10 from 2 files (1..10)" <<<"$out" || fail "merge summary: $out"
grep -q "FAILED seed [0-9]* (.*): replay with: kvsim --seed [0-9]* --variant early-ack" <<<"$out" || fail "merge replay: $out"
"$kvsim" --merge "$tmp/sh1.jsonl" "$tmp/sh1.jsonl" >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] && grep -q "in two summaries" "$tmp/err" || fail "overlapping merge exited $code: $(cat "$tmp/err")"
"$kvsim" --seeds 1..4 --shard 3/2 >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] && grep -q "1 <= I <= N" "$tmp/err" || fail "--shard 3/2 exited $code: $(cat "$tmp/err")"

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

# The fault schedule is in the history as nemesis lines (streamed with --out
# alone, and in memory with --edn too: the same bytes, compared above).
for f in start-outage stop-outage crash restart; do
  grep -q "^{\"nemesis\":{.*\"f\":\"$f\"" "$tmp/b.jsonl" || fail "no '$f' nemesis line in the history"
done
[ "$(grep -c '"nemesis"' "$tmp/b.jsonl")" -ge 4 ] || fail "too few nemesis lines: $(grep '"nemesis"' "$tmp/b.jsonl")"
"$kvsim" --seed 3 --out "$tmp/calm.jsonl" >/dev/null || fail "seed 3 without faults"
! grep -q '"nemesis"' "$tmp/calm.jsonl" || fail "nemesis lines in a run without faults"
"$kvsim" --seed 3 --faults outage --html "$tmp/outage.html" >/dev/null || fail "seed 3 with an outage"
grep -q "start-outage" "$tmp/outage.html" || fail "the HTML report does not show the outage window"

"$kvsim" --seed 1 --faults nope >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "unknown fault exited $code, want 2"
grep -q "unknown fault 'nope'" "$tmp/err" || fail "unknown fault message: $(cat "$tmp/err")"
# Usage errors exit 2 with a message naming the problem (never CLI11's 105/109).
usage() { expect_usage kvsim "$kvsim" "$@"; }  # expected-message args...
usage "5 > 1" --seeds 5..1
usage "last seed: expected a decimal integer, got '3x'" --seeds 1..3x
usage "more than one '..'" --seeds 1..2..3
usage "expected a number >= 0, got '-1'" --seed -1
usage "empty" --seeds ""
usage "--seed takes one seed" --seed 1..3
usage "--workload: nope not in {kv,counter,bank,ttl,watch}" --workload nope
usage "expected a decimal integer, got '10x'" --ops 10x
usage "out of range: must be in 1..64" --clients 0
usage "not expected: --nosuch" --nosuch
usage "--brokers needs --live" --brokers 127.0.0.1:9092
usage "-X needs --live" -X linger.ms=0
usage "expected key=value" --live -X linger.ms
usage "--live runs one seed" --live --seeds 1..2
usage "producer setting acks=1 for topic" --live -X acks=1
usage "on the command line: --allow-unsafe-acks" --live -X acks=1
usage "producer setting enable.idempotence=false" --live -X enable.idempotence=false
usage "--topic-config needs --brokers" --live --topic-config retention.ms=1000
usage 'No such configuration property: "no.such"' --live -X no.such=1 --ops 5
usage "--mix: unknown operation 'inc'" --mix put=1,inc=2
usage "--mix: every weight is 0" --mix put=0
usage "--mix cas: expected a decimal integer" --mix cas=x
usage "--mix: expected key=value" --mix cas
usage "--get-level 'fresh': expected local, linearizable or bounded:N" --get-level fresh
usage "--get-level bounded:-2: the lag in records" --get-level bounded:-2

# --help shows defaults and exit codes, exit 0.
"$kvsim" --help >"$tmp/help"; code=$?
[ $code -eq 0 ] || fail "--help exited $code"
grep -q "ops INT=100" "$tmp/help" || fail "--help shows no default for --ops"
grep -q "^Exit codes:" "$tmp/help" || fail "--help lists no exit codes"
grep -q "^  3 .*could not be made" "$tmp/help" || fail "--help does not explain exit 3"
grep -q "^  130 .*interrupted" "$tmp/help" || fail "--help does not explain exit 130"
! grep -q "^  4 " "$tmp/help" || fail "--help lists exit 4, which kvsim never returns"

# A sweep's --out holds the first failing seed's history (not the last seed's).
# failover-acks1 with a client that trusts acknowledgements (trust-ack) over
# 7..12: some seeds pass, some fail; find which from the run.
out=$("$kvsim" --seeds 7..12 --faults failover-acks1 --variant trust-ack --out "$tmp/sweep.jsonl" --edn "$tmp/sweep.edn"); code=$?
[ $code -eq 1 ] || fail "failover-acks1 sweep exited $code, want 1: $out"
first=$(grep -o "FAILED seed [0-9]*" <<<"$out" | head -1 | awk '{print $3}')
[ -n "$first" ] || fail "no failing seed in 7..12 (pick another range): $out"
grep -q "history of seed $first written to $tmp/sweep.jsonl" <<<"$out" || fail "the written seed is not named: $out"
"$kvsim" --seed "$first" --faults failover-acks1 --variant trust-ack --out "$tmp/first.jsonl" >/dev/null
cmp -s "$tmp/sweep.jsonl" "$tmp/first.jsonl" || fail "--out of the sweep is not seed $first's history"
"$kvsim" --seed 12 --faults failover-acks1 --variant trust-ack --out "$tmp/last.jsonl" >/dev/null
[ "$first" = 12 ] || ! cmp -s "$tmp/sweep.jsonl" "$tmp/last.jsonl" || fail "--out of the sweep is the last seed's"
"$kvcheck" "$tmp/sweep.jsonl" >/dev/null; code=$?
[ $code -eq 1 ] || fail "kvcheck judged the first failing seed's history $code, want 1"
# With no failing seed, the last seed's history, named.
out=$("$kvsim" --seeds 1..3 --out "$tmp/pass.jsonl"); code=$?
[ $code -eq 0 ] || fail "passing sweep exited $code"
grep -q "history of seed 3 written" <<<"$out" || fail "passing sweep: written seed not named: $out"

# Relative paths resolve against BUILD_WORKING_DIRECTORY (bazel run's caller).
mkdir -p "$tmp/caller" "$tmp/elsewhere"
(cd "$tmp/elsewhere" && BUILD_WORKING_DIRECTORY="$tmp/caller" "$kvsim" --seed 2 --out rel.jsonl >/dev/null) ||
  fail "run with a relative --out"
[ -s "$tmp/caller/rel.jsonl" ] || fail "relative --out not written under BUILD_WORKING_DIRECTORY"
[ ! -e "$tmp/elsewhere/rel.jsonl" ] || fail "relative --out written in the working directory"

# An unwritable --out: exit 3 with the reason.
"$kvsim" --seed 2 --out "$tmp/no/such/dir/h.jsonl" >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 3 ] || fail "unwritable --out exited $code, want 3"
grep -q "No such file or directory" "$tmp/err" || fail "unwritable --out: $(cat "$tmp/err")"

# No progress line when stderr is not a terminal.
"$kvsim" --seeds 1..3 >/dev/null 2>"$tmp/err"
[ ! -s "$tmp/err" ] || fail "progress drawn on a non-terminal: $(cat "$tmp/err")"

# SIGINT in a sweep: the seeds done are summarised, exit 130.
"$kvsim" --seeds 1..100000 >"$tmp/int.out" 2>"$tmp/int.err" &
interrupt kvsim $!
[ $code -eq 130 ] || fail "interrupted sweep exited $code, want 130"
grep -q "INTERRUPTED after [0-9]* of 100000" "$tmp/int.out" || fail "no summary after SIGINT: $(cat "$tmp/int.out")"
grep -q "^verdict .* passed, 0 failed" "$tmp/int.out" || fail "no verdict after SIGINT: $(cat "$tmp/int.out")"

# The counter and bank workloads, simulated and live: judged by their own checks.
out=$("$kvsim" --seeds 1..3 --workload counter --faults lost-ack,crash --quiet); code=$?
[ $code -eq 0 ] || fail "counter sweep exited $code: $out"
out=$("$kvsim" --seeds 1..10 --workload bank --variant txn-split --faults latency --quiet); code=$?
[ $code -eq 1 ] || fail "txn-split sweep exited $code, want 1: $out"
grep -q "replay with: kvsim --seed [0-9]* --workload bank --variant txn-split" <<<"$out" || fail "no replay: $out"
out=$("$kvsim" --live --workload counter --faults crash --ops 20); code=$?
[ $code -eq 0 ] || fail "live counter run exited $code: $out"
grep -q "counter: valid" <<<"$out" || fail "live counter run: $out"
grep -q "read-levels: valid" <<<"$out" || fail "live counter run did not check read levels: $out"
out=$("$kvsim" --live --workload bank --ops 20); code=$?
[ $code -eq 0 ] || fail "live bank run exited $code: $out"
grep -q "bank: valid" <<<"$out" || fail "live bank run: $out"

# Outage on the mock can commit duplicates; every replica skips them (see the README).
out=$("$kvsim" --live --faults outage,failover,lost-ack,crash --ops 40); code=$?
[ $code -eq 0 ] || fail "live run on the mock cluster exited $code: $out"
grep -q "PASS" <<<"$out" || fail "live run: $out"
grep -q "durability: valid" <<<"$out" || fail "live run did not check durability: $out"
"$kvsim" --live --faults compaction >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "a fault the mock cannot inject exited $code, want 2"
grep -q "live topic kvsim-live on the embedded mock cluster" <<<"$out" || fail "live run names no topic: $out"

# The CAS register workload (cas, put, del, linearizable gets), simulated and live
# on the mock cluster: kvcheck finds the histories linearizable under the kv
# model. The simulated seed holds cas operations of both outcomes (fixed by the
# seed); live, how many conflict depends on timing, so only successes are required.
cas_mix=(--mix put=15,get=40,del=5,cas=40 --get-level linearizable --keys 3)
check_cas() {  # name history both-outcomes
  "$kvcheck" --model kv --check linearizability --check session --check convergence --check durability "$2" \
    >"$tmp/cas.check"; local code=$?
  [ $code -eq 0 ] || fail "$1: kvcheck exited $code: $(head -20 "$tmp/cas.check")"
  grep -q "linearizability: valid" "$tmp/cas.check" || fail "$1: linearizability not judged valid: $(cat "$tmp/cas.check")"
  grep -q '"f":"cas".*"result":true' "$2" || fail "$1: no successful cas in the history"
  [ "$3" = no ] || grep -q '"f":"cas".*"result":false' "$2" || fail "$1: no failed cas in the history"
  grep -q '"f":"get"' "$2" || fail "$1: no get in the history"
}
"$kvsim" --seed 5 "${cas_mix[@]}" --faults latency,lost-ack,crash --ops 60 --out "$tmp/cas-sim.jsonl" \
  >"$tmp/cas-sim.out"; code=$?
[ $code -eq 0 ] || fail "simulated cas workload exited $code: $(cat "$tmp/cas-sim.out")"
check_cas "simulated cas workload" "$tmp/cas-sim.jsonl" yes
out=$("$kvsim" --live "${cas_mix[@]}" --faults lost-ack,crash --ops 40 --out "$tmp/cas-live.jsonl"); code=$?
[ $code -eq 0 ] || fail "live cas workload on the mock cluster exited $code: $out"
grep -q "PASS" <<<"$out" || fail "live cas workload: $out"
check_cas "live cas workload" "$tmp/cas-live.jsonl" no

# Live on brokers that cannot be reached: exit 3 at once, with the cause.
start=$(date +%s)
"$kvsim" --live --brokers 127.0.0.1:1 >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 3 ] || fail "unreachable brokers exited $code, want 3"
grep -q "cannot reach any broker of 127.0.0.1:1: 127.0.0.1:1: Connection refused" "$tmp/err" ||
  fail "unreachable brokers: $(cat "$tmp/err")"
[ $(($(date +%s) - start)) -le 5 ] || fail "unreachable brokers took more than 5 s"

# Durable stores (--storage durable): crashes tear the clients' simulated disks, the
# restarted clients resume; the report says so; same seed, same bytes; misuse refused.
"$kvsim" --seed 3 --faults crash,lost-ack --storage durable --out "$tmp/du1.jsonl" >"$tmp/du1.txt" \
  || fail "durable seed 3: $(cat "$tmp/du1.txt")"
"$kvsim" --seed 3 --faults crash,lost-ack --storage durable --out "$tmp/du2.jsonl" >"$tmp/du2.txt" \
  || fail "durable seed 3 again"
cmp -s "$tmp/du1.jsonl" "$tmp/du2.jsonl" || fail "durable seed 3 twice gave different histories"
grep -q "storage: durable (synced every 3 writes): [1-9][0-9]* restarts on a crashed disk, [1-9]" "$tmp/du1.txt" \
  || fail "durable report: $(cat "$tmp/du1.txt")"
grep -q "^storage  *durable, synced every 3 writes" "$tmp/du1.txt" || fail "durable summary: $(cat "$tmp/du1.txt")"
"$kvsim" --seed 3 --faults crash,lost-ack >"$tmp/mem.txt" || fail "memory seed 3"
grep -q "storage" "$tmp/mem.txt" && fail "in-memory stores reported a storage line: $(cat "$tmp/mem.txt")"
out=$("$kvsim" --seeds 1..8 --faults crash,lost-ack,latency --storage durable --sync-every 0 --quiet); code=$?
[ $code -eq 0 ] || fail "durable sweep, never synced, exited $code: $out"
"$kvsim" --seed 1 --sync-every 2 >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] && grep -q -- "--sync-every needs --storage durable" "$tmp/err" || fail "--sync-every alone: $code $(cat "$tmp/err")"
"$kvsim" --seed 1 --storage disk >/dev/null 2>&1; code=$?
[ $code -eq 2 ] || fail "--storage disk exited $code, want 2"
"$kvsim" --live --storage durable >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] && grep -q "simulator only" "$tmp/err" || fail "--live --storage durable: $code $(cat "$tmp/err")"

# A live run on --brokers with --run-dir keeps the brokers' logs: copied from
# the kafka-cluster state folder (a fake one here; the brokers are unreachable,
# and the logs are kept all the same); a folder the script did not make: a warning.
mkdir -p "$tmp/kstate/node-1" "$tmp/kstate/node-101"
touch "$tmp/kstate/.kvlog-kafka-cluster"
echo "broker one" >"$tmp/kstate/node-1/server.log"
echo "controller" >"$tmp/kstate/node-101/server.log"
KVLOG_KAFKA_DIR="$tmp/kstate" "$kvsim" --live --brokers 127.0.0.1:1 --connect-timeout-ms 500 --run-dir "$tmp/lrd" \
  >"$tmp/lrd.txt" 2>&1; code=$?
[ $code -eq 3 ] || fail "live run on unreachable brokers exited $code, want 3"
[ "$(cat "$tmp/lrd/broker-logs/node-1/server.log" 2>/dev/null)" = "broker one" ] ||
  fail "the run folder lacks node 1's server.log: $(cat "$tmp/lrd.txt")"
[ -f "$tmp/lrd/broker-logs/node-101/server.log" ] || fail "the run folder lacks the controller's server.log"
grep -q "broker logs: 2 files" "$tmp/lrd.txt" || fail "no broker-logs line: $(cat "$tmp/lrd.txt")"
mkdir -p "$tmp/notkafka"
KVLOG_KAFKA_DIR="$tmp/notkafka" "$kvsim" --live --brokers 127.0.0.1:1 --connect-timeout-ms 500 --run-dir "$tmp/lrd2" \
  >"$tmp/lrd2.txt" 2>&1
grep -q "not a kafka-cluster state folder" "$tmp/lrd2.txt" || fail "no warning for a foreign folder: $(cat "$tmp/lrd2.txt")"
[ ! -e "$tmp/lrd2/broker-logs" ] || fail "broker-logs made from a foreign folder"

# Async puts in the mix: several in flight per process, so a small in-flight
# limit is met (writes wait, async puts are refused) and the run still passes.
out=$("$kvsim" --seed 3 --mix put=20,get=30,put_async=40,batch=10 --max-async-writes 6 --max-writes-in-flight 2 \
  --ops 300 --faults latency,lost-ack); code=$?
[ $code -eq 0 ] || fail "async puts at a limit of 2 exited $code: $out"
grep -Eq "writes: [1-9][0-9]* async puts; at the in-flight limit [1-9][0-9]* waited, [1-9][0-9]* refused" <<<"$out" ||
  fail "async puts at a limit of 2: no waits or refusals reported: $out"
"$kvsim" --seed 3 --mix put_asink=3 >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "--mix put_asink exited $code, want 2"
grep -q "the kinds are put, get, del, batch, range, cas, put_async" "$tmp/err" || fail "--mix put_asink: $(cat "$tmp/err")"

# Broker faults (--nemesis): registry entries in the one list with their
# sites, the simulator's failover and outage running on brokers under their
# own names, old names as aliases; refused on the mock and in the simulator,
# and checked before any client starts.
out=$("$kvsim" --list-faults)
grep -Eq "^  kill-lone-leader +UNSAFE +brokers +SIGSTOP" <<<"$out" || fail "--list-faults: kill-lone-leader: $out"
grep -Eq "^  kill-leader +safe +brokers .*\[related: failover, outage\]" <<<"$out" || fail "--list-faults: kill-leader: $out"
grep -Eq "^  failover +safe +sim, mock, brokers .*\[also: elect\].*\[related: kill-leader" <<<"$out" ||
  fail "--list-faults: failover: $out"
grep -Eq "^  outage +safe +sim, mock, brokers .*\[also: pause-all\]" <<<"$out" || fail "--list-faults: outage: $out"
grep -q "^broker faults" <<<"$out" && fail "--list-faults still has a second list of broker faults: $out"
"$kvsim" --seed 1 --faults kill-leader >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "--faults kill-leader in the simulator exited $code, want 2"
grep -q "fault 'kill-leader' runs only live (brokers)" "$tmp/err" || fail "kill-leader in the simulator: $(cat "$tmp/err")"
"$kvsim" --live --brokers 127.0.0.1:1 --nemesis kill-leader,gremlins --ops 1 >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "--nemesis gremlins exited $code, want 2"
grep -q "unknown fault 'gremlins'; faults on brokers: outage, failover, crash, kill-leader" "$tmp/err" ||
  fail "--nemesis gremlins: $(cat "$tmp/err")"
"$kvsim" --live --brokers 127.0.0.1:1 --nemesis compaction --ops 1 >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "--nemesis compaction exited $code, want 2"
grep -q "no broker nemesis action for fault 'compaction'" "$tmp/err" || fail "--nemesis compaction: $(cat "$tmp/err")"
"$kvsim" --live --nemesis kill-leader --ops 1 >/dev/null 2>"$tmp/err"; code=$?
[ $code -eq 2 ] || fail "--nemesis on the mock exited $code, want 2"
grep -q -- "--nemesis needs --brokers" "$tmp/err" || fail "--nemesis on the mock: $(cat "$tmp/err")"
"$kvsim" --seed 1 --nemesis kill-leader >/dev/null 2>&1; code=$?
[ $code -eq 2 ] || fail "--nemesis without --live exited $code, want 2"

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kvsim: all checks passed"
