#!/usr/bin/env bash
# The franz-go baseline (bench/franz-baseline) builds, runs every row (the Go
# model of the Go original's Put too) at a tiny size against a kvmock cluster,
# and its JSON renders beside nothing else in bench/report.py. Never a time. Skips visibly when the binary is not built
# (`bash scripts/franz-baseline build`; scripts/test does it first).
set -euo pipefail
franz_script="$1" kvmock="$2" report="$3"
out="${TEST_TMPDIR:-$(mktemp -d)}"

if ! bin="$(bash "$franz_script" path 2>"$out/path.err")"; then
  echo "SKIPPED: the franz-go baseline is not built ($(cat "$out/path.err")); run: bash scripts/franz-baseline build"
  exit 0
fi

"$kvmock" --brokers 3 --topic franz-put --topic franz-pipelined --topic franz-fill-500x1 \
  --topic franz-gomodel-put --topic franz-gomodel-batch >"$out/addr" 2>"$out/mock.err" &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s $out/addr ]] && break; sleep 0.1; done
[[ -s $out/addr ]] || { echo "kvmock did not start"; cat "$out/mock.err"; exit 1; }

# Bad input gets a clear error naming it.
if "$bin" --brokers="$(head -1 "$out/addr")" --compression=zstd >/dev/null 2>"$out/bad.err"; then
  echo "--compression=zstd was accepted"; exit 1
fi
grep -q -- "--compression=zstd: want none or snappy" "$out/bad.err" || { cat "$out/bad.err"; exit 1; }
if "$bin" --brokers="$(head -1 "$out/addr")" --only=kvmodel --model_batches=0 >/dev/null 2>"$out/bad.err"; then
  echo "--model_batches=0 was accepted"; exit 1
fi
grep -q -- '--model_batches: "0" is not a positive integer' "$out/bad.err" || { cat "$out/bad.err"; exit 1; }

timeout 120 "$bin" --brokers="$(head -1 "$out/addr")" --create=false --stamp= --fetch_max_wait=10ms \
  --max_kafka_version=2.3 --repetitions=1 --min_time=20ms --pipelined=50 --consume=500/1 \
  --only=roundtrip,pipelined,consume,kvmodel --model_batches=100 \
  --out="$out/franz.json" 2>"$out/franz.err" || { cat "$out/franz.err"; exit 1; }

python3 - "$out/franz.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
runs = {b["run_name"]: b for b in doc["benchmarks"]}
failed = False
for name, field in (("BM_FranzRoundTrip", "p50_us"), ("BM_FranzPipelined/50", "items_per_second"),
                    ("BM_FranzConsume/500/1", "items_per_second"), ("BM_GoModelPut", "p50_us"),
                    ("BM_GoModelBatch/100", "items_per_second")):
    b = runs.get(name)
    if b is None or not b.get(field, 0) > 0:
        print(f"{name}: missing or no {field}: {b}"); failed = True
    else:
        print(f"{name} ran")
if doc["context"].get("suite") != "franz-baseline":
    print("context.suite is not franz-baseline"); failed = True
# The model keeps franz-go's default codec unless --compression names one.
if doc["context"].get("model_compression") != "snappy" or doc["context"].get("compression") != "none":
    print(f"compression: {doc['context'].get('compression')}, model {doc['context'].get('model_compression')}")
    failed = True
if "not the Go original itself" not in doc["context"].get("model", ""):
    print("context.model does not say the rows are a model"); failed = True
sys.exit(1 if failed else 0)
PY
python3 "$report" "$out/franz.json" >"$out/report.md"
grep -q "franz-go raw baseline" "$out/report.md" || { cat "$out/report.md"; exit 1; }
grep -q "BM_GoModel rows: a model of the Go original's Put" "$out/report.md" || { cat "$out/report.md"; exit 1; }

# Beside a kv_bench file, the report gives the issue 18 ratios against the
# model: a kv Put at 2x the model's p50 and a Batch-100 at half its rate miss,
# at half and 2x they meet.
for factor in 2 0.5; do
  python3 - "$out/franz.json" "$factor" >"$out/kv-$factor.json" <<'PY'
import json, sys
runs = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
f = float(sys.argv[2])
put, batch = runs["BM_GoModelPut"], runs["BM_GoModelBatch/100"]
print(json.dumps({"context": {"log": "synthetic"}, "benchmarks": [
    {"name": "BM_Put", "run_name": "BM_Put", "run_type": "iteration", "real_time": 1, "time_unit": "us",
     "p50_us": put["p50_us"] * f, "p99_us": put["p99_us"], "samples": 10},
    {"name": "BM_Batch/100", "run_name": "BM_Batch/100", "run_type": "iteration", "real_time": 1,
     "time_unit": "ms", "items_per_second": batch["items_per_second"] / f}]}))
PY
  python3 "$report" "$out/kv-$factor.json" "$out/franz.json" >"$out/report-$factor.md"
done
check() { grep -qF -- "$2" "$out/report-$1.md" || { echo "report-$1.md lacks: $2"; cat "$out/report-$1.md"; exit 1; }; }
check 2 "kvlog beside the Go model: a model of the Go original's Put (franz-go ProduceSync + consume loop), not the Go original itself"
check 2 "kv / model p50 2.00x (**missed** <= 1.0x)"
check 2 "kv / model 0.50x (**missed** >= 1.0x)"
check 2 "kv Put / franz-go raw p50"
check 0.5 "kv / model p50 0.50x (met <= 1.0x)"
check 0.5 "kv / model 2.00x (met >= 1.0x)"
echo "franz smoke: every row ran; report rendered"
