#!/usr/bin/env bash
# Runs the shell blocks of the READMEs marked `<!-- readme_test ... -->` on the
# built programs, so the documented commands cannot silently rot.
#
# Usage: readme_test.sh PROGRAM... README.md...
#   PROGRAMs: the built kvsim, kvcheck, kvctl, kvmock, kvlog (bazel's data deps).
#
# Each line of a marked block is one command, run in order in one shell (so
# variables and background jobs carry over) in a scratch directory that plays
# the caller's working directory. Translations, nothing else:
#   bazel run [--config=opt|-c opt] //tools/NAME [-- ARGS]  ->  NAME ARGS, run as
#       bazel run would: in another directory (the "runfiles"), with
#       BUILD_WORKING_DIRECTORY set to the scratch directory
#   bazel-bin/tools/NAME/NAME  ->  the built NAME
#   bazel build ...            ->  nothing (the programs are built already)
# A comment holding "(exit N)" gives the expected status; otherwise 0. One
# holding "(shows: TEXT)" also wants TEXT (a fixed string) in the output, for
# claims the exit status cannot carry.
set -uo pipefail
tmp=$(mktemp -d)
bin="$tmp/bin"
work="$tmp/work"
runfiles="$tmp/runfiles"
mkdir -p "$bin" "$work" "$runfiles"
readmes=()
for arg in "$@"; do
  case "$arg" in
    *.md) readmes+=("$arg=$(readlink -f "$arg")") ;;
    *) ln -s "$(readlink -f "$arg")" "$bin/$(basename "$arg")" ;;
  esac
done
cleanup() {
  local pids
  pids=$(jobs -p)
  [ -n "$pids" ] && kill $pids 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
commands=0

# Prints the marked blocks' lines of a markdown file, one per line.
extract() {
  awk '
    /^<!-- readme_test/ { marked = 1; next }
    marked && /^```/ && !inside { inside = 1; next }
    inside && /^```/ { inside = 0; marked = 0; next }
    inside { print }
  ' "$1"
}

# Translates one README line into the command the test runs.
translate() {
  local line="$1" rest name
  if [[ "$line" =~ ^bazel\ build(\ |$) ]]; then
    echo ":"
    return
  fi
  if [[ "$line" =~ ^bazel\ run\ ((--config=opt|-c\ opt)\ )?//tools/([a-z]+)(\ --)?(.*)$ ]]; then
    name="${BASH_REMATCH[3]}"
    rest="${BASH_REMATCH[5]}"
    # The newline ends a trailing comment before the closing parenthesis.
    printf '(cd "%s" && BUILD_WORKING_DIRECTORY="%s" "%s"%s\n)' "$runfiles" "$work" "$bin/$name" "$rest"
    return
  fi
  echo "${line//bazel-bin\/tools\/kv[a-z]*\/kv/$bin/kv}"
}

run_file() {  # NAME=PATH
  local name="${1%%=*}" readme="${1#*=}" line command want comment shows
  [ -s "$readme" ] || { echo "FAIL: no README at $readme"; failures=$((failures + 1)); return; }
  local count=0
  while IFS= read -r line; do
    [[ -z "${line// /}" || "$line" =~ ^[[:space:]]*# ]] && continue
    count=$((count + 1))
    want=0
    comment="${line#*  #}"
    if [[ "$comment" != "$line" && "$comment" =~ \(exit\ ([0-9]+)\) ]]; then want="${BASH_REMATCH[1]}"; fi
    shows=""
    if [[ "$comment" != "$line" && "$comment" =~ \(shows:\ ([^\)]+)\) ]]; then shows="${BASH_REMATCH[1]}"; fi
    command=$(translate "$line")
    cd "$work" || exit 1
    eval "$command" >"$tmp/out" 2>"$tmp/err" </dev/null
    local got=$?
    commands=$((commands + 1))
    # The shell's own complaint (a syntax error, a missing program) is never
    # the failure a line expects.
    if grep -q "^$0: " "$tmp/err"; then got="shell error"; fi
    if [ "$got" = "$want" ] && [ -n "$shows" ] && ! grep -qF -- "$shows" "$tmp/out" "$tmp/err"; then
      failures=$((failures + 1))
      echo "FAIL: $name: the output does not show \"$shows\": $line"
      sed 's/^/  stdout: /' "$tmp/out" | tail -15
    elif [ "$got" != "$want" ]; then
      failures=$((failures + 1))
      echo "FAIL: $name: exit $got, want $want: $line"
      echo "  ran: $command"
      sed 's/^/  stdout: /' "$tmp/out" | tail -15
      sed 's/^/  stderr: /' "$tmp/err" | tail -15
    else
      echo "ok (exit $got): $line"
    fi
  done < <(extract "$readme")
  [ "$count" -gt 0 ] || { echo "FAIL: $name has no readme_test block"; failures=$((failures + 1)); }
}

for readme in "${readmes[@]}"; do
  run_file "$readme"
done

# The history and reports the testbed block writes are the caller's, where
# bazel run's user would look for them.
for f in h.jsonl h.html report.html; do
  [ -s "$work/$f" ] || { echo "FAIL: $f not written in the caller's directory"; failures=$((failures + 1)); }
done

echo "$commands commands, $failures failure(s)"
[ "$failures" -eq 0 ]
