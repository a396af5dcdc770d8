#!/usr/bin/env python3
"""Turns Google Benchmark JSON (--benchmark_out) from kvlog's suites into Markdown.

    bench/report.py kv.json sim.json checker.json memory.json > report.md

Each input may come from any of the suites; the tables appear for the suites
given. A franz-go baseline file (bench/franz-baseline, context suite
"franz-baseline") joins the KV tables of the kv_bench file given with it. With --benchmark_repetitions, the median aggregate of each benchmark is
used (figures and ratios alike); without, the single run. Ratios pair figures
from the same file, so from the same run.
"""
import json
import re
import sys


def clean_name(name):
    # Drop the parts Google Benchmark appends that say how, not what.
    parts = [p for p in name.split("/")
             if not re.match(r"^(min_time:|real_time$|manual_time$|iterations:|repeats:)", p)]
    return "/".join(parts)


def load(path):
    with open(path) as f:
        doc = json.load(f)
    runs = {}
    for b in doc.get("benchmarks", []):
        name = clean_name(b.get("run_name", b["name"]))
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
        elif name in runs and runs[name].get("run_type") == "aggregate":
            continue
        if b.get("error_occurred"):
            b = dict(b, error=b.get("error_message", "error"))
        runs[name] = b
    return doc.get("context", {}), runs


def si(x, unit=""):
    if x is None:
        return "n/a"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return f"{x / div:.2f} {suffix}{unit}".rstrip()
    return f"{x:.3g} {unit}".rstrip()


def latency(us):
    if us is None:
        return "n/a"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} us"


def ms(b):
    """Time of one iteration in milliseconds."""
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
    return b["real_time"] * scale


def ratio(x, y):
    return None if not x or not y else x / y


def fmt_ratio(r):
    if r is None:
        return "n/a"
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x"


def verdict(value, target, higher_is_better=True):
    if value is None:
        return "not measured"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**missed**"


def rate(b):
    return None if b is None or "error" in b else b.get("items_per_second")


def counter(b, name):
    return None if b is None or "error" in b else b.get(name)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def sizes(runs, family):
    """The argument lists a family was run with, in run order."""
    seen = []
    for name in runs:
        if name.startswith(family + "/"):
            args = name[len(family) + 1:]
            if args not in seen:
                seen.append(args)
    return seen


def with_samples(b, name):
    """A latency counter with the number of samples it came from."""
    n = counter(b, "samples")
    return latency(counter(b, name)) + (f" (n={n:.0f})" if n else "")


