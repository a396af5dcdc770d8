#!/usr/bin/env bash
# rocksdb_bench at a tiny size: each benchmark ran and the report's RocksDB
# section renders with its ratios; never a time.
set -euo pipefail
rocksdb_bench="$1" report="$2"
out="${TEST_TMPDIR:-$(mktemp -d)}"
"$rocksdb_bench" --smoke --benchmark_min_time=0.01 --benchmark_out_format=json \
  --benchmark_out="$out/rocksdb.json" >/dev/null 2>"$out/rocksdb.stderr" || { cat "$out/rocksdb.stderr"; exit 1; }
for name in BM_FullReplay/0 BM_FullReplay/1 BM_FullReplay/2 BM_RestartWithTail/4 BM_Get/0 BM_Get/1 BM_Get/2; do
  grep -q "\"name\": \"$name" "$out/rocksdb.json" || { echo "rocksdb_bench: $name did not run"; exit 1; }
done
python3 "$report" "$out/rocksdb.json" >"$out/report.md"
for row in "full replay, RocksDB store" "restart, RocksDB store" "RocksDB store (block cache warm)"; do
  grep -q "$row" "$out/report.md" || { echo "report: no row '$row'"; cat "$out/report.md"; exit 1; }
done
if grep -q "n/a" "$out/report.md"; then echo "report: a ratio is missing"; cat "$out/report.md"; exit 1; fi
echo "smoke: rocksdb_bench ran; its report section rendered"
