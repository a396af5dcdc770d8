package main

// Reading histories: kvlog's JSONL, Jepsen EDN (one vector of op maps, or one
// op map per line) and Jepsen log lines. Written for this program; the
// semantics follow checker/README.md so the verdicts can be compared with
// kvcheck's.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Value is a history value: nil, bool, int, string, list or map.
type Value struct {
	Kind  byte // 'n' nil, 'b' bool, 'i' int, 's' string, 'l' list, 'm' map
	S     string
	I     int64
	Items []Value
	Keys  []string // map keys, parallel to Items
}

func (v Value) IsNil() bool { return v.Kind == 'n' || v.Kind == 0 }

// Text is the value as kvcheck's Value::ToString renders it: a string raw, an
// int in decimal, compounds bracketed.
func (v Value) Text() string {
	switch v.Kind {
	case 'b':
		if v.I != 0 {
			return "true"
		}
		return "false"
	case 'i':
		return strconv.FormatInt(v.I, 10)
	case 's':
		return v.S
	case 'l':
		parts := make([]string, len(v.Items))
		for i, e := range v.Items {
			parts[i] = e.Text()
		}
		return "[" + strings.Join(parts, " ") + "]"
	case 'm':
		parts := make([]string, len(v.Items))
		for i, e := range v.Items {
			parts[i] = v.Keys[i] + " " + e.Text()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "nil"
}

// Field returns a map value's entry.
func (v Value) Field(name string) (Value, bool) {
	if v.Kind != 'm' {
		return Value{}, false
	}
	for i, k := range v.Keys {
		if k == name {
			return v.Items[i], true
		}
	}
	return Value{}, false
}

// Event is one invocation or completion.
type Event struct {
	Process int64
	Type    string // invoke, ok, fail, info
	F       string
	Key     *string
	Value   Value
	Result  *bool // cas on ok: false = the compare failed
	Line    int
}

type parseError struct {
	line   int
	reason string
}

func (e *parseError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.reason) }

// ---------------------------------------------------------------- JSONL

func jsonToValue(x interface{}) (Value, error) {
	switch t := x.(type) {
	case nil:
		return Value{Kind: 'n'}, nil
	case bool:
		if t {
			return Value{Kind: 'b', I: 1}, nil
		}
		return Value{Kind: 'b'}, nil
	case json.Number:
		i, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("number %s is not a 64-bit integer", t)
		}
		return Value{Kind: 'i', I: i}, nil
	case string:
		return Value{Kind: 's', S: t}, nil
	case []interface{}:
		v := Value{Kind: 'l'}
		for _, e := range t {
			ev, err := jsonToValue(e)
			if err != nil {
				return Value{}, err
			}
			v.Items = append(v.Items, ev)
		}
		return v, nil
	case map[string]interface{}:
		v := Value{Kind: 'm'}
		for k, e := range t {
			ev, err := jsonToValue(e)
			if err != nil {
				return Value{}, err
			}
			v.Keys = append(v.Keys, k)
			v.Items = append(v.Items, ev)
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("unsupported JSON value %v", x)
}

func readJsonl(data []byte) ([]Event, error) {
	var events []Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var obj map[string]interface{}
		if err := dec.Decode(&obj); err != nil {
			return nil, &parseError{line, "not a JSON object: " + err.Error()}
		}
		if _, ok := obj["type"]; !ok {
			// final states, log records, metadata and fault actions: not operations.
			if obj["final"] != nil || obj["log"] != nil || obj["meta"] != nil || obj["nemesis"] != nil {
				continue
			}
			return nil, &parseError{line, "an event needs \"type\" (or the line must be final/log/meta/nemesis)"}
		}
		e := Event{Line: line}
		p, ok := obj["process"].(json.Number)
		if !ok {
			return nil, &parseError{line, "\"process\" must be an integer"}
		}
		pi, err := strconv.ParseInt(string(p), 10, 64)
		if err != nil {
			return nil, &parseError{line, "\"process\" must be an integer"}
		}
		e.Process = pi
		if e.Type, ok = obj["type"].(string); !ok {
			return nil, &parseError{line, "\"type\" must be a string"}
		}
		if e.F, ok = obj["f"].(string); !ok {
			return nil, &parseError{line, "\"f\" must be a string"}
		}
		if k, present := obj["key"]; present && k != nil {
			ks, ok := k.(string)
			if !ok {
				return nil, &parseError{line, "\"key\" must be a string"}
			}
			e.Key = &ks
		}
		if v, present := obj["value"]; present {
			if e.Value, err = jsonToValue(v); err != nil {
				return nil, &parseError{line, "value: " + err.Error()}
			}
		}
		if r, present := obj["result"]; present && r != nil {
			b, ok := r.(bool)
			if !ok {
				return nil, &parseError{line, "\"result\" must be a boolean"}
			}
			e.Result = &b
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return events, nil
}

// ---------------------------------------------------------------- EDN

type ednReader struct {
	text []byte
	pos  int
	line int
}

func (r *ednReader) fail(reason string) { panic(&parseError{r.line, reason}) }

func (r *ednReader) skipSpace() {
	for r.pos < len(r.text) {
		c := r.text[r.pos]
		switch {
		case c == '\n':
			r.line++
			r.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == ',':
			r.pos++
		case c == ';':
			for r.pos < len(r.text) && r.text[r.pos] != '\n' {
				r.pos++
			}
		default:
			return
		}
	}
}

func (r *ednReader) atEnd() bool {
	r.skipSpace()
	return r.pos >= len(r.text)
}

// ednForm is a parsed form; keywords are strings tagged with keyword=true.
type ednForm struct {
	v       Value
	keyword bool
	line    int
}

func isDelim(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '{' || c == '}' ||
		c == '[' || c == ']' || c == '(' || c == ')' || c == '"' || c == ';'
}

func (r *ednReader) read(depth int) ednForm {
	if depth > 32 {
		r.fail("forms nest too deep (limit 32)")
	}
	r.skipSpace()
	if r.pos >= len(r.text) {
		r.fail("unexpected end of input")
	}
	f := ednForm{line: r.line}
	c := r.text[r.pos]
	switch c {
	case '{', '[', '(':
		close := map[byte]byte{'{': '}', '[': ']', '(': ')'}[c]
		r.pos++
		var items []ednForm
		for {
			r.skipSpace()
			if r.pos >= len(r.text) {
				r.fail("missing '" + string(close) + "'")
			}
			if r.text[r.pos] == close {
				r.pos++
				break
			}
			items = append(items, r.read(depth+1))
		}
		if c == '{' {
			if len(items)%2 != 0 {
				r.fail("map has a key without a value")
			}
			f.v.Kind = 'm'
			for i := 0; i < len(items); i += 2 {
				f.v.Keys = append(f.v.Keys, items[i].v.Text())
				f.v.Items = append(f.v.Items, items[i+1].v)
			}
		} else {
			f.v.Kind = 'l'
			for _, it := range items {
				f.v.Items = append(f.v.Items, it.v)
			}
		}
		return f
	case '"':
		r.pos++
		var sb strings.Builder
		for {
			if r.pos >= len(r.text) {
				r.fail("unterminated string")
			}
			ch := r.text[r.pos]
			r.pos++
			if ch == '"' {
				break
			}
			if ch == '\n' {
				r.line++
			}
			if ch != '\\' {
				sb.WriteByte(ch)
				continue
			}
			if r.pos >= len(r.text) {
				r.fail("unterminated string")
			}
			esc := r.text[r.pos]
			r.pos++
			switch esc {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case '"', '\\':
				sb.WriteByte(esc)
			case 'u':
				if r.pos+4 > len(r.text) {
					r.fail("short \\u escape")
				}
				cp, err := strconv.ParseUint(string(r.text[r.pos:r.pos+4]), 16, 32)
				if err != nil {
					r.fail("bad \\u escape")
				}
				r.pos += 4
				sb.WriteRune(rune(cp))
			default:
				r.fail("unsupported string escape \\" + string(esc))
			}
		}
		f.v = Value{Kind: 's', S: sb.String()}
		return f
	}
	start := r.pos
	for r.pos < len(r.text) && !isDelim(r.text[r.pos]) {
		r.pos++
	}
	tok := string(r.text[start:r.pos])
	switch {
	case tok == "":
		r.fail("unexpected character '" + string(c) + "'")
	case tok[0] == ':':
		f.v = Value{Kind: 's', S: tok[1:]}
		f.keyword = true
	case tok == "nil":
		f.v = Value{Kind: 'n'}
	case tok == "true" || tok == "false":
		f.v = Value{Kind: 'b'}
		if tok == "true" {
			f.v.I = 1
		}
	case (tok[0] >= '0' && tok[0] <= '9') || ((tok[0] == '-' || tok[0] == '+') && len(tok) > 1):
		i, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(tok, "+"), "N"), 10, 64)
		if err != nil {
			r.fail("unsupported number '" + tok + "'")
		}
		f.v = Value{Kind: 'i', I: i}
	default:
		f.v = Value{Kind: 's', S: tok} // a symbol
	}
	return f
}

func ednOp(m Value, line int) (Event, bool, error) {
	e := Event{Line: line}
	if m.Kind != 'm' {
		return e, false, &parseError{line, "an op must be a map"}
	}
	p, ok := m.Field("process")
	if !ok {
		return e, false, &parseError{line, "op has no :process"}
	}
	if p.Kind == 's' && p.S == "nemesis" {
		return e, false, nil
	}
	if p.Kind != 'i' {
		return e, false, &parseError{line, ":process must be an integer or :nemesis"}
	}
	e.Process = p.I
	t, ok := m.Field("type")
	if !ok || t.Kind != 's' {
		return e, false, &parseError{line, "op has no :type"}
	}
	e.Type = t.S
	f, ok := m.Field("f")
	if !ok || f.Kind != 's' {
		return e, false, &parseError{line, "op has no :f"}
	}
	e.F = f.S
	if k, ok := m.Field("key"); ok && !k.IsNil() {
		s := k.Text()
		e.Key = &s
	}
	if v, ok := m.Field("value"); ok {
		e.Value = v
	}
	return e, true, nil
}

func readEdn(data []byte) (events []Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			pe, ok := p.(*parseError)
			if !ok {
				panic(p)
			}
			err = pe
		}
	}()
	r := &ednReader{text: data, line: 1}
	var top []ednForm
	for !r.atEnd() {
		top = append(top, r.read(0))
	}
	type op struct {
		v    Value
		line int
	}
	var ops []op
	if len(top) == 1 && top[0].v.Kind == 'l' {
		// One vector of ops: lines are not kept per element; count from the form.
		for _, it := range top[0].v.Items {
			ops = append(ops, op{it, top[0].line})
		}
	} else {
		for _, t := range top {
			ops = append(ops, op{t.v, t.line})
		}
	}
	for _, o := range ops {
		e, keep, err := ednOp(o.v, o.line)
		if err != nil {
			return nil, err
		}
		if keep {
			events = append(events, e)
		}
	}
	return events, nil
}