def kafka_section(ctx, runs, franz_ctx=None):
    out = [f"### KV layer vs raw librdkafka — log: {ctx.get('log', 'unknown')}; "
           f"allocator: {ctx.get('allocator', 'unknown')}\n"]
    if franz_ctx:
        out.append(f"franz-go rows: {franz_ctx.get('client', 'franz-go')} (bench/franz-baseline), compression "
                   f"{franz_ctx.get('compression', '?')}, linger {franz_ctx.get('linger', '?')}, on "
                   f"{franz_ctx.get('log', '?')}, run right after kv_bench.\n")
    raw, put = runs.get("BM_RawRoundTrip"), runs.get("BM_Put")
    franz = runs.get("BM_FranzRoundTrip")
    r = ratio(counter(put, "p50_us"), counter(raw, "p50_us"))
    if raw or put:
        out.append("Sequential Put (one at a time) vs raw produce-then-consume round trip "
                   "(n = samples behind each percentile, median repetition):\n")
        header = ["", "p50", "p99", "ratio p50 (target <= 1.3x)"]
        rows = [["librdkafka raw round trip", with_samples(raw, "p50_us"), with_samples(raw, "p99_us"), ""]]
        if franz:
            header.append("ratio p50 vs franz-go raw (target <= 1.1x for Put)")
            rf = ratio(counter(raw, "p50_us"), counter(franz, "p50_us"))
            rows[0].append(fmt_ratio(rf))
            rows.append(["franz-go raw round trip", with_samples(franz, "p50_us"), with_samples(franz, "p99_us"),
                         "", ""])
        rows.append(["kv Put", with_samples(put, "p50_us"), with_samples(put, "p99_us"),
                     f"{fmt_ratio(r)} ({verdict(r, 1.3, False)})"])
        if franz:
            rk = ratio(counter(put, "p50_us"), counter(franz, "p50_us"))
            rows[-1].append(f"{fmt_ratio(rk)} ({verdict(rk, 1.1, False)})")
        out.append(table(header, rows))
    out.append(go_model_section(runs, franz_ctx))
    put_ttl = runs.get("BM_PutTtl")
    if put and put_ttl:
        rt = ratio(counter(put_ttl, "p50_us"), counter(put, "p50_us"))
        out.append("Put with a TTL vs Put (same client, same log):\n")
        out.append(table(
            ["", "p50", "p99", "ratio p50 (target <= 1.05x)"],
            [["kv Put", latency(counter(put, "p50_us")), latency(counter(put, "p99_us")), ""],
             ["kv Put with TTL", latency(counter(put_ttl, "p50_us")), latency(counter(put_ttl, "p99_us")),
              f"{fmt_ratio(rt)} ({verdict(rt, 1.05, False)})"]]))
    delivery = runs.get("BM_WatchDelivery")
    if raw and delivery:
        rd = ratio(counter(delivery, "p50_us"), counter(raw, "p50_us"))
        out.append("Watch delivery (a Put on one client until a watcher on another client has the change) vs raw "
                   "produce-then-consume round trip:\n")
        out.append(table(
            ["", "p50", "p99", "ratio p50 (target <= 1.3x)"],
            [["librdkafka raw round trip", with_samples(raw, "p50_us"), with_samples(raw, "p99_us"), ""],
             ["kv Put -> watch event", with_samples(delivery, "p50_us"), with_samples(delivery, "p99_us"),
              f"{fmt_ratio(rd)} ({verdict(rd, 1.3, False)})"]]))
    w0, w1000 = runs.get("BM_Watchers/0"), runs.get("BM_Watchers/1000")
    if w0 and w1000:
        rw = ratio(rate(w0), rate(w1000))
        rc = ratio(counter(w1000, "cpu_us/op"), counter(w0, "cpu_us/op"))
        out.append("1,000 watchers on one client (one per key) vs none: a Batch of 1,000 Puts to those keys, "
                   "each change delivered to its watcher:\n")
        out.append(table(
            ["watchers", "writes applied", "process CPU per write", "cost (target <= 2x)"],
            [["0", si(rate(w0), "rec/s"), latency(counter(w0, "cpu_us/op")), ""],
             ["1000", si(rate(w1000), "rec/s"), latency(counter(w1000, "cpu_us/op")),
              f"{fmt_ratio(rw)} time, {fmt_ratio(rc)} CPU ({verdict(rw, 2.0, False)})"]]))

    batch_sizes = sizes(runs, "BM_RawPipelined")
    rows = []
    for n in batch_sizes:
        rb, kb, ka = runs.get(f"BM_RawPipelined/{n}"), runs.get(f"BM_Batch/{n}"), runs.get(f"BM_PutAsync/{n}")
        r = ratio(rate(kb), rate(rb))
        ra = ratio(rate(ka), rate(rb))
        target = f" ({verdict(r, 0.5)} >= 0.5x)" if n == "1000" else ""
        us_per_op = 1e6 / rate(kb) if rate(kb) else None
        rows.append([n, si(rate(rb), "rec/s"), si(rate(kb), "rec/s"), latency(us_per_op),
                     fmt_ratio(r) + target, si(rate(ka), "ops/s"), latency(counter(ka, "p50_us")),
                     latency(counter(ka, "p99_us")), f"{fmt_ratio(ra)} ({verdict(ra, 0.5)} >= 0.5x)"])
        fb = runs.get(f"BM_FranzPipelined/{n}")
        if fb:
            rows[-1] += [si(rate(fb), "rec/s"), fmt_ratio(ratio(rate(rb), rate(fb))),
                         fmt_ratio(ratio(rate(kb), rate(fb)))]
    if rows:
        out.append("Batch of N, and N pipelined PutAsync from one thread, vs raw: produce N records, consume all N "
                   "(pipelined). PutAsync latency is from the call to its callback (applied locally):\n")
        header = ["N", "raw pipelined", "kv Batch", "kv per op", "ratio", "kv PutAsync",
                  "PutAsync p50", "PutAsync p99", "ratio"]
        if any(len(row) > len(header) for row in rows):
            header += ["franz-go pipelined", "raw / franz-go", "Batch / franz-go"]
            rows = [row + [""] * (len(header) - len(row)) for row in rows]
        out.append(table(header, rows))

    rows = []
    for args in sizes(runs, "BM_PutAsyncLimited"):
        n, limit = args.split("/")
        lim, free = runs.get(f"BM_PutAsyncLimited/{args}"), runs.get(f"BM_PutAsync/{n}")
        rows.append([n, limit, si(rate(lim), "ops/s"), latency(counter(lim, "p50_us")), latency(counter(lim, "p99_us")),
                     si(rate(free), "ops/s"), fmt_ratio(ratio(rate(lim), rate(free)))])
    if rows:
        out.append("N pipelined PutAsync on a client with max_writes_in_flight = L, waiting for a slot at the limit "
                   "(wait_for_write_slot), vs the same N without a limit (issue 16's back-pressure):\n")
        out.append(table(["N", "limit L", "PutAsync limited", "p50", "p99", "PutAsync unlimited", "ratio"], rows))

    pipelined = runs.get(f"BM_RawPipelined/{batch_sizes[-1]}") if batch_sizes else None
    rows = []
    for t in sizes(runs, "BM_PutThreads"):
        b = runs.get(f"BM_PutThreads/{t}")
        r = ratio(rate(b), rate(pipelined))
        rows.append([t, si(rate(b), "ops/s"), latency(counter(b, "p50_us")), latency(counter(b, "p99_us")),
                     fmt_ratio(r)])
    if rows:
        out.append(f"Put from T threads on one client vs raw pipelined "
                   f"({si(rate(pipelined), 'rec/s')}, N={batch_sizes[-1] if batch_sizes else '?'}); "
                   f"each writer waits for its Put before the next, so this is bounded by writers / latency:\n")
        out.append(table(["writers", "throughput", "p50", "p99", "ratio"], rows))

    out.append(conditional_section(runs))

    rows = []
    for args in sizes(runs, "BM_RawConsume"):
        records, writes = args.split("/")
        rb, kb = runs.get(f"BM_RawConsume/{args}"), runs.get(f"BM_Replay/{args}")
        r = ratio(rate(kb), rate(rb))
        rows.append([si(float(records)), int(records) // int(writes), writes, si(rate(rb), "rec/s"),
                     si(rate(kb), "rec/s"), f"{fmt_ratio(r)} ({verdict(r, 0.7)})"])
        fb = runs.get(f"BM_FranzConsume/{args}")
        if fb:
            rf = ratio(rate(kb), rate(fb))
            rows[-1] += [si(rate(fb), "rec/s"), fmt_ratio(ratio(rate(rb), rate(fb))),
                         f"{fmt_ratio(rf)} ({verdict(rf, 0.8)} >= 0.8x)"]
    if rows:
        out.append("Start-up replay (Client::Open until caught up) vs a raw consumer reading the same topic; "
                   "target >= 0.7x:\n")
        header = ["records", "keys", "writes/key", "raw consume", "kv replay", "ratio"]
        if any(len(row) > len(header) for row in rows):
            header += ["franz-go consume (its own topic, same size)", "raw / franz-go", "replay / franz-go"]
            rows = [row + [""] * (len(header) - len(row)) for row in rows]
        out.append(table(header, rows))

    rows = []
    for args in sizes(runs, "BM_ReplayInMemory"):
        records, writes = args.split("/")
        rows.append([si(float(records)), int(records) // int(writes), writes,
                     si(rate(runs.get(f"BM_ReplayInMemory/{args}")), "rec/s")])
    if rows:
        out.append("Start-up replay from a log held in memory (the KV layer's own cost, no Kafka):\n")
        out.append(table(["records", "keys", "writes/key", "kv replay"], rows))

    rows = []
    for args in sizes(runs, "BM_Get"):
        if not args.endswith("threads:1"):
            continue
        n = args.split("/")[0]
        g1, g2 = runs.get(f"BM_Get/{n}/threads:1"), runs.get(f"BM_Get/{n}/threads:2")
        i1, i2 = runs.get(f"BM_GetInto/{n}/threads:1"), runs.get(f"BM_GetInto/{n}/threads:2")
        m1, m2 = runs.get(f"BM_MultiGet/{n}/threads:1"), runs.get(f"BM_MultiGet/{n}/threads:2")
        r1, r2 = runs.get(f"BM_Range/{n}/threads:1"), runs.get(f"BM_Range/{n}/threads:2")
        t1 = runs.get(f"BM_GetTtl/{n}/threads:1")
        note = f" ({verdict(rate(g1), 5e6)} >= 5M)" if n == "1000000" else ""
        note_into = f" ({verdict(rate(i1), 5e6)} >= 5M)" if n == "1000000" and i1 else ""
        rows.append([si(float(n)), si(rate(g1), "ops/s") + note, si(rate(g2), "ops/s"),
                     si(rate(i1), "ops/s") + note_into, si(rate(i2), "ops/s"),
                     si(rate(m1), "keys/s"), si(rate(m2), "keys/s"),
                     si(rate(r1), "ops/s"), si(rate(r2), "ops/s"), si(counter(r1, "keys/s"), "keys/s"),
                     ttl_get_cell(g1, t1)])
    if rows:
        out.append("Local reads (Range: 100 keys from a random start):\n")
        out.append("Get returns a new string; Get into a buffer reuses the caller's (no allocation); MultiGet "
                   "reads 16 random keys per call into reused buffers, its rate is in keys.\n")
        out.append(table(["keys", "Get 1 thread", "Get 2 threads", "Get into buffer 1 thread", "2 threads",
                          "MultiGet (16 keys) 1 thread", "2 threads",
                          "Range 1 thread", "Range 2 threads",
                          "Range keys, 1 thread",
                          "Get, keys with a TTL (1 in 10 expired), 1 thread: vs Get (target <= 1.1x time)"], rows))
    return "\n".join(out)


