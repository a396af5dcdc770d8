// franz-baseline: the raw-client baseline of bench/kv_bench measured with
// franz-go (Go) instead of librdkafka, on the same cluster and the same topic
// settings, so bench/report.py can put librdkafka raw, franz-go raw and kvlog
// side by side. Built by scripts/franz-baseline (pinned by go.mod + go.sum).
//
//	franz-baseline --brokers=host:port,... [--replication_factor=3] --out=FILE.json
//
// Rows (Google Benchmark JSON, median aggregates over --repetitions):
//
//	BM_FranzRoundTrip       produce one record, consume it: p50_us, p99_us, samples
//	BM_FranzPipelined/N     produce N records, consume all N (one consumer)
//	BM_FranzConsume/R/W     a fresh consumer reads R records (R/W keys written W times)
//	BM_GoModelPut           a model of the Go original's Put (gomodel.go): p50_us, p99_us, samples
//	BM_GoModelBatch/N       the model's batch of N records, produced and applied
//
// Producer of the raw rows: idempotent, acks=all (franz-go's defaults, as
// kvlog's), no compression and linger 0 unless --compression/--linger say
// otherwise (see bench/README.md for why). The model's rows keep franz-go's
// defaults (snappy unless --compression=none; gomodel.go). Consumer: franz-go's defaults (fetch max wait
// 5 s, min bytes 1, 50 MiB per fetch, 1 MiB per partition), partitions
// assigned directly, no group.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

const valueBytes = 100

var (
	brokers     = flag.String("brokers", "", "bootstrap brokers, host:port,... (required)")
	rf          = flag.Int("replication_factor", 3, "replication factor of the topics it creates")
	create      = flag.Bool("create", true, "create the topics (false: they must exist with 1 partition, e.g. made by kvmock)")
	prefix      = flag.String("topic_prefix", "franz", "topic names: PREFIX-put, PREFIX-pipelined, PREFIX-fill-RxW, then -STAMP")
	stamp       = flag.String("stamp", strconv.FormatInt(time.Now().UnixMilli(), 10), "suffix of the topic names (empty: none)")
	out         = flag.String("out", "", "write Google Benchmark JSON here (default: stdout)")
	reps        = flag.Int("repetitions", 3, "repetitions of each row; the JSON holds their medians")
	minTime     = flag.Duration("min_time", time.Second, "least time one repetition of a row runs")
	pipelined   = flag.String("pipelined", "100,1000,10000", "burst sizes N of BM_FranzPipelined (empty: none)")
	consume     = flag.String("consume", "100000/1,1000000/1,1000000/10", "R/W sizes of BM_FranzConsume (empty: none)")
	only        = flag.String("only", "roundtrip,pipelined,consume", "which row families to run: roundtrip, pipelined, consume, kvmodel (kvmodel-put + kvmodel-batch)")
	modelBatch  = flag.String("model_batches", "100", "batch sizes N of BM_GoModelBatch (empty: none)")
	compression = flag.String("compression", "", "producer compression: none or snappy (franz-go's own default); empty: none for the raw rows, snappy for the model's")
	linger      = flag.Duration("linger", 0, "producer linger (franz-go 1.22's default is 10ms; ProduceSync skips it)")
	fetchWait   = flag.Duration("fetch_max_wait", 0, "consumer fetch max wait (0: franz-go's default, 5s)")
	maxVersion  = flag.String("max_kafka_version", "", "cap the request versions at a Kafka release, e.g. 2.3 (empty: none)")
	description = flag.String("log_description", "", "names the cluster in the report (default: the brokers)")
)

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "franz-baseline: "+format+"\n", args...)
	os.Exit(2)
}

func value(i int64) []byte {
	v := []byte("v" + strconv.FormatInt(i, 10) + "-")
	for len(v) < valueBytes {
		v = append(v, 'x')
	}
	return v[:valueBytes]
}

func keyName(i int64) []byte { return []byte(fmt.Sprintf("key/%08d", i)) }

func seeds() []string { return strings.Split(*brokers, ",") }