// ---------------------------------------------------------------- Jepsen log

func readJepsenLog(data []byte) ([]Event, error) {
	var events []Event
	const marker = "jepsen.util - "
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		if strings.TrimSpace(raw) == "" {
			continue
		}
		at := strings.Index(raw, marker)
		if at < 0 {
			return nil, &parseError{line, "not a Jepsen log line (no \"jepsen.util - \")"}
		}
		rest := raw[at+len(marker):]
		fields := strings.Fields(rest)
		if len(fields) < 3 {
			return nil, &parseError{line, "expected process, type, f and value"}
		}
		if fields[0] == ":nemesis" {
			continue
		}
		p, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return nil, &parseError{line, "process '" + fields[0] + "' is not an integer"}
		}
		if !strings.HasPrefix(fields[1], ":") || !strings.HasPrefix(fields[2], ":") {
			return nil, &parseError{line, "type and f must be keywords"}
		}
		e := Event{Process: p, Type: fields[1][1:], F: fields[2][1:], Line: line}
		// The value: everything after the third field.
		idx := strings.Index(rest, fields[2]) + len(fields[2])
		if v := strings.TrimSpace(rest[idx:]); v != "" {
			r := &ednReader{text: []byte(v), line: line}
			var perr error
			func() {
				defer func() {
					if x := recover(); x != nil {
						if pe, ok := x.(*parseError); ok {
							perr = pe
							return
						}
						panic(x)
					}
				}()
				e.Value = r.read(0).v
				if !r.atEnd() {
					r.fail("trailing text after the value")
				}
			}()
			if perr != nil {
				return nil, perr
			}
		}
		if e.Type == "fail" && e.F == "cas" {
			// Porcupine's etcd semantics: the compare failed, an observation.
			e.Type = "ok"
			f := false
			e.Result = &f
		}
		events = append(events, e)
	}
	return events, nil
}

// ---------------------------------------------------------------- files

func sniff(data []byte) string {
	t := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(t) == 0:
		return "jsonl"
	case t[0] == '[' || t[0] == ';' || (t[0] == '{' && len(t) > 1 && bytes.HasPrefix(bytes.TrimLeft(t[1:], " \t"), []byte(":"))):
		return "edn"
	case t[0] == '{':
		return "jsonl"
	}
	return "jepsen-log"
}

func readHistory(path, format string) ([]Event, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	if format == "" || format == "auto" {
		format = sniff(data)
	}
	var events []Event
	switch format {
	case "jsonl":
		events, err = readJsonl(data)
	case "edn", "jepsen-edn", "jepsen-edn-lines":
		events, err = readEdn(data)
	case "jepsen-log":
		events, err = readJepsenLog(data)
	default:
		return nil, "", fmt.Errorf("unknown format %q (jsonl, edn, jepsen-log)", format)
	}
	if pe, ok := err.(*parseError); ok {
		return nil, "", fmt.Errorf("%s:%d: %s", path, pe.line, pe.reason)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", path, err)
	}
	return events, format, nil
}