def ttl_get_cell(plain, ttl):
    """BM_GetTtl beside BM_Get of the same run: the time ratio (Get's rate over GetTtl's)."""
    if not ttl or not rate(ttl) or not rate(plain):
        return ""
    ratio = rate(plain) / rate(ttl)
    return (f"{si(rate(ttl), 'ops/s')}, found {counter(ttl, 'found_fraction'):.2f}: "
            f"{ratio:.2f}x ({'met' if ratio <= 1.1 else '**missed**'})")


def conditional_section(runs):
    """Conditional writes, Update, linearizable reads and atomic transactions, each beside its baseline."""
    out = []
    raw, put = runs.get("BM_RawRoundTrip"), runs.get("BM_Put")
    rows = []
    for name, label, base, base_label, target in (
            ("BM_PutIf", "PutIf", put, "Put", 1.1),
            ("BM_Update", "Update (uncontended)", put, "Put", 1.2),
            ("BM_LinearizableGet", "Get at linearizable", raw, "raw round trip", 1.3)):
        b = runs.get(name)
        if b is None:
            continue
        r = ratio(counter(b, "p50_us"), counter(base, "p50_us"))
        rows.append([label, latency(counter(b, "p50_us")), latency(counter(b, "p99_us")), base_label,
                     latency(counter(base, "p50_us")), f"{fmt_ratio(r)} ({verdict(r, target, False)} <= {target}x)"])
    if rows:
        out.append("Conditional writes and linearizable reads, p50 beside the baseline's (one at a time, same client "
                   "and topic as Put):\n")
        out.append(table(["", "p50", "p99", "baseline", "baseline p50", "ratio p50"], rows))
    rows = []
    for n in sizes(runs, "BM_Txn"):
        base = runs.get(f"BM_Batch/{n}")
        for name, label in (("BM_Txn", "Transaction, no conditions"), ("BM_AtomicBatch", "Batch().Atomic()")):
            b = runs.get(f"{name}/{n}")
            r = ratio(rate(b), rate(base))
            rows.append([n, label, si(rate(b), "rec/s"), si(rate(base), "rec/s"),
                         f"{fmt_ratio(r)} ({verdict(r, 0.8)} >= 0.8x)"])
    if rows:
        out.append("N writes as one atomic record vs a Batch of N records (writes per second):\n")
        out.append(table(["N", "atomic form", "atomic", "Batch", "ratio"], rows))
    rows = []
    uncontended = runs.get("BM_Counter/1/1/1")
    for args in sizes(runs, "BM_Counter"):
        writers, clients, keys = args.split("/")
        b = runs.get(f"BM_Counter/{args}")
        label = "uncontended (one writer)" if writers == "1" else (
            f"{writers} writers on one key" if keys == "1" else f"{writers} writers, a key each")
        rows.append([label, clients, keys, si(rate(b), "updates/s"),
                     f"{counter(b, 'gave_up_share') * 100:.1f} %" if counter(b, "gave_up_share") is not None else "n/a",
                     fmt_ratio(ratio(rate(b), rate(uncontended)))])
    if rows:
        out.append("Counter: Update increments from W threads over C clients on K keys; successful updates per second "
                   "(every success is in the final counts); gave up: Updates that met kConflict on all "
                   "update_max_attempts (10) attempts:\n")
        out.append(table(["writers", "clients", "keys", "successful updates", "gave up", "vs uncontended"], rows))
    return "\n".join(out)


