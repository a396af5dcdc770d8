#!/usr/bin/env bash
# The live soak: kvsim's live workload (16 clients by default) on a real
# 3-node Kafka (KRaft) cluster for several minutes with no faults, its history
# checked twice (by kvsim's live harness and again by kvcheck from the file).
# Zero violations expected. Manual: a few minutes, needs Java and the broker
# jars (scripts/kafka-cluster fetch).
#
#   bazel test //tests/kafka:soak_test --test_output=streamed               # 3 minutes
#   bazel test //tests/kafka:soak_test --test_output=streamed --test_arg=--minutes=10
#   bash tests/kafka/soak.sh --kvsim PATH --kvcheck PATH --cluster PATH [options]
#
# Options (defaults in brackets):
#   --minutes M     how long the workload should run [3]; the operation count is
#                   sized from a short calibration run on the same cluster
#   --clients N     clients (replicas), each its own producer and reader [16]
#   --keys N        size of the key space [50]
#   --brokers LIST  use this running cluster instead of starting one
#   --out DIR       keep the history and the HTML report there [a temporary folder]
#
# Without --brokers it starts its own 3-node cluster on ports 32092-32094 (state
# in $TMPDIR/kvlog-soak-$UID), away from scripts/kafka-cluster's default and
# from the KRaft suite's, and stops it at the end. Only one KRaft cluster should
# run on a small machine at a time.
#
# Prints the figures (operations, duration, ops/s, violations) and exits 0 when
# the run completed with zero violations, 1 on a violation, 3 when the run could
# not be made.
set -uo pipefail

minutes=3 clients=16 keys=50 brokers="" out="" kvsim="" kvcheck="" cluster=""
while (($#)); do
  case "$1" in
    --minutes=*) minutes="${1#*=}"; shift ;;
    --minutes) minutes="${2:?}"; shift 2 ;;
    --clients=*) clients="${1#*=}"; shift ;;
    --clients) clients="${2:?}"; shift 2 ;;
    --keys=*) keys="${1#*=}"; shift ;;
    --keys) keys="${2:?}"; shift 2 ;;
    --brokers=*) brokers="${1#*=}"; shift ;;
    --brokers) brokers="${2:?}"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    --out) out="${2:?}"; shift 2 ;;
    --kvsim) kvsim="${2:?}"; shift 2 ;;
    --kvcheck) kvcheck="${2:?}"; shift 2 ;;
    --cluster) cluster="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for n in minutes clients keys; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || { echo "soak: --$n must be a positive integer, got '${!n}'" >&2; exit 2; }
done
((clients <= 64)) || { echo "soak: --clients must be at most 64 (kvsim's limit), got $clients" >&2; exit 2; }
for b in kvsim kvcheck; do
  [[ -x "${!b}" ]] || { echo "soak: --$b must name the built $b binary (got '${!b}')" >&2; exit 2; }
done
if [[ -z "$brokers" ]]; then
  [[ -f "$cluster" ]] || { echo "soak: --cluster must name scripts/kafka-cluster (got '$cluster')" >&2; exit 2; }
  command -v java >/dev/null || { echo "soak: java is not on PATH (Debian: default-jdk-headless)" >&2; exit 3; }
fi

tmp="$(mktemp -d)"
if [[ -z "$out" ]]; then out="$tmp"; fi
mkdir -p "$out" || exit 3
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"
kraft_cluster_init soak "$cluster" 32092 "${TMPDIR:-/tmp}/kvlog-soak-$(id -u)" "$tmp"

if [[ -z "$brokers" ]]; then
  kraft_cluster_start --brokers 3 || exit 3
else
  echo "soak: brokers $brokers"
fi

# Calibration: a short run sizes the operation count for the wanted duration.
calib_ops=100
start=$(date +%s%N)
"$kvsim" --live --brokers "$brokers" --replication-factor 3 --clients "$clients" --keys "$keys" \
  --ops "$calib_ops" --seed 1 --quiet >"$tmp/calibration.out" 2>&1
code=$?
if ((code != 0)); then
  cat "$tmp/calibration.out"
  echo "soak: the calibration run exited $code"
  exit "$code"
fi
calib_ms=$((($(date +%s%N) - start) / 1000000))
((calib_ms > 0)) || calib_ms=1
ops=$((calib_ops * minutes * 60 * 1000 / calib_ms))
((ops >= calib_ops)) || ops=$calib_ops
((ops <= 1000000)) || ops=1000000
echo "soak: calibration: $clients x $calib_ops ops in $((calib_ms / 1000)) s; running $clients x $ops ops (~$minutes min)"

start=$(date +%s)
"$kvsim" --live --brokers "$brokers" --replication-factor 3 --clients "$clients" --keys "$keys" \
  --ops "$ops" --seed 2 --quiet --out "$out/soak.jsonl" --html "$out/soak.html" >"$tmp/run.out" 2>&1
code=$?
duration=$(($(date +%s) - start))
cat "$tmp/run.out"
"$kvcheck" "$out/soak.jsonl" --json >"$tmp/check.json" 2>"$tmp/check.err"
check_code=$?
violations=$(grep -o '"violation_count": *[0-9]*' "$tmp/check.json" | awk -F: '{s += $2} END {print s + 0}')
events() { grep -v '^{"\(nemesis\|log\|final\|meta\)"' "$out/soak.jsonl"; }
completed=$(events | grep -c '"type":"ok"\|"type":"fail"')
unknown=$(events | grep -c '"type":"info"')
echo "soak: $clients clients, $((clients * ops)) operations attempted, $completed completed, $unknown unknown," \
  "in $duration s ($((completed / (duration > 0 ? duration : 1))) ops/s); kvsim exited $code;" \
  "kvcheck exited $check_code with $violations violations"
[[ "$out" != "$tmp" ]] && echo "soak: history $out/soak.jsonl, report $out/soak.html"
if ((code == 1 || check_code == 1 || violations > 0)); then
  echo "soak: FAILED: violations found"
  exit 1
fi
if ((code != 0 || check_code != 0)); then
  cat "$tmp/check.err"
  echo "soak: the run could not be completed or judged"
  exit 3
fi
((duration >= minutes * 60 / 2)) || echo "soak: note: the run took ${duration} s, under half of the $minutes min asked"
echo "soak: PASSED: zero violations"
