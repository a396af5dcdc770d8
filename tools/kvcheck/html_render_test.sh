#!/usr/bin/env bash
# The HTML report, rendered in headless Chromium (Debian's chromium package)
# after the page's own JS has run (--dump-dom): a section per key with a lane
# per process, the violation list, the witness, nemesis windows, human
# durations; #violation-0 and #op-N highlight their operations, and with no
# fragment the first violation is highlighted on load. Also: everything from
# the history is escaped, the page loads nothing from the network, a history
# without times says so, and a screenshot is taken.
# Without chromium the test says SKIPPED and records a skipped case (not a
# pass; see checker/README.md). Usage: html_render_test.sh KVCHECK TEST_SKIP_SH
set -uo pipefail
kvcheck="$(readlink -f "$1")"
# shellcheck source=scripts/test-skip.sh
source "$2"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  skip_test html_render_test "html_render_test: chromium is not installed (Debian package 'chromium'; scripts/install-deps)"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Key x: p0 writes 1, p2 writes 3 (both complete), then p1 reads 1: not
# linearizable. Key y is fine (op 5, p1's read of y, lasts 1 µs of 1.6 ms);
# the third key is markup, and its value too.
# A partition (start ... stop) runs through the middle.
cat >"$tmp/bad.edn" <<'EDN'
[{:process 0, :type :invoke, :f :write, :key "x", :value 1, :time 1000}
 {:process 0, :type :ok, :f :write, :key "x", :value 1, :time 250000}
 {:process 1, :type :invoke, :f :write, :key "y", :value 5, :time 300000}
 {:process :nemesis, :type :info, :f :start, :value "partition [n1] [n2 n3]", :time 400000}
 {:process :nemesis, :type :info, :f :start, :value "partition [n1] [n2 n3]", :time 420000}
 {:process 1, :type :ok, :f :write, :key "y", :value 5, :time 600000}
 {:process 2, :type :invoke, :f :write, :key "x", :value 3, :time 650000}
 {:process 2, :type :ok, :f :write, :key "x", :value 3, :time 1200000}
 {:process 1, :type :invoke, :f :read, :key "x", :value nil, :time 1250000}
 {:process 1, :type :ok, :f :read, :key "x", :value 1, :time 1500000}
 {:process 0, :type :invoke, :f :read, :key "y", :value nil, :time 1600000}
 {:process :nemesis, :type :info, :f :stop, :value nil, :time 1700000}
 {:process :nemesis, :type :info, :f :stop, :value "healed", :time 1750000}
 {:process 1, :type :invoke, :f :read, :key "y", :value nil, :time 1610000}
 {:process 1, :type :ok, :f :read, :key "y", :value 5, :time 1611000}
 {:process 0, :type :ok, :f :read, :key "y", :value 5, :time 1900000}
 {:process 3, :type :invoke, :f :write, :key "<script>k", :value "v<i>&", :time 2000000}
 {:process 3, :type :info, :f :write, :key "<script>k", :value "v<i>&", :time 2100000}]
EDN
"$kvcheck" "$tmp/bad.edn" --html "$tmp/report.html" >"$tmp/out" 2>&1
rc=$?
[ "$rc" = 1 ] || { echo "FAIL: kvcheck exit $rc, want 1"; cat "$tmp/out"; exit 1; }

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-dev-shm-usage)
n=0
dump() {  # dump URL OUT: the DOM after the page's JS has run
  n=$((n + 1))
  timeout 120 "$browser" "${flags[@]}" --user-data-dir="$tmp/profile$n" --window-size=1200,900 --dump-dom "$1" \
    >"$2" 2>"$tmp/chromium$n.err"
  local rc=$?
  [ "$rc" = 0 ] || { echo "FAIL: chromium --dump-dom $1: exit $rc"; tail -20 "$tmp/chromium$n.err"; exit 1; }
  grep -q 'data-ready="1"' "$2" || { echo "FAIL: the page's script did not finish on $1"; exit 1; }
}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
has() { grep -q -- "$2" "$1" || fail "$(basename "$1") lacks $2"; }
lacks() { ! grep -q -- "$2" "$1" || fail "$(basename "$1") has $2"; }
count() { grep -o -- "$2" "$1" | wc -l; }

# Nothing from the network, nothing unescaped (the static file).
lacks "$tmp/report.html" 'src="http'
lacks "$tmp/report.html" 'href="http'
lacks "$tmp/report.html" '<link '
lacks "$tmp/report.html" '<script>k'
lacks "$tmp/report.html" 'v<i>'