MODEL_LABEL = ("a model of the Go original's Put (franz-go ProduceSync + consume loop), not the Go original "
               "itself, which the module proxy does not serve")


def go_model_section(runs, franz_ctx):
    """kvlog's Put and Batch-100 beside bench/franz-baseline's model of the Go original (issue 18)."""
    model_put, model_batch = runs.get("BM_GoModelPut"), runs.get("BM_GoModelBatch/100")
    if not model_put and not model_batch:
        return ""
    ctx = franz_ctx or {}
    put, batch, franz = runs.get("BM_Put"), runs.get("BM_Batch/100"), runs.get("BM_FranzRoundTrip")
    on_mock = "kvmock" in ctx.get("log", "")

    def judge(r, target, higher_is_better=True):
        if on_mock:
            return "smoke run on the mock, no verdict"
        return f"{verdict(r, target, higher_is_better)} {'>=' if higher_is_better else '<='} {target}x"

    rows = []
    if model_put:
        rp = ratio(counter(put, "p50_us"), counter(model_put, "p50_us"))
        rows.append(["Go model Put (one at a time)", with_samples(model_put, "p50_us"),
                     with_samples(model_put, "p99_us"), latency(counter(model_put, "ack_p50_us")), "", ""])
        rows.append(["kv Put", with_samples(put, "p50_us"), with_samples(put, "p99_us"), "", "",
                     f"kv / model p50 {fmt_ratio(rp)} ({judge(rp, 1.0, False)})"])
        if franz:
            rf = ratio(counter(put, "p50_us"), counter(franz, "p50_us"))
            rows.append(["franz-go raw round trip", with_samples(franz, "p50_us"), with_samples(franz, "p99_us"),
                         latency(counter(franz, "ack_p50_us")), "",
                         f"kv Put / franz-go raw p50 {fmt_ratio(rf)} ({judge(rf, 1.1, False)})"])
    if model_batch:
        rb = ratio(rate(batch), rate(model_batch))
        rows.append(["Go model Batch of 100", "", "", "", si(rate(model_batch), "rec/s"), ""])
        rows.append(["kv Batch of 100", "", "", "", si(rate(batch), "rec/s"),
                     f"kv / model {fmt_ratio(rb)} ({judge(rb, 1.0)})"])
    note = ""
    if on_mock:
        note = (" On the mock this is a smoke run, not a comparison: franz-go's fetch wait is at least 10 ms and "
                "the mock's fetch does not wake on new data.")
    return "\n".join([
        f"kvlog beside the Go model: {ctx.get('model', MODEL_LABEL)}. Written from the Go original's described "
        f"mechanism (bench/franz-baseline/gomodel.go): one franz-go client, ProduceSync, one consume loop applying "
        f"every record into a map; Put returns once its offset is applied. Compression "
        f"{ctx.get('model_compression', '?')} (franz-go's default, as the Go original's: snappy), linger "
        f"{ctx.get('model_linger', '?')}. Ack p50: ProduceSync's return. Targets (issue 18): kv Put p50 <= 1.0x "
        f"the model's, Batch-100 >= 1.0x, Put <= 1.1x franz-go's raw round trip.{note}\n",
        table(["", "p50", "p99", "ack p50", "rate", "ratio"], rows)])