// base are the options every client here shares.
func base() []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(seeds()...), kgo.ClientID("kvbench-franz")}
	if *maxVersion != "" {
		v := kversion.FromString(*maxVersion)
		if v == nil {
			die("--max_kafka_version=%s: not a Kafka release franz-go knows (e.g. 2.3, 3.9)", *maxVersion)
		}
		opts = append(opts, kgo.MaxVersions(v))
	}
	return opts
}

func topicName(name string) string {
	t := *prefix + "-" + name
	if *stamp != "" {
		t += "-" + *stamp
	}
	return t
}

func newProducer(topic string) *kgo.Client {
	codec := kgo.NoCompression()
	switch *compression {
	case "", "none":
	case "snappy":
		codec = kgo.SnappyCompression()
	default:
		die("--compression=%s: want none or snappy", *compression)
	}
	cl, err := kgo.NewClient(append(base(),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(*linger),
		kgo.MaxBufferedRecords(1_000_000),
	)...)
	if err != nil {
		die("producer: %v", err)
	}
	return cl
}

func newConsumer(topic string, from int64) *kgo.Client {
	opts := append(base(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(from)}}))
	if *fetchWait > 0 {
		opts = append(opts, kgo.FetchMaxWait(*fetchWait))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		die("consumer: %v", err)
	}
	return cl
}

