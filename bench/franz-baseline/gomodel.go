// A model of the Go original's write path (issue 18): the Go original,
// redpanda-data/common-go's kvstore on franz-go, is not served by the Go
// module proxy here, so it cannot be built and measured. This is a small
// key-value store written here from its described mechanism, not from its
// code: one franz-go client produces each write with ProduceSync, one consume
// loop (a goroutine on the same client) applies every record into a map and
// wakes the writers waiting for it, and Put returns once the loop has applied
// the offset its record got (read-your-writes). Rows:
//
//	BM_GoModelPut          Put one at a time: p50_us, p99_us, samples (and
//	                       ack_p50_us: ProduceSync's return, the acknowledgement)
//	BM_GoModelBatch/N      N records in one ProduceSync, then wait until the
//	                       last is applied: records/s
//
// The client keeps franz-go's defaults, as the Go original did: idempotent,
// acks=all, linger 10 ms (ProduceSync un-lingers the partition it writes to,
// since franz-go v1.20.7, so a synchronous write does not wait for it), snappy
// compression (--compression=none turns it off), fetch max wait 5 s, min
// bytes 1. Only what a benchmark needs is set: the topic, the partition to
// consume, and --max_kafka_version/--fetch_max_wait on the mock.
package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// modelCompression is the codec of the model's client: franz-go's default
// (snappy, then none if the broker refuses it) unless --compression names one.
func modelCompression() string {
	if *compression == "" {
		return "snappy"
	}
	return *compression
}

// modelStore is the model: a map fed by one consume loop, and writers that
// wait for their offset to be applied.
type modelStore struct {
	cl     *kgo.Client
	mu     sync.Mutex
	data   map[string][]byte
	next   int64 // the offset after the last record applied
	wait   []modelWaiter
	failed error
	cancel context.CancelFunc
	done   chan struct{}
}

type modelWaiter struct {
	offset int64 // woken when next > offset
	ch     chan struct{}
}

func openModel(topic string) *modelStore {
	opts := append(base(),
		kgo.DefaultProduceTopic(topic),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if *compression == "none" {
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	} // else franz-go's default: snappy, then none.
	if *fetchWait > 0 {
		opts = append(opts, kgo.FetchMaxWait(*fetchWait))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		die("model client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &modelStore{cl: cl, data: map[string][]byte{}, cancel: cancel, done: make(chan struct{})}
	go s.consumeLoop(ctx)
	// Open replays what the topic holds before the first write, as a store does.
	s.waitApplied(context.Background(), topicEnd(topic)-1, "model replay")
	return s
}

func (s *modelStore) consumeLoop(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		fetches := s.cl.PollFetches(ctx)
		var ferr error
		for _, e := range fetches.Errors() {
			if !errors.Is(e.Err, context.Canceled) {
				ferr = fmt.Errorf("fetch %s/%d: %w", e.Topic, e.Partition, e.Err)
			}
		}
		s.mu.Lock()
		fetches.EachRecord(func(rec *kgo.Record) {
			if rec.Value == nil {
				delete(s.data, string(rec.Key))
			} else {
				s.data[string(rec.Key)] = rec.Value
			}
			s.next = rec.Offset + 1
		})
		if ferr != nil && s.failed == nil {
			s.failed = ferr
		}
		// Wake the writers whose records are applied (all of them on a failure).
		kept := s.wait[:0]
		for _, w := range s.wait {
			if w.offset < s.next || s.failed != nil {
				close(w.ch)
			} else {
				kept = append(kept, w)
			}
		}
		s.wait = kept
		s.mu.Unlock()
	}
}

// waitApplied blocks until the record at `offset` is applied (offset < 0:
// nothing to wait for).
func (s *modelStore) waitApplied(ctx context.Context, offset int64, what string) {
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		die("%s: %v", what, s.failed)
	}
	if offset < s.next {
		s.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	s.wait = append(s.wait, modelWaiter{offset, ch})
	s.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		die("%s: offset %d never applied: %v", what, offset, ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		die("%s: %v", what, s.failed)
	}
}

// put writes one record and returns when the consume loop has applied it; it
// also returns when ProduceSync returned (the acknowledgement).
func (s *modelStore) put(key, val []byte) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := s.cl.ProduceSync(ctx, &kgo.Record{Key: key, Value: val})
	acked := time.Now()
	rec, err := res.First()
	if err != nil {
		die("model put: %v", err)
	}
	s.waitApplied(ctx, rec.Offset, "model put")
	return acked
}

// batch writes the records with one ProduceSync and returns when the last is applied.
func (s *modelStore) batch(records []*kgo.Record) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	last := int64(-1)
	for _, r := range s.cl.ProduceSync(ctx, records...) {
		if r.Err != nil {
			die("model batch: %v", r.Err)
		}
		last = max(last, r.Record.Offset)
	}
	s.waitApplied(ctx, last, "model batch")
}

func (s *modelStore) get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return v, ok
}

func (s *modelStore) close() {
	s.cancel()
	<-s.done
	s.cl.Close()
}

// modelPutRow is one repetition of BM_GoModelPut on an open store.
func modelPutRow(s *modelStore) result {
	var us, ackUs []float64
	start := time.Now()
	for i := int64(1); time.Since(start) < *minTime; i++ {
		val := value(i)
		t0 := time.Now()
		acked := s.put([]byte("put"), val)
		us = append(us, float64(time.Since(t0).Nanoseconds())/1e3)
		ackUs = append(ackUs, float64(acked.Sub(t0).Nanoseconds())/1e3)
		// Read-your-writes: the value is there when Put returns.
		if got, ok := s.get("put"); !ok || string(got) != string(val) {
			die("model put: read %q after writing %q", got, val)
		}
	}
	elapsed := time.Since(start)
	sort.Float64s(us)
	sort.Float64s(ackUs)
	return result{iterations: int64(len(us)), elapsed: elapsed, counters: map[string]float64{
		"p50_us": percentile(us, 0.50), "p99_us": percentile(us, 0.99), "samples": float64(len(us)),
		"ack_p50_us": percentile(ackUs, 0.50), "ack_p99_us": percentile(ackUs, 0.99),
	}}
}

// modelBatchRow is one repetition of BM_GoModelBatch/n on an open store.
func modelBatchRow(s *modelStore, n int64) result {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = keyName(int64(i))
	}
	var iters int64
	start := time.Now()
	for iters == 0 || time.Since(start) < *minTime {
		val := value(iters)
		records := make([]*kgo.Record, n)
		for i, k := range keys {
			records[i] = &kgo.Record{Key: k, Value: val}
		}
		s.batch(records)
		iters++
		if got, ok := s.get(string(keys[n-1])); !ok || string(got) != string(val) {
			die("model batch: read %q after writing %q", got, val)
		}
	}
	return result{iterations: iters, elapsed: time.Since(start), items: iters * n}
}

// modelRows runs the model's rows, each on a store of its own (one topic each).
func modelRows(put bool, batches []int64) []benchmark {
	var rows []benchmark
	if put {
		topic := topicName("gomodel-put")
		ensureTopic(topic)
		s := openModel(topic)
		rows = append(rows, row("BM_GoModelPut", "us", func() result { return modelPutRow(s) }))
		s.close()
	}
	if len(batches) > 0 {
		topic := topicName("gomodel-batch")
		ensureTopic(topic)
		s := openModel(topic)
		for _, n := range batches {
			rows = append(rows, row(fmt.Sprintf("BM_GoModelBatch/%d", n), "ms",
				func() result { return modelBatchRow(s, n) }))
		}
		s.close()
	}
	return rows
}