def franz_section(ctx, runs):
    rows = []
    for name, b in runs.items():
        if not name.startswith(("BM_Franz", "BM_GoModel")):
            continue
        p50 = with_samples(b, "p50_us") if counter(b, "p50_us") else ""
        p99 = with_samples(b, "p99_us") if counter(b, "p99_us") else ""
        rows.append([name, p50, p99, si(rate(b), "rec/s") if rate(b) else ""])
    out = [f"### franz-go raw baseline — log: {ctx.get('log', 'unknown')}; {ctx.get('client', '')}, "
           f"compression {ctx.get('compression', '?')}, linger {ctx.get('linger', '?')}\n"]
    if any(name.startswith("BM_GoModel") for name in runs):
        out.append(f"BM_GoModel rows: {ctx.get('model', MODEL_LABEL)}; compression "
                   f"{ctx.get('model_compression', '?')}, linger {ctx.get('model_linger', '?')}.\n")
    out.append(table(["row", "p50", "p99", "rate"], rows))
    return "\n".join(out)


def sim_section(ctx, runs):
    rows = []
    for args, label in (("0", "none"), ("1", "every safe preset"), ("2", "swarm over the safe faults")):
        b = runs.get(f"BM_Simulator/{args}")
        ops, speed = counter(b, "sim_ops/s"), counter(b, "virtual/wall")
        rows.append([label, si(ops, "ops/s") + f" ({verdict(ops, 1e5)})",
                     f"{speed:.0f}x ({verdict(speed, 100)})" if speed else "n/a",
                     si(counter(b, "ops/run"))])
    out = [f"### Simulator — log: {ctx.get('log', 'simulated')}\n",
           "Targets: >= 100 K simulated ops per wall second, >= 100x faster than real time.\n",
           table(["faults", "simulated ops / wall s", "virtual / wall", "ops per run"], rows)]
    return "\n".join(out)


