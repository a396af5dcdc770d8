#!/usr/bin/env bash
# kvcheck_bench on small kvsim histories: on a valid one both rows run (never
# a time: CI machines are noisy); on one kvcheck judges invalid, the kvcheck
# row reports an error instead of a time.
set -euo pipefail
bench="$1" kvcheck="$2" kvsim="$3" report="$4"
out="${TEST_TMPDIR:-$(mktemp -d)}"

"$kvsim" --seed 1 --clients 3 --ops 300 --keys 20 --out "$out/valid.jsonl" >/dev/null
"$kvsim" --seed 3 --clients 8 --ops 600 --keys 30 --variant early-ack --out "$out/invalid.jsonl" >/dev/null 2>&1 || true
if "$kvcheck" "$out/invalid.jsonl" >/dev/null 2>&1; then
  echo "the early-ack history should be invalid for this test"; exit 1
fi

run() {  # history, json out
  "$bench" --kvcheck="$kvcheck" --history="$1" --pause_ms=0 --benchmark_repetitions=1 \
    --benchmark_out_format=json --benchmark_out="$2" >/dev/null 2>&1 || true
}
run "$out/valid.jsonl" "$out/valid.json"
run "$out/invalid.jsonl" "$out/invalid.json"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def rows(name):
    return {b["name"].split("/")[0]: b for b in json.load(open(f"{out}/{name}.json"))["benchmarks"]}
valid, invalid = rows("valid"), rows("invalid")
failed = False
for name in ("BM_ReadFile", "BM_Kvcheck"):
    b = valid.get(name)
    if not b or b.get("error_occurred"):
        print(f"valid history: {name} did not run: {b and b.get('error_message')}"); failed = True
    else:
        print(f"valid history: {name} ran")
k = valid.get("BM_Kvcheck", {})
if not k.get("error_occurred") and not (k.get("peak_rss_MB", 0) > 0 and k.get("ops/s", 0) > 0):
    print(f"valid history: BM_Kvcheck's counters missing: {k}"); failed = True
bad = invalid.get("BM_Kvcheck")
if not bad or not bad.get("error_occurred") or "exited 1" not in bad.get("error_message", ""):
    print(f"invalid history: BM_Kvcheck should fail naming kvcheck's exit status: {bad}"); failed = True
else:
    print(f"invalid history: BM_Kvcheck failed: {bad['error_message']}")
sys.exit(1 if failed else 0)
PY
# The report's section: the table with both rows, and the kvcheck row's error.
python3 "$report" "$out/valid.json" >"$out/valid.md"
grep -q "### kvcheck end to end" "$out/valid.md" && grep -q "kvcheck peak RSS" "$out/valid.md" &&
  grep -q "reading the file alone" "$out/valid.md" || { cat "$out/valid.md"; echo "report: no kvcheck table"; exit 1; }
python3 "$report" "$out/invalid.json" | grep -q "Not run: kvcheck exited 1" ||
  { echo "report: the invalid history's error is missing"; exit 1; }

# --kvsim: the history is written once into $HOME/.cache/kvlog/bench under the
# kvsim binary's hash, and the histories of other kvsim builds are removed.
# (A stand-in kvsim writes a small history wherever --out says.)
home="$out/home" cache="$out/home/.cache/kvlog/bench"
mkdir -p "$cache"
echo stale >"$cache/kvsim-800k-0000000000000000.jsonl"
cat >"$out/small-kvsim" <<SH
#!/usr/bin/env bash
exec "$(realpath "$kvsim")" --seed 1 --clients 2 --ops 100 --keys 10 --out "\${@: -1}"
SH
chmod +x "$out/small-kvsim"
HOME="$home" "$bench" --kvcheck="$kvcheck" --kvsim="$out/small-kvsim" --pause_ms=0 --benchmark_filter=Kvcheck \
  --benchmark_out_format=json --benchmark_out="$out/generated.json" >/dev/null 2>&1
kept=("$cache"/kvsim-800k-*.jsonl)
if [[ ${#kept[@]} -ne 1 || ${kept[0]} == *0000000000000000* ]] || ! grep -q '"type":"invoke"' "${kept[0]}"; then
  echo "--kvsim: want one generated history in the cache, the stale one gone: ${kept[*]}"; exit 1
fi
python3 - "$out/generated.json" <<'PY'
import json, sys
rows = [b for b in json.load(open(sys.argv[1]))["benchmarks"] if b["name"].startswith("BM_Kvcheck")]
if not rows or rows[0].get("error_occurred"):
    sys.exit(f"--kvsim: BM_Kvcheck did not run on the generated history: {rows}")
print("--kvsim: history generated once, the stale one removed, BM_Kvcheck ran on it")
PY

# Without a history or kvcheck: a usage error, not a run.
if "$bench" --kvcheck="$kvcheck" >/dev/null 2>&1; then echo "no history: should be a usage error"; exit 1; fi
if "$bench" --kvcheck="$kvcheck" --history="$out/valid.jsonl" --pause_ms=-1 >/dev/null 2>&1; then
  echo "--pause_ms=-1: should be refused"; exit 1
fi
echo "kvcheck smoke: both rows ran; an invalid history fails the kvcheck row"
