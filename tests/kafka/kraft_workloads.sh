#!/usr/bin/env bash
# The conditional-write workloads on a real 3-node Kafka (KRaft) cluster,
# judged by the same checker as in the simulator and on the mock (issue 12):
#   - CAS registers: put, delete, PutIf/PutIfAbsent (cas) and linearizable gets
#     on 3 keys, checked for linearizability under the kv model by kvcheck;
#   - counter: Update increments with reads at every level (counter and
#     read-levels checks);
#   - bank: transfers as transactions, total balance in every read (bank check).
# Every history is judged twice: by kvsim's live harness and again by kvcheck
# from the file.
#
#   bazel test //tests/kafka:kraft_workloads_test
#   bash tests/kafka/kraft_workloads.sh --kvsim PATH --kvcheck PATH --cluster PATH [--out DIR]
#
# Starts its own cluster on ports 31092-31094 (state in $TMPDIR/kvlog-workloads-$UID)
# and stops it at the end. Exits 0 when every run and check passed, 1 on a
# violation, 3 when a run could not be made.
set -uo pipefail

kvsim="" kvcheck="" cluster="" out=""
while (($#)); do
  case "$1" in
    --kvsim) kvsim="${2:?}"; shift 2 ;;
    --kvcheck) kvcheck="${2:?}"; shift 2 ;;
    --cluster) cluster="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kraft-workloads: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for b in kvsim kvcheck; do
  [[ -x "${!b}" ]] || { echo "kraft-workloads: --$b must name the built $b binary (got '${!b}')" >&2; exit 2; }
done
[[ -f "$cluster" ]] || { echo "kraft-workloads: --cluster must name scripts/kafka-cluster (got '$cluster')" >&2; exit 2; }
command -v java >/dev/null || { echo "kraft-workloads: java is not on PATH (Debian: default-jdk-headless)" >&2; exit 3; }

tmp="$(mktemp -d)"
[[ -n "$out" ]] || out="$tmp"
mkdir -p "$out" || exit 3
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"
kraft_cluster_init kraft-workloads "$cluster" 31092 "${TMPDIR:-/tmp}/kvlog-workloads-$(id -u)" "$tmp"
kraft_cluster_start --brokers 3 || exit 3

failures=0 could_not_run=0
# run NAME EXPECT... -- KVSIM-ARGS: one live run, its output must hold every EXPECT.
run() {
  local name="$1"; shift
  local expects=()
  while [[ "$1" != "--" ]]; do expects+=("$1"); shift; done
  shift
  local start=$SECONDS
  "$kvsim" --live --brokers "$brokers" --replication-factor 3 --out "$out/$name.jsonl" "$@" >"$out/$name.out" 2>&1
  local code=$?
  echo "kraft-workloads: $name: kvsim exited $code in $((SECONDS - start)) s"
  sed 's/^/    /' "$out/$name.out"
  if ((code == 1)); then failures=$((failures + 1)); return; fi
  if ((code != 0)); then could_not_run=$((could_not_run + 1)); return; fi
  for e in PASS "${expects[@]}"; do
    grep -q -- "$e" "$out/$name.out" || { echo "kraft-workloads: $name: no '$e' in kvsim's report"; failures=$((failures + 1)); }
  done
}
# judge NAME EXPECT... -- KVCHECK-ARGS: kvcheck on the run's history.
judge() {
  local name="$1"; shift
  local expects=()
  while [[ "$1" != "--" ]]; do expects+=("$1"); shift; done
  shift
  [[ -s "$out/$name.jsonl" ]] || return 0  # The run itself failed; counted there.
  "$kvcheck" "$@" "$out/$name.jsonl" >"$out/$name.check" 2>&1
  local code=$?
  echo "kraft-workloads: $name: kvcheck exited $code"
  sed 's/^/    /' "$out/$name.check"
  if ((code != 0)); then failures=$((failures + 1)); return; fi
  for e in "${expects[@]}"; do
    grep -q -- "$e" "$out/$name.check" || { echo "kraft-workloads: $name: no '$e' in kvcheck's report"; failures=$((failures + 1)); }
  done
}

run cas "durability: valid" -- --mix put=15,get=40,del=5,cas=40 --get-level linearizable --keys 3 --ops 40 --seed 1
judge cas "linearizability: valid" -- --model kv --check linearizability --check session --check convergence --check durability
grep -q '"f":"cas".*"result":true' "$out/cas.jsonl" 2>/dev/null ||
  { echo "kraft-workloads: cas: no successful cas in the history"; failures=$((failures + 1)); }
run counter "counter: valid" "read-levels: valid" -- --workload counter --ops 40 --seed 2
judge counter "counter: valid" "read-levels: valid" --
run bank "bank: valid" -- --workload bank --ops 30 --seed 3
judge bank "bank: valid" "read-levels: valid" --

echo "kraft-workloads: histories in $out"
if ((failures > 0)); then
  echo "kraft-workloads: FAILED: $failures failure(s)"
  exit 1
fi
if ((could_not_run > 0)); then
  echo "kraft-workloads: $could_not_run run(s) could not be made"
  exit 3
fi
echo "kraft-workloads: PASSED: CAS registers linearizable, counter and bank valid on KRaft"