def checker_section(ctx, runs):
    rows = []
    for n in sizes(runs, "BM_SessionAndConvergence"):
        sc, du = runs.get(f"BM_SessionAndConvergence/{n}"), runs.get(f"BM_Durability/{n}")
        v = counter(sc, "ops/s")
        rows.append([si(float(n)), si(v, "ops/s") + f" ({verdict(v, 1e6)} >= 1M)", si(counter(du, "ops/s"), "ops/s")])
    out = ["### Checker\n", table(["history ops", "session + convergence", "durability"], rows)]
    lin = runs.get("BM_LinearizabilityReferenceSet")
    if lin is not None:
        if "error" in lin:
            out.append(f"Linearizability reference set: not run ({lin['error']}).\n")
        else:
            out.append(f"Linearizability over `shared/histories` ({counter(lin, 'rows'):.0f} histories, "
                       f"{counter(lin, 'ops'):.0f} operations): {ms(lin):.0f} ms in all; "
                       f"agrees with the published verdict on {counter(lin, 'agree'):.0f}.\n")
    return "\n".join(out)


def kvcheck_section(ctx, runs):
    """bench/kvcheck_bench: the kvcheck process end to end on kvsim's 800 K-op history, beside reading the file."""
    kv, floor = runs.get("BM_Kvcheck"), runs.get("BM_ReadFile")
    if kv is None:
        return ""
    if "error" in kv:
        return f"### kvcheck end to end\n\nNot run: {kv['error']}.\n"
    ops, peak = counter(kv, "ops/s"), counter(kv, "peak_rss_MB")
    rows = [["kvcheck end to end (wall)", f"{ms(kv) / 1e3:.2f} s = {si(ops, 'ops/s')}", f"{verdict(ops, 5e5)} >= 0.5 M ops/s"],
            ["kvcheck CPU (user + sys)", f"{counter(kv, 'cpu_s'):.2f} s", ""],
            ["kvcheck peak RSS", f"{peak:.0f} MB", f"{verdict(peak, 1000, higher_is_better=False)} < 1 GB"]]
    if floor is not None and "error" not in floor:
        rows.append(["reading the file alone (the floor)", f"{ms(floor) / 1e3:.3f} s",
                     f"kvcheck {fmt_ratio(ratio(ms(kv), ms(floor)))} it"])
    return ("### kvcheck end to end\n\nkvsim's 800 K-op history (709 MB, 21 M range pairs); medians of the "
            "repetitions.\n\n" + table(["", "median", "target"], rows))


