package main

// The models, written as Porcupine models with kvlog's semantics (the same as
// kvcheck's, see checker/README.md):
//
//   register      read/write of one value, initially nil
//   cas-register  register plus cas [expected new] (a cas with result=false
//                 observed a failed compare)
//   kv            per key: get/read, put/write, delete, append, cas; a missing
//                 key reads as nil. A batch is one write per record, each on
//                 its own key's part, not atomic; two records of one batch on
//                 the same key take effect in batch order. A range is a read
//                 of every key it covers, judged per key.
//   kv-append-per-key  kv where a missing key reads as "" (Porcupine's kv)
//
// Failed operations did not happen and are left out; operations whose outcome
// is unknown (info, or no completion) may take effect at any point after their
// invocation, or never; reads with an unknown outcome are left out.

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// val is a canonical, comparable register value.
type val struct {
	present bool
	kind    byte // 's' string, 'i' int, 'b' bool, 'c' compound (s = its text)
	s       string
}

func toVal(v Value) val {
	switch v.Kind {
	case 'n', 0:
		return val{}
	case 's':
		return val{true, 's', v.S}
	case 'i':
		return val{true, 'i', strconv.FormatInt(v.I, 10)}
	case 'b':
		return val{true, 'b', v.Text()}
	}
	return val{true, 'c', v.Text()}
}

// raw is the value's text as an append extends it (nil: "").
func (v val) raw() string { return v.s }

func (v val) String() string {
	if !v.present {
		return "nil"
	}
	if v.kind == 's' {
		return strconv.Quote(v.s)
	}
	return v.s
}

// state is a part's state: the register's value and, while a batch with
// several records on this key is taking effect, how far each has got.
type state struct {
	v    val
	prog string // sorted "batch:records;" entries; "" when none is in progress
}

type opKind int

const (
	opRead opKind = iota
	opWrite
	opAppend
	opCas
)

// input is one operation as a part sees it.
type input struct {
	part      string
	kind      opKind
	a, b      val  // write/append: a; cas: a expected, b new
	ia, ib    int  // a and b interned (compact mode)
	compareNo bool // cas observed a failed compare
	info      bool // outcome unknown
	batch     int  // > 0: a batch record, the batch's id ...
	seq       int  // ... its position among the batch's records on this key (1-based)
	last      bool // ... and whether it is the last of them
}

func progressOf(prog string, batch int) int {
	prefix := strconv.Itoa(batch) + ":"
	for _, e := range strings.Split(prog, ";") {
		if strings.HasPrefix(e, prefix) {
			n, _ := strconv.Atoi(e[len(prefix):])
			return n
		}
	}
	return 0
}

func withProgress(prog string, batch, n int, drop bool) string {
	prefix := strconv.Itoa(batch) + ":"
	var entries []string
	for _, e := range strings.Split(prog, ";") {
		if e != "" && !strings.HasPrefix(e, prefix) {
			entries = append(entries, e)
		}
	}
	if !drop {
		entries = append(entries, prefix+strconv.Itoa(n))
	}
	sort.Strings(entries)
	return strings.Join(entries, ";")
}

func step(s interface{}, in interface{}, out interface{}) (bool, interface{}) {
	st := s.(state)
	op := in.(*input)
	switch op.kind {
	case opRead:
		return out.(val) == st.v, st
	case opWrite, opAppend:
		next := st
		if op.batch > 0 {
			done := progressOf(st.prog, op.batch)
			if op.info {
				if done >= op.seq {
					return true, st // did not take effect: a later record already did
				}
			} else if done != op.seq-1 {
				return false, st // an earlier record of the batch has not taken effect yet
			}
			next.prog = withProgress(st.prog, op.batch, op.seq, op.last && !op.info)
		}
		if op.kind == opWrite {
			next.v = op.a
		} else {
			next.v = val{true, 's', st.v.raw() + op.a.raw()}
		}
		return true, next
	case opCas:
		matches := st.v == op.a
		if op.compareNo {
			return !matches, st
		}
		if !matches {
			// An info cas whose compare fails has no effect; an ok one cannot happen.
			return op.info, st
		}
		next := st
		next.v = op.b
		return true, next
	}
	return false, st
}

