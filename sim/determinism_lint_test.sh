#!/usr/bin/env bash
# The determinism rule: library code in kv/ and log/sim/ reads no clock, sleeps
# no thread, starts no thread, blocks on no lock or condition variable and
# draws no unseeded randomness except through the runtime seam
# (runtime/runtime.h: Mutex, CondVar). A fiber that blocks on a std:: lock
# blocks the whole simulation. A leaf lock (held only inside one call, never
# across a runtime wait, so no fiber ever blocks on it) may be marked
# "determinism-lint: allow" on its line. Fails naming each offending line.
set -uo pipefail
pattern='std::thread|std::jthread|sleep_for|sleep_until|steady_clock|system_clock|high_resolution_clock|std::rand\b|random_device|\btime\(|gettimeofday|clock_gettime|pthread_create|std::async|std::(recursive_|timed_|shared_)?mutex|std::shared_timed_mutex|std::condition_variable'
found=0
for f in "$@"; do
  if grep -nE "$pattern" "$f" | grep -v 'determinism-lint: allow' > /tmp/lint.$$; then
    while IFS= read -r line; do echo "$f:$line"; done < /tmp/lint.$$
    found=1
  fi
done
rm -f /tmp/lint.$$
if [ "$#" -lt 5 ]; then
  echo "determinism lint: expected the library sources as arguments, got $#"
  exit 1
fi
if [ $found -ne 0 ]; then
  echo "determinism lint: the lines above bypass the runtime seam"
  exit 1
fi
echo "determinism lint: $# files clean"