def memory_section(ctx, runs):
    rows = sorted((k, v) for k, v in runs.items() if k.startswith("BM_StoreMemory"))
    if not rows:
        return ""
    out = ["### Memory\n"]
    for name, b in rows:
        kind = "values with a TTL (each in its 17-byte envelope)" if name.endswith("ttl:1") else "plain values"
        out.append(f"In-memory store holding {si(counter(b, 'keys'))} keys, {kind} "
                   f"({counter(b, 'payload_B/key'):.0f} B of key + value each): "
                   f"RSS growth {counter(b, 'rss_growth_B/key'):.0f} B/key, "
                   f"process peak RSS {counter(b, 'peak_rss_B/key'):.0f} B/key.\n")
    return "\n".join(out)


def rocksdb_section(ctx, runs):
    """bench/rocksdb_bench: the durable stores (RocksDB, LMDB) beside their baseline, the in-memory store, same run."""
    def find(prefix, label):
        return next((b for k, b in runs.items() if k.startswith(prefix) and b.get("label") == label), None)
    mem_replay, rdb_replay = find("BM_FullReplay", "memory"), find("BM_FullReplay", "rocksdb")
    restarts = [b for k, b in runs.items() if k.startswith("BM_RestartWithTail")]
    restart = restarts[0] if restarts else None
    mem_get, rdb_get = find("BM_Get", "memory"), find("BM_Get", "rocksdb")
    lmdb_replay, lmdb_get = find("BM_FullReplay", "lmdb"), find("BM_Get", "lmdb")
    rows = []
    if mem_replay and rdb_replay:
        rows.append(["full replay, memory store", f"{ms(mem_replay):.0f} ms", si(rate(mem_replay), "rec/s"), ""])
        r = ratio(rate(rdb_replay), rate(mem_replay))
        rows.append(["full replay, RocksDB store", f"{ms(rdb_replay):.0f} ms", si(rate(rdb_replay), "rec/s"),
                     f"{fmt_ratio(r)} the memory rate ({verdict(r, 0.5)} >= 0.5x)"])
        create = counter(rdb_replay, "store_open_ms")
        if create is not None and ms(rdb_replay) > create:
            # Creating a new database is a fixed cost a larger topic amortises.
            rows.append([f"&nbsp;&nbsp;the same less creating the database ({create:.0f} ms)",
                         f"{ms(rdb_replay) - create:.0f} ms", "",
                         f"{fmt_ratio(ratio(ms(mem_replay), ms(rdb_replay) - create))} the memory rate"])
    if mem_replay and lmdb_replay:
        r = ratio(rate(lmdb_replay), rate(mem_replay))
        rows.append(["full replay, LMDB store", f"{ms(lmdb_replay):.0f} ms", si(rate(lmdb_replay), "rec/s"),
                     f"{fmt_ratio(r)} the memory rate ({verdict(r, 0.5)} >= 0.5x)"])
    for restart in restarts if mem_replay else []:
        # One row per kind of restart (its label: from a checkpoint, a closed store, ...).
        r = ratio(ms(mem_replay), ms(restart))
        keys = counter(restart, "keys")
        held = f" holding {si(keys)} keys" if keys else ""
        kind = f" ({restart['label']})" if restart.get("label") else ""
        engine = "LMDB" if restart.get("label", "").startswith("lmdb") else "RocksDB"
        rows.append([f"restart, {engine} store{held} with a {counter(restart, 'tail'):.0f}-record tail{kind}",
                     f"{ms(restart):.0f} ms", "",
                     f"{fmt_ratio(r)} faster than a full in-memory replay ({verdict(r, 100)} >= 100x)"])
        same_engine = lmdb_replay if engine == "LMDB" else rdb_replay
        if same_engine:
            rows.append([f"&nbsp;&nbsp;the same against a full replay into {engine}", "", "",
                         f"{fmt_ratio(ratio(ms(same_engine), ms(restart)))} faster"])
    if mem_get and rdb_get:
        rows.append(["`Get`, memory store", "", si(rate(mem_get), "ops/s"), ""])
        rows.append(["`Get`, RocksDB store (block cache warm)", "", si(rate(rdb_get), "ops/s"),
                     fmt_ratio(ratio(rate(rdb_get), rate(mem_get)))])
    if mem_get and lmdb_get:
        rows.append(["`Get`, LMDB store (pages cached)", "", si(rate(lmdb_get), "ops/s"),
                     fmt_ratio(ratio(rate(lmdb_get), rate(mem_get)))])
    if not rows:
        return ""
    records = counter(mem_replay or rdb_replay or restart, "records")
    size = f"{records:.0f} records in the topic" if records else "topic size not reported"
    return (f"### RocksDB and LMDB stores vs the in-memory store\n\n{ctx.get('log', 'embedded mock')}; {size}.\n\n"
            + table(["", "time", "rate", "ratio"], rows))