// stepCompact is step for histories without appends and without batches
// that write a key twice: the state is the interned value's number (small
// integers box without allocating), reads' outputs are numbers too.
func stepCompact(s interface{}, in interface{}, out interface{}) (bool, interface{}) {
	st := s.(int)
	op := in.(*input)
	switch op.kind {
	case opRead:
		return out.(int) == st, st
	case opWrite:
		return true, op.ia
	case opCas:
		matches := st == op.ia
		if op.compareNo {
			return !matches, st
		}
		if !matches {
			return op.info, st
		}
		return true, op.ib
	}
	return false, st
}

func hashState(s interface{}) uint64 {
	st := s.(state)
	h := fnv.New64a()
	if st.v.present {
		h.Write([]byte{st.v.kind})
	}
	h.Write([]byte(st.v.s))
	h.Write([]byte{0})
	h.Write([]byte(st.prog))
	return h.Sum64()
}

// buildModel returns the Porcupine model and the events of the history,
// projected onto parts (keys) for the kv models.
func buildModel(name string, events []Event) (porcupine.Model, []porcupine.Event, int, error) {
	var initial val
	perKey, cas := false, false
	switch name {
	case "register":
	case "cas-register":
		cas = true
	case "kv":
		perKey, cas = true, true
	case "kv-append-per-key":
		perKey, cas = true, true
		initial = val{true, 's', ""}
	default:
		return porcupine.Model{}, nil, 0, fmt.Errorf("unknown model %q (register, cas-register, kv, kv-append-per-key)", name)
	}

	ops, err := pair(events)
	if err != nil {
		return porcupine.Model{}, nil, 0, err
	}
	// Every key the history names, for the keys a range covers.
	var keys []string
	if perKey {
		seen := map[string]bool{}
		for i := range ops {
			o := &ops[i]
			if !o.kept() {
				continue
			}
			for _, k := range o.keysTouched() {
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
	}

	type projected struct {
		in   *input
		out  val
		call int
		ret  int // -1: unknown outcome, returns after everything
	}
	var proj []projected
	batches := 0
	add := func(o *operation, in *input, out val) {
		if !perKey {
			in.part = ""
		}
		r := o.ret
		if o.outcome != "ok" {
			r = -1
			in.info = true
		}
		proj = append(proj, projected{in: in, out: out, call: o.call, ret: r})
	}
	for i := range ops {
		o := &ops[i]
		if !o.kept() {
			continue
		}
		part := ""
		if o.key != nil {
			part = *o.key
		}
		switch o.f {
		case "get", "read":
			add(o, &input{part: part, kind: opRead}, toVal(o.output))
		case "put", "write":
			add(o, &input{part: part, kind: opWrite, a: toVal(o.input)}, val{})
		case "delete":
			if !perKey {
				return porcupine.Model{}, nil, 0, fmt.Errorf("line %d: model %s cannot judge f=delete", o.line, name)
			}
			add(o, &input{part: part, kind: opWrite}, val{})
		case "append":
			if !perKey {
				return porcupine.Model{}, nil, 0, fmt.Errorf("line %d: model %s cannot judge f=append", o.line, name)
			}
			add(o, &input{part: part, kind: opAppend, a: toVal(o.input)}, val{})
		case "cas":
			if !cas {
				return porcupine.Model{}, nil, 0, fmt.Errorf("line %d: model %s cannot judge f=cas", o.line, name)
			}
			if o.input.Kind != 'l' || len(o.input.Items) != 2 {
				return porcupine.Model{}, nil, 0, fmt.Errorf("line %d: a cas value must be [expected new]", o.line)
			}
			in := &input{part: part, kind: opCas, a: toVal(o.input.Items[0]), b: toVal(o.input.Items[1])}
			in.compareNo = o.outcome == "ok" && o.result != nil && !*o.result
			add(o, in, val{})
		case "batch":
			if !perKey {
				return porcupine.Model{}, nil, 0, fmt.Errorf("line %d: model %s cannot judge f=batch", o.line, name)
			}
			recs, err := batchRecords(o)
			if err != nil {
				return porcupine.Model{}, nil, 0, err
			}
			batches++
			count := map[string]int{}
			for _, r := range recs {
				count[r.key]++
			}
			seq := map[string]int{}
			for _, r := range recs {
				seq[r.key]++
				in := &input{part: r.key, kind: r.kind, a: r.v}
				if count[r.key] > 1 {
					in.batch, in.seq, in.last = batches, seq[r.key], seq[r.key] == count[r.key]
				}
				add(o, in, val{})
			}
		case "range":
			if !perKey {
				return porcupine.Model{}, nil, 0, fmt.Errorf("line %d: model %s cannot judge f=range", o.line, name)
			}
			got, err := rangePairs(o)
			if err != nil {
				return porcupine.Model{}, nil, 0, err
			}
			for _, k := range rangeKeys(o, got, keys) {
				v, ok := got[k]
				if !ok {
					v = val{} // covered and not returned: absent
				}
				add(o, &input{part: k, kind: opRead}, v)
			}
		default:
			return porcupine.Model{}, nil, 0, fmt.Errorf("line %d: model %s cannot judge f=%s", o.line, name, o.f)
		}
	}

	// Compact mode: every value a history names gets a number.
	compact := true
	ids := map[val]int{initial: 0}
	intern := func(v val) int {
		id, ok := ids[v]
		if !ok {
			id = len(ids)
			ids[v] = id
		}
		return id
	}
	for _, p := range proj {
		if p.in.kind == opAppend || p.in.batch > 0 {
			compact = false
			break
		}
	}
	if compact {
		for i := range proj {
			p := &proj[i]
			p.in.ia, p.in.ib = intern(p.in.a), intern(p.in.b)
		}
	}
	outputOf := func(p projected) interface{} {
		if compact {
			return intern(p.out)
		}
		return p.out
	}

	// Events in history order; unknown outcomes return after everything.
	type ev struct {
		pos  int
		ret  bool
		id   int
		data interface{}
	}
	var evs []ev
	end := 2*len(events) + 1
	for id, p := range proj {
		evs = append(evs, ev{p.call, false, id, p.in})
		r := p.ret
		if r < 0 {
			r = end
		}
		evs = append(evs, ev{r, true, id, outputOf(p)})
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].pos != evs[j].pos {
			return evs[i].pos < evs[j].pos
		}
		return !evs[i].ret && evs[j].ret
	})
	out := make([]porcupine.Event, len(evs))
	for i, e := range evs {
		kind := porcupine.CallEvent
		if e.ret {
			kind = porcupine.ReturnEvent
		}
		out[i] = porcupine.Event{Kind: kind, Value: e.data, Id: e.id}
	}

	model := porcupine.Model{
		Init: func() interface{} { return state{v: initial} },
		Step: step,
		Hash: hashState,
		DescribeOperation: func(in, out interface{}) string {
			op := in.(*input)
			switch op.kind {
			case opRead:
				return fmt.Sprintf("read %s -> %v", op.part, out)
			case opWrite:
				return fmt.Sprintf("write %s %v", op.part, op.a)
			case opAppend:
				return fmt.Sprintf("append %s %v", op.part, op.a)
			}
			return fmt.Sprintf("cas %s [%v %v]", op.part, op.a, op.b)
		},
	}
	if compact {
		model.Init = func() interface{} { return 0 }
		model.Step = stepCompact
		model.Hash = func(s interface{}) uint64 { return uint64(s.(int)) * 0x9E3779B97F4A7C15 }
	}
	if perKey {
		model.PartitionEvent = func(history []porcupine.Event) [][]porcupine.Event {
			partOf := map[int]string{}
			byPart := map[string][]porcupine.Event{}
			var order []string
			for _, e := range history {
				var p string
				if e.Kind == porcupine.CallEvent {
					p = e.Value.(*input).part
					partOf[e.Id] = p
				} else {
					p = partOf[e.Id]
				}
				if _, ok := byPart[p]; !ok {
					order = append(order, p)
				}
				byPart[p] = append(byPart[p], e)
			}
			parts := make([][]porcupine.Event, 0, len(order))
			for _, p := range order {
				parts = append(parts, byPart[p])
			}
			return parts
		}
	}
	return model, out, len(ops), nil
}