// ensureTopic makes a single-partition topic with kvlog's topic settings
// (log::kafka::KafkaOptions::topic_configs), or checks that it exists.
func ensureTopic(topic string) {
	cl, err := kgo.NewClient(base()...)
	if err != nil {
		die("admin client: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if *create {
		compact, lag := "compact", "300000"
		configs := map[string]*string{"cleanup.policy": &compact, "min.compaction.lag.ms": &lag}
		if _, err := adm.CreateTopic(ctx, 1, int16(*rf), configs, topic); err != nil &&
			!strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
			die("create topic %s (1 partition, RF %d): %v", topic, *rf, err)
		}
	}
	// Wait until the topic answers ListOffsets: brokers learn of it one by one.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := endOffset(adm, topic); err == nil {
			return
		} else if time.Now().After(deadline) {
			die("topic %s not usable within 30s: %v", topic, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func endOffset(adm *kadm.Client, topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offsets, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	o, ok := offsets.Lookup(topic, 0)
	if !ok {
		return 0, fmt.Errorf("topic %s has no partition 0", topic)
	}
	if o.Err != nil {
		return 0, o.Err
	}
	return o.Offset, nil
}

func topicEnd(topic string) int64 {
	cl, err := kgo.NewClient(base()...)
	if err != nil {
		die("admin client: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// A broker that learned of a new topic late may answer without it: ask again.
	deadline := time.Now().Add(30 * time.Second)
	for {
		end, err := endOffset(adm, topic)
		if err == nil {
			return end
		}
		if time.Now().After(deadline) {
			die("end offset of %s: %v", topic, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// closeProducer waits for every acknowledgement first: Close fails what is
// still in flight.
func closeProducer(p *kgo.Client) {
	if err := p.Flush(context.Background()); err != nil {
		die("flush: %v", err)
	}
	p.Close()
}

// reader counts records (and remembers the last offset) on its own goroutine.
type reader struct {
	cl     *kgo.Client
	mu     sync.Mutex
	cond   *sync.Cond
	count  int64
	last   int64
	failed error
	cancel context.CancelFunc
	done   chan struct{}
}

func startReader(topic string, from int64) *reader {
	r := &reader{cl: newConsumer(topic, from), last: -1, done: make(chan struct{})}
	r.cond = sync.NewCond(&r.mu)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			fetches := r.cl.PollFetches(ctx)
			var n, last int64
			last = -1
			fetches.EachRecord(func(rec *kgo.Record) { n++; last = rec.Offset })
			var ferr error
			for _, e := range fetches.Errors() {
				if !errors.Is(e.Err, context.Canceled) {
					ferr = fmt.Errorf("fetch %s/%d: %w", e.Topic, e.Partition, e.Err)
				}
			}
			r.mu.Lock()
			r.count += n
			if last >= 0 {
				r.last = last
			}
			if ferr != nil && r.failed == nil {
				r.failed = ferr
			}
			r.cond.Broadcast()
			r.mu.Unlock()
		}
	}()
	return r
}

// waitFor blocks until `total` records were read in all.
func (r *reader) waitFor(total int64, what string) {
	timer := time.AfterFunc(2*time.Minute, func() {
		r.mu.Lock()
		if r.failed == nil {
			r.failed = fmt.Errorf("%s: records never arrived (%d of %d)", what, r.count, total)
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.count < total && r.failed == nil {
		r.cond.Wait()
	}
	if r.failed != nil {
		die("%s: %v", what, r.failed)
	}
}

func (r *reader) stop() {
	r.cancel()
	<-r.done
	r.cl.Close()
}

func produce(cl *kgo.Client, key, val []byte) {
	cl.Produce(context.Background(), &kgo.Record{Key: key, Value: val}, func(_ *kgo.Record, err error) {
		if err != nil {
			die("produce: %v", err)
		}
	})
}

// ---- Rows ----

// result is one repetition of one row.
type result struct {
	iterations int64
	elapsed    time.Duration
	items      int64
	counters   map[string]float64
}

func percentile(sorted []float64, q float64) float64 {
	return sorted[int(q*float64(len(sorted)-1))]
}

func roundTrip() result {
	topic := topicName("put")
	p := newProducer(topic)
	defer closeProducer(p)
	r := startReader(topic, topicEnd(topic))
	defer r.stop()
	// The first record is a warm-up: connections, metadata, producer id.
	produce(p, []byte("warmup"), value(0))
	r.waitFor(1, "round trip warm-up")
	// The timeline of each round trip: produce -> acknowledged (ack_us) and
	// produce -> record read (us).
	var us, ackUs []float64
	acked := make(chan time.Time, 1)
	start := time.Now()
	for i := int64(1); time.Since(start) < *minTime; i++ {
		t0 := time.Now()
		p.Produce(context.Background(), &kgo.Record{Key: []byte("rt"), Value: value(i)}, func(_ *kgo.Record, err error) {
			if err != nil {
				die("produce: %v", err)
			}
			acked <- time.Now()
		})
		r.waitFor(i+1, "round trip")
		us = append(us, float64(time.Since(t0).Nanoseconds())/1e3)
		ackUs = append(ackUs, float64((<-acked).Sub(t0).Nanoseconds())/1e3)
	}
	elapsed := time.Since(start)
	sort.Float64s(us)
	sort.Float64s(ackUs)
	return result{iterations: int64(len(us)), elapsed: elapsed, counters: map[string]float64{
		"p50_us": percentile(us, 0.50), "p99_us": percentile(us, 0.99), "samples": float64(len(us)),
		"ack_p50_us": percentile(ackUs, 0.50), "ack_p99_us": percentile(ackUs, 0.99),
	}}
}

func pipelinedRow(n int64) result {
	topic := topicName("pipelined")
	p := newProducer(topic)
	defer closeProducer(p)
	r := startReader(topic, topicEnd(topic))
	defer r.stop()
	produce(p, []byte("warmup"), value(0))
	r.waitFor(1, "pipelined warm-up")
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = keyName(int64(i))
	}
	val := value(1)
	total := int64(1)
	var iters int64
	start := time.Now()
	for iters == 0 || time.Since(start) < *minTime {
		for _, k := range keys {
			produce(p, k, val)
		}
		total += n
		r.waitFor(total, "pipelined")
		iters++
	}
	return result{iterations: iters, elapsed: time.Since(start), items: iters * n}
}

var filled = map[string]bool{}

// prefilled writes `records` records over records/writes keys, once per run.
func prefilled(records, writes int64) string {
	topic := topicName(fmt.Sprintf("fill-%dx%d", records, writes))
	if filled[topic] {
		return topic
	}
	ensureTopic(topic)
	if end := topicEnd(topic); end >= records {
		filled[topic] = true // Made by an earlier run with the same stamp.
		return topic
	} else if end != 0 {
		die("topic %s holds %d records, expected 0 or %d", topic, end, records)
	}
	p := newProducer(topic)
	keys := records / writes
	for i := int64(0); i < records; i++ {
		produce(p, keyName(i%keys), value(i))
	}
	closeProducer(p)
	if end := topicEnd(topic); end != records {
		die("topic %s holds %d records after writing %d (a log that drops its head, like the mock's?)", topic, end, records)
	}
	filled[topic] = true
	return topic
}

func consumeRow(records, writes int64) result {
	topic := prefilled(records, writes)
	var iters int64
	var timed time.Duration
	for iters == 0 || timed < *minTime {
		t0 := time.Now()
		r := startReader(topic, 0)
		r.waitFor(records, "consume")
		timed += time.Since(t0)
		r.mu.Lock()
		count, last := r.count, r.last
		r.mu.Unlock()
		r.stop()
		if count != records || last != records-1 {
			die("consume: %d records up to offset %d, expected %d up to %d", count, last, records, records-1)
		}
		iters++
	}
	return result{iterations: iters, elapsed: timed, items: iters * records}
}

// ---- Output ----

type benchmark struct {
	Name          string  `json:"name"`
	RunName       string  `json:"run_name"`
	RunType       string  `json:"run_type"`
	AggregateName string  `json:"aggregate_name"`
	Repetitions   int     `json:"repetitions"`
	Iterations    int64   `json:"iterations"`
	RealTime      float64 `json:"real_time"`
	CPUTime       float64 `json:"cpu_time"`
	TimeUnit      string  `json:"time_unit"`
	Items         float64 `json:"items_per_second,omitempty"`
	P50           float64 `json:"p50_us,omitempty"`
	P99           float64 `json:"p99_us,omitempty"`
	Samples       float64 `json:"samples,omitempty"`
	AckP50        float64 `json:"ack_p50_us,omitempty"`
	AckP99        float64 `json:"ack_p99_us,omitempty"`
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// row runs `fn` --repetitions times and reports the medians.
func row(name, unit string, fn func() result) benchmark {
	scale := map[string]float64{"us": 1e3, "ms": 1e6}[unit]
	var times, rates, p50, p99, samples, ack50, ack99 []float64
	var iters int64
	for i := 0; i < *reps; i++ {
		r := fn()
		iters = r.iterations
		times = append(times, float64(r.elapsed.Nanoseconds())/float64(r.iterations)/scale)
		if r.items > 0 {
			rates = append(rates, float64(r.items)/r.elapsed.Seconds())
		}
		if r.counters != nil {
			p50 = append(p50, r.counters["p50_us"])
			p99 = append(p99, r.counters["p99_us"])
			samples = append(samples, r.counters["samples"])
			ack50 = append(ack50, r.counters["ack_p50_us"])
			ack99 = append(ack99, r.counters["ack_p99_us"])
		}
	}
	b := benchmark{Name: name + "_median", RunName: name, RunType: "aggregate", AggregateName: "median",
		Repetitions: *reps, Iterations: iters, RealTime: median(times), CPUTime: median(times), TimeUnit: unit}
	if len(rates) > 0 {
		b.Items = median(rates)
	}
	if len(p50) > 0 {
		b.P50, b.P99, b.Samples = median(p50), median(p99), median(samples)
		b.AckP50, b.AckP99 = median(ack50), median(ack99)
	}
	fmt.Fprintf(os.Stderr, "franz-baseline: %-26s %10.3f %s/iter", name, b.RealTime, unit)
	if b.Items > 0 {
		fmt.Fprintf(os.Stderr, "  %.0f items/s", b.Items)
	}
	if b.P50 > 0 {
		fmt.Fprintf(os.Stderr, "  p50 %.0f us  p99 %.0f us  (%.0f samples; acknowledged: p50 %.0f us)", b.P50, b.P99,
			b.Samples, b.AckP50)
	}
	fmt.Fprintln(os.Stderr)
	return b
}

// rawCompression is the codec of the raw rows' producers.
func rawCompression() string {
	if *compression == "" {
		return "none"
	}
	return *compression
}

// loadAverage is the 1, 5 and 15 minute load average (nil where unknown).
func loadAverage() []float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	var out []float64
	for _, f := range strings.Fields(string(data))[:3] {
		if x, err := strconv.ParseFloat(f, 64); err == nil {
			out = append(out, x)
		}
	}
	return out
}

func parseInts(list, what string) []int64 {
	var out []int64
	for _, s := range strings.Split(list, ",") {
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			die("%s: %q is not a positive integer", what, s)
		}
		out = append(out, n)
	}
	return out
}

func main() {
	flag.Parse()
	if *brokers == "" {
		die("--brokers is required (host:port,...)")
	}
	if flag.NArg() > 0 {
		die("unexpected argument %q", flag.Arg(0))
	}
	if *compression != "" && *compression != "none" && *compression != "snappy" {
		die("--compression=%s: want none or snappy", *compression)
	}
	if *reps < 1 {
		die("--repetitions=%d: want at least 1", *reps)
	}
	want := map[string]bool{}
	for _, f := range strings.Split(*only, ",") {
		switch f {
		case "roundtrip", "pipelined", "consume", "kvmodel-put", "kvmodel-batch":
			want[f] = true
		case "kvmodel":
			want["kvmodel-put"], want["kvmodel-batch"] = true, true
		case "":
		default:
			die("--only: unknown row family %q (roundtrip, pipelined, consume, kvmodel, kvmodel-put, kvmodel-batch)", f)
		}
	}
	type consumeSize struct{ records, writes int64 }
	var consumes []consumeSize
	for _, s := range strings.Split(*consume, ",") {
		if s == "" {
			continue
		}
		parts := strings.Split(s, "/")
		if len(parts) != 2 {
			die("--consume: %q is not RECORDS/WRITES_PER_KEY", s)
		}
		rw := parseInts(parts[0]+","+parts[1], "--consume")
		if len(rw) != 2 || rw[0]%rw[1] != 0 {
			die("--consume: %q: RECORDS must be a multiple of WRITES_PER_KEY", s)
		}
		consumes = append(consumes, consumeSize{rw[0], rw[1]})
	}
	bursts := parseInts(*pipelined, "--pipelined")
	modelBatches := parseInts(*modelBatch, "--model_batches")
	if !want["kvmodel-batch"] {
		modelBatches = nil
	}

	startDate, startLoad := time.Now().UTC().Format(time.RFC3339), loadAverage()
	var rows []benchmark
	if want["roundtrip"] {
		ensureTopic(topicName("put"))
		rows = append(rows, row("BM_FranzRoundTrip", "us", roundTrip))
	}
	if want["pipelined"] && len(bursts) > 0 {
		ensureTopic(topicName("pipelined"))
		for _, n := range bursts {
			rows = append(rows, row(fmt.Sprintf("BM_FranzPipelined/%d", n), "ms", func() result { return pipelinedRow(n) }))
		}
	}
	if want["consume"] {
		for _, c := range consumes {
			rows = append(rows, row(fmt.Sprintf("BM_FranzConsume/%d/%d", c.records, c.writes), "ms",
				func() result { return consumeRow(c.records, c.writes) }))
		}
	}

	if want["kvmodel-put"] || len(modelBatches) > 0 {
		rows = append(rows, modelRows(want["kvmodel-put"], modelBatches)...)
	}

	desc := *description
	if desc == "" {
		desc = "Kafka brokers " + *brokers + " (RF " + strconv.Itoa(*rf) + ")"
	}
	ctx := map[string]any{
		"date": startDate, "log": desc, "suite": "franz-baseline",
		"client": "franz-go v1.22.3", "compression": rawCompression(), "linger": linger.String(),
		"load_avg": startLoad, "load_avg_end": loadAverage(),
	}
	if want["kvmodel-put"] || len(modelBatches) > 0 {
		ctx["model"] = "a model of the Go original's Put (franz-go ProduceSync + consume loop), not the Go " +
			"original itself, which the module proxy does not serve"
		ctx["model_compression"] = modelCompression()
		ctx["model_linger"] = "franz-go's default, 10ms (ProduceSync un-lingers)"
	}
	doc := map[string]any{"context": ctx, "benchmarks": rows}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		die("json: %v", err)
	}
	if *out == "" {
		fmt.Println(string(data))
	} else if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
		die("write %s: %v", *out, err)
	}
}