def machine(ctx):
    load = ctx.get("load_avg") or []
    return (f"{ctx.get('host_name', '?')}: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
            f"load average {' '.join(f'{x:.2f}' for x in load)} at start, {ctx.get('date', '?')}, "
            f"libbenchmark build {ctx.get('library_build_type', '?')}")


def is_kv_bench(runs):
    """A kv_bench file: raw rows, replay, or (a filtered run) Put / Batch alone."""
    return any(name.startswith(("BM_Raw", "BM_Replay", "BM_Put", "BM_Batch/")) for name in runs)


def main(paths):
    sections, machines = [], []
    loaded = [load(path) for path in paths]
    franz_ctx, franz_runs = None, {}
    for ctx, runs in loaded:
        if ctx.get("suite") == "franz-baseline":
            franz_ctx = ctx
            franz_runs.update(runs)
    has_kv = any(ctx.get("suite") != "franz-baseline" and is_kv_bench(runs) for ctx, runs in loaded)
    for ctx, runs in loaded:
        names = " ".join(runs)
        if ctx.get("suite") == "franz-baseline":
            if not has_kv:  # Alone: its own table.
                sections.append(franz_section(ctx, runs))
            continue
        machines.append(machine(ctx))
        if is_kv_bench(runs):
            sections.append(kafka_section(ctx, {**runs, **franz_runs}, franz_ctx))
        if "BM_Simulator" in names:
            sections.append(sim_section(ctx, runs))
        if "BM_SessionAndConvergence" in names:
            sections.append(checker_section(ctx, runs))
        if "BM_Kvcheck" in names:
            sections.append(kvcheck_section(ctx, runs))
        if "BM_StoreMemory" in names:
            sections.append(memory_section(ctx, runs))
        if "BM_FullReplay" in names:
            sections.append(rocksdb_section(ctx, runs))
    print("Machine: " + machines[0] if machines else "")
    print("\n" + "\n\n".join(s.strip() for s in sections if s))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
