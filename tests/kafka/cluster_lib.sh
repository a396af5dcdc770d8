# The KRaft suites' cluster set-up (soak.sh, kraft_workloads.sh,
# nemesis_test.sh), in one place. Source it from beside the script:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"
#   kraft_cluster_init NAME CLUSTER_SCRIPT PORT STATE_DIR [SCRATCH_DIR]
#   kraft_cluster_start --brokers 3 [more start options] || exit 3   # sets $brokers
#
# (a sh_test lists //tests/kafka:cluster_lib.sh in its data). Each suite gives
# its cluster its own ports and state folder, so it never meets another
# suite's, scripts/kafka-cluster's default or another user's. Every suite's
# ports (PORT to PORT+202) stay below Linux's ephemeral range (32768 up by
# default): a listener there fails with "Address already in use" whenever an
# outgoing connection, such as a just-stopped suite's, holds that local port.
# nemesis 29492, kraft_test 30092, workloads 31092, soak 32092.

# kraft_cluster_init NAME CLUSTER_SCRIPT PORT STATE_DIR [SCRATCH_DIR]: NAME
# prefixes messages; CLUSTER_SCRIPT is scripts/kafka-cluster. Exports
# KVLOG_KAFKA_PORT (the first broker's port), KVLOG_KAFKA_DIR (the cluster's
# state) and KVLOG_KAFKA_CACHE (the jar cache of the user running this: under
# `bazel test` HOME is a temporary folder, which would mean a fresh download).
# On exit the cluster is stopped if kraft_cluster_start began one, and
# SCRATCH_DIR is removed; SIGINT and SIGTERM exit 130.
kraft_cluster_init() {
  kraft_name="$1" kraft_script="$2" kraft_scratch="${5:-}"
  kraft_started=0
  local user_home
  user_home="$(getent passwd "$(id -u)" | cut -d: -f6)"
  export KVLOG_KAFKA_CACHE="${KVLOG_KAFKA_CACHE:-$user_home/.cache/kvlog}"
  export KVLOG_KAFKA_PORT="$3"
  export KVLOG_KAFKA_DIR="$4"
  trap kraft_cluster_cleanup EXIT
  trap 'echo "$kraft_name: interrupted" >&2; exit 130' INT TERM
}

kraft_cluster_cleanup() {
  if ((kraft_started)); then
    bash "$kraft_script" stop >/dev/null 2>&1 || echo "$kraft_name: stopping the cluster failed" >&2
  fi
  if [[ -n "$kraft_scratch" ]]; then rm -rf "$kraft_scratch"; fi
}

# kraft_cluster_start START-OPTIONS...: stops a cluster left over by a crashed
# run (it would hold the ports), starts one with `kafka-cluster start
# START-OPTIONS...` and sets $brokers to its bootstrap list. Returns 1, saying
# why, when it did not start.
kraft_cluster_start() {
  local err code
  err="$(mktemp)"
  bash "$kraft_script" stop >/dev/null 2>&1
  kraft_started=1
  echo "$kraft_name: starting a KRaft cluster ($*) on ports from $KVLOG_KAFKA_PORT, state in $KVLOG_KAFKA_DIR ..."
  brokers="$(set -o pipefail; bash "$kraft_script" start "$@" 2>"$err" | tail -n 1)"
  code=$?
  cat "$err" >&2
  rm -f "$err"
  if ((code != 0)) || [[ -z "$brokers" ]]; then
    echo "$kraft_name: the cluster did not start (kafka-cluster start exited $code)" >&2
    return 1
  fi
  echo "$kraft_name: brokers $brokers"
}