// ---------------------------------------------------------------- pairing

type operation struct {
	process       int64
	f             string
	key           *string
	input, output Value
	outcome       string // ok, fail, info
	call, ret     int    // event positions
	result        *bool
	line          int
}

// kept: failed operations did not happen, and a read with an unknown outcome
// observed nothing we know.
func (o *operation) kept() bool {
	if o.outcome == "fail" {
		return false
	}
	isRead := o.f == "get" || o.f == "read" || o.f == "range"
	return !isRead || o.outcome == "ok"
}

func (o *operation) keysTouched() []string {
	var ks []string
	if o.key != nil {
		ks = append(ks, *o.key)
	}
	if o.f == "batch" {
		if recs, err := batchRecords(o); err == nil {
			for _, r := range recs {
				ks = append(ks, r.key)
			}
		}
	}
	if o.f == "range" && o.outcome == "ok" {
		if got, err := rangePairs(o); err == nil {
			for k := range got {
				ks = append(ks, k)
			}
		}
	}
	return ks
}

// pair matches each invocation with the next completion of its process.
func pair(events []Event) ([]operation, error) {
	var ops []operation
	pending := map[int64]int{}
	for pos, e := range events {
		switch e.Type {
		case "invoke":
			if _, busy := pending[e.Process]; busy {
				return nil, fmt.Errorf("line %d: process %d invokes while its previous operation is pending", e.Line, e.Process)
			}
			pending[e.Process] = len(ops)
			ops = append(ops, operation{process: e.Process, f: e.F, key: e.Key, input: e.Value, outcome: "info",
				call: pos, ret: -1, line: e.Line})
		case "ok", "fail", "info":
			i, busy := pending[e.Process]
			if !busy {
				return nil, fmt.Errorf("line %d: a completion of process %d without an invocation", e.Line, e.Process)
			}
			delete(pending, e.Process)
			o := &ops[i]
			o.outcome = e.Type
			if e.Type == "ok" {
				o.ret = pos
				o.output = e.Value
				o.result = e.Result
				if o.key == nil {
					o.key = e.Key
				}
			}
		default:
			return nil, fmt.Errorf("line %d: unknown type %q", e.Line, e.Type)
		}
	}
	return ops, nil
}

