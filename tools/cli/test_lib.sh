# Shell helpers the programs' end-to-end tests share. Source it after setting
# $tmp (a scratch folder): `source tools/cli/test_lib.sh` (a sh_test runs in its
# runfiles root; list //tools/cli:test_lib.sh in its data).

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_usage NAME BINARY EXPECTED-MESSAGE ARGS...: BINARY ARGS exits 2
# (usage error) and its stderr holds EXPECTED-MESSAGE.
expect_usage() {
  local name="$1" binary="$2" want="$3"
  shift 3
  "$binary" "$@" >/dev/null 2>"$tmp/err"; local code=$?
  [ $code -eq 2 ] || fail "$name $*: exited $code, want 2"
  grep -qF -- "$want" "$tmp/err" || fail "$name $*: message lacks '$want': $(cat "$tmp/err")"
}

# interrupt NAME PID: once process PID (the program NAME, started in the
# background) catches SIGINT, waits half a second, sends it SIGINT, notes the
# time in $sent (seconds since the epoch) and sets $code to its exit status.
interrupt() {
  wait_for_sigint_handler "$2" || fail "$1 installed no SIGINT handler"
  sleep 0.5
  kill -INT "$2"
  sent=$(date +%s)
  wait "$2"; code=$?
}

# Waits until process $1 catches SIGINT (its handler is installed).
wait_for_sigint_handler() {
  local mask
  for _ in $(seq 300); do
    mask=$(awk '/^SigCgt/ {print $2}' "/proc/$1/status" 2>/dev/null)
    [ -n "$mask" ] && (( (16#$mask & 2) != 0 )) && return 0
    sleep 0.1
  done
  return 1
}