dump "file://$tmp/report.html#violation-0" "$tmp/v0.html"
has "$tmp/v0.html" 'id="verdicts"'
has "$tmp/v0.html" 'class="verdict v-invalid"'
# One section per key, flagged key first, lanes per process.
[ "$(count "$tmp/v0.html" '<section class="key')" = 3 ] || fail "want 3 key sections"
has "$tmp/v0.html" '<section class="key flagged" id="key-0" data-key="x">'
has "$tmp/v0.html" 'data-key="y"'
has "$tmp/v0.html" 'data-key="&lt;script&gt;k"'
[ "$(count "$tmp/v0.html" 'class="lane"')" = 6 ] || fail "want 6 lanes (3 on x, 2 on y, 1 on the third key)"
has "$tmp/v0.html" 'data-process="2" data-lane="2"'
# The violation list, linked to the operation that cannot be placed, the
# write it should have seen and the write whose value it returned.
has "$tmp/v0.html" '<li class="violation selected" id="violation-0"'
has "$tmp/v0.html" 'cannot be placed:'
has "$tmp/v0.html" 'write it should have seen'
has "$tmp/v0.html" 'write whose value it returned'
has "$tmp/v0.html" 'class="oplink" href="#op-'
# After the page's JS: the violation's operations are highlighted.
has "$tmp/v0.html" 'class="op ok flag blocking hl"'
[ "$(count "$tmp/v0.html" 'class="op [^"]*hl"')" = 3 ] || fail "want the 3 operations of violation 0 highlighted"
# The witness: prefix numbered, joined by a line drawn by the script.
has "$tmp/v0.html" 'id="witness"'
has "$tmp/v0.html" 'id="prefix"'
has "$tmp/v0.html" 'data-lin="1"'
has "$tmp/v0.html" 'data-lin="2"'
grep -q '<polyline vector-effect="non-scaling-stroke" points="[0-9.]*,12 [0-9.]*,60 [0-9.]*,36"' "$tmp/v0.html" ||
  fail "witness path not drawn through lanes 0, 2, then the blocking op's lane 1"
# Time in human units; the axis drawn by the script; the nemesis window.
has "$tmp/v0.html" 'took 250 µs'
has "$tmp/v0.html" 'class="tick"'
has "$tmp/v0.html" '+1.00 ms'
# (on x and y; the third key's operations come after it)
[ "$(count "$tmp/v0.html" 'class="nemesis"')" = 2 ] || fail "want the partition shaded on keys x and y"
has "$tmp/v0.html" 'title="nemesis: start partition \[n1\] \[n2 n3\] … stop (+399 µs to +1.75 ms)"'
lacks "$tmp/v0.html" 'line 0'
# Escaped after rendering too: the key and value are text, not elements.
lacks "$tmp/v0.html" '<script>k'
lacks "$tmp/v0.html" '<i>'
has "$tmp/v0.html" 'v&lt;i&gt;&amp;'

# No fragment: the first violation is highlighted on load.
dump "file://$tmp/report.html" "$tmp/plain.html"
has "$tmp/plain.html" '<li class="violation selected" id="violation-0"'
has "$tmp/plain.html" 'class="op ok flag blocking hl"'
# #op-N: that operation alone (op 1 is p1's write of y=5).
dump "file://$tmp/report.html#op-1" "$tmp/op1.html"
[ "$(count "$tmp/op1.html" 'class="op [^"]*hl"')" = 1 ] || fail "#op-1 should highlight one operation"
has "$tmp/op1.html" 'data-op="1" data-x="[^"]*" style="[^"]*" title="p1 write y 5 · ok[^"]*">write 5'
grep -q 'class="op ok hl" id="key-[0-9]-op-1"' "$tmp/op1.html" || fail "#op-1 not highlighted"
lacks "$tmp/op1.html" 'class="violation selected"'
# #op-5, 1 µs wide: the page zooms its key's timeline in to show it.
dump "file://$tmp/report.html#op-5" "$tmp/op5.html"
grep -q 'class="op ok hl" id="key-[0-9]-op-5"' "$tmp/op5.html" || fail "#op-5 not highlighted"
grep -q '<section class="key" id="key-[0-9]" data-key="y" data-zoom="[0-9.]*">' "$tmp/op5.html" ||
  fail "key y not zoomed to show op 5"
zoom=$(grep -o 'data-key="y" data-zoom="[0-9.]*"' "$tmp/op5.html" | grep -o '[0-9.]*"$' | tr -d '"')
awk -v z="${zoom:-0}" 'BEGIN { exit !(z >= 8) }' || fail "key y zoom $zoom, want >= 8"
grep -q '<div class="track" [^>]*style="width: [0-9.]*%;' "$tmp/op5.html" || fail "track not widened by the zoom"

# A JSONL history without times and without nemesis: the page says both.
cat >"$tmp/notime.jsonl" <<'JSONL'
{"process":0,"type":"invoke","f":"put","key":"k","value":"a","replica":"c0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":0,"replica":"c0"}
{"process":0,"type":"invoke","f":"get","key":"k","replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":null,"applied":0,"replica":"c0"}
{"log":{"offset":0,"key":"k","value":"a"}}
JSONL
"$kvcheck" "$tmp/notime.jsonl" --html "$tmp/notime.html" >"$tmp/out" 2>&1
[ $? = 1 ] || { fail "notime.jsonl: want exit 1"; cat "$tmp/out"; }
dump "file://$tmp/notime.html" "$tmp/notime-dom.html"
has "$tmp/notime-dom.html" 'This history has no times'
has "$tmp/notime-dom.html" 'id="nemesis-none"'
has "$tmp/notime-dom.html" 'its own write, which it should have seen'
has "$tmp/notime-dom.html" '<li class="violation selected" id="violation-0"'
[ "$(count "$tmp/notime-dom.html" 'class="op [^"]*hl"')" = 2 ] || fail "notime: want the write and the read highlighted"
has "$tmp/notime-dom.html" 'event 0–1'

timeout 120 "$browser" "${flags[@]}" --user-data-dir="$tmp/profile-shot" --window-size=1200,900 \
  --screenshot="$tmp/shot.png" "file://$tmp/report.html" >/dev/null 2>"$tmp/chromium-shot.err"
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
[ "$size" -gt 1000 ] || { fail "no screenshot ($size bytes)"; tail -20 "$tmp/chromium-shot.err"; }

[ "$failures" = 0 ] || exit 1
echo "html_render_test: 5 pages rendered and checked, screenshot $size bytes"