type record struct {
	key  string
	kind opKind // opWrite (put, delete: nil) or opAppend
	v    val
}

// batchRecords reads a batch's records: [{f, key, value}...]; f is put, write,
// delete or append.
func batchRecords(o *operation) ([]record, error) {
	list := o.input
	if o.outcome == "ok" && o.output.Kind == 'l' {
		list = o.output // the completion's list may add offsets
	}
	if list.Kind != 'l' {
		return nil, fmt.Errorf("line %d: a batch value must be a list of {f, key, value}", o.line)
	}
	var recs []record
	for _, it := range list.Items {
		f, _ := it.Field("f")
		k, okKey := it.Field("key")
		if !okKey || k.IsNil() {
			return nil, fmt.Errorf("line %d: a batch record has no key", o.line)
		}
		r := record{key: k.Text(), kind: opWrite}
		switch f.Text() {
		case "put", "write":
			v, _ := it.Field("value")
			r.v = toVal(v)
		case "append":
			v, _ := it.Field("value")
			r.v = toVal(v)
			r.kind = opAppend
		case "delete":
		default:
			return nil, fmt.Errorf("line %d: a batch record's f must be put, write, delete or append, not %q", o.line, f.Text())
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// rangePairs reads a range's result: [[key value]...].
func rangePairs(o *operation) (map[string]val, error) {
	got := map[string]val{}
	if o.output.IsNil() {
		return got, nil
	}
	if o.output.Kind != 'l' {
		return nil, fmt.Errorf("line %d: a range result must be a list of [key value]", o.line)
	}
	for _, p := range o.output.Items {
		if p.Kind != 'l' || len(p.Items) != 2 {
			return nil, fmt.Errorf("line %d: a range result must be a list of [key value]", o.line)
		}
		k := p.Items[0].Text()
		if _, twice := got[k]; twice {
			return nil, fmt.Errorf("line %d: a range result names key %q twice", o.line, k)
		}
		got[k] = toVal(p.Items[1])
	}
	return got, nil
}

// rangeKeys: the keys a range covers. The keys it returned, and every key
// the history names between its lower bound (the invocation's key, else the
// least key returned) and the greatest key returned: those read nil. A range
// that returned nothing covers no key (its upper bound is not recorded).
func rangeKeys(o *operation, got map[string]val, keys []string) []string {
	if len(got) == 0 {
		return nil
	}
	var out []string
	for k := range got {
		out = append(out, k)
	}
	sort.Strings(out)
	lo, hi := out[0], out[len(out)-1]
	if o.key != nil && *o.key < lo {
		lo = *o.key
	}
	for _, k := range keys {
		if _, returned := got[k]; !returned && k >= lo && k <= hi {
			out = append(out, k)
		}
	}
	return out
}
