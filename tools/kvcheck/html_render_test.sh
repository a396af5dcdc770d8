#!/usr/bin/env bash
# The HTML report renders in headless Chromium (Debian's chromium package):
# the DOM Chromium builds holds the verdict table, the witness, and a timeline
# lane per process with the failing operation highlighted; a screenshot is taken.
set -uo pipefail
kvcheck="$(readlink -f "$1")"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "FAIL: chromium is not installed (Debian package 'chromium'; see scripts/debian-packages.txt)"
  exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/bad.edn" <<'EDN'
[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :cas, :value [1 2]}
 {:process 2, :type :invoke, :f :write, :value 3}
 {:process 1, :type :ok, :f :cas, :value [1 2]}
 {:process 2, :type :info, :f :write, :value 3}
 {:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 1}]
EDN
"$kvcheck" "$tmp/bad.edn" --html "$tmp/report.html" >"$tmp/out" 2>&1
rc=$?
[ "$rc" = 1 ] || { echo "FAIL: kvcheck exit $rc, want 1"; cat "$tmp/out"; exit 1; }

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-dev-shm-usage)
timeout 120 "$browser" "${flags[@]}" --user-data-dir="$tmp/profile1" --dump-dom "file://$tmp/report.html" \
  >"$tmp/dom.html" 2>"$tmp/chromium.err"
rc=$?
[ "$rc" = 0 ] || { echo "FAIL: chromium --dump-dom exit $rc"; tail -20 "$tmp/chromium.err"; exit 1; }

failures=0
expect() {
  grep -q -- "$1" "$tmp/dom.html" || { echo "FAIL: rendered DOM lacks $1"; failures=$((failures + 1)); }
}
expect 'id="verdicts"'
expect 'class="verdict v-invalid"'
expect 'id="witness"'
expect 'id="prefix"'
expect 'id="blocking"'
expect 'data-process="0"'
expect 'data-process="1"'
expect 'data-process="2"'
expect 'class="op ok failing"'
expect 'class="op info'
lanes=$(grep -o 'class="process"' "$tmp/dom.html" | wc -l)
[ "$lanes" = 3 ] || { echo "FAIL: $lanes timeline lanes, want 3"; failures=$((failures + 1)); }

timeout 120 "$browser" "${flags[@]}" --user-data-dir="$tmp/profile2" --window-size=1200,800 \
  --screenshot="$tmp/shot.png" "file://$tmp/report.html" >/dev/null 2>"$tmp/chromium2.err"
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
[ "$size" -gt 1000 ] || { echo "FAIL: no screenshot ($size bytes)"; tail -20 "$tmp/chromium2.err"; failures=$((failures + 1)); }

[ "$failures" = 0 ] || exit 1
echo "html_render_test: report rendered ($lanes lanes, screenshot $size bytes)"
