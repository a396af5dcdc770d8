// porcupine-oracle: checks histories for linearizability with Porcupine
// (github.com/anishathalye/porcupine), so kvlog's own checker (kvcheck) can be
// compared with another implementation on the same files.
//
//	porcupine-oracle [-model M] [-format F] [-timeout-ms N] FILE...
//
// Formats: jsonl (kvlog's history format, checker/README.md), edn (Jepsen EDN:
// one vector of op maps, or one op map per line), jepsen-log (Jepsen log
// lines); default: guessed from each file's content. Models: register,
// cas-register, kv, kv-append-per-key (see model.go); default: kv for JSONL,
// else kv if operations carry keys, cas-register if there is a cas, else
// register.
//
// One line per file, tab-separated:
//
//	VERDICT  ANALYSIS_US  OPERATIONS  MODEL  FILE
//
// VERDICT is linearizable, not-linearizable, unknown (the time limit ran out)
// or error (followed by the reason). ANALYSIS_US is the time Porcupine's check
// took, in microseconds: reading and pairing the file are not included.
// Exit status: 0 if every file is linearizable, 1 if any is not (and none is
// unknown or an error), 2 otherwise.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

func guessModel(format string, events []Event) string {
	if format == "jsonl" {
		return "kv"
	}
	hasCas := false
	for _, e := range events {
		if e.Key != nil {
			return "kv"
		}
		if e.F == "cas" {
			hasCas = true
		}
	}
	if hasCas {
		return "cas-register"
	}
	return "register"
}

func main() {
	model := flag.String("model", "", "register | cas-register | kv | kv-append-per-key (default: guessed)")
	format := flag.String("format", "auto", "jsonl | edn | jepsen-log | auto")
	timeoutMs := flag.Int64("timeout-ms", 60000, "time limit per file; 0 = none")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: porcupine-oracle [-model M] [-format F] [-timeout-ms N] FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *timeoutMs < 0 {
		fmt.Fprintf(os.Stderr, "porcupine-oracle: -timeout-ms must be >= 0, not %d\n", *timeoutMs)
		os.Exit(2)
	}
	anyNot, anyBad := false, false
	for _, path := range flag.Args() {
		events, fmtUsed, err := readHistory(path, *format)
		if err != nil {
			fmt.Printf("error\t0\t0\t-\t%s\t%v\n", path, err)
			anyBad = true
			continue
		}
		name := *model
		if name == "" {
			name = guessModel(fmtUsed, events)
		}
		m, history, nops, err := buildModel(name, events)
		if err != nil {
			fmt.Printf("error\t0\t0\t%s\t%s\t%s: %v\n", name, path, path, err)
			anyBad = true
			continue
		}
		start := time.Now()
		res := porcupine.CheckEventsTimeout(m, history, time.Duration(*timeoutMs)*time.Millisecond)
		us := time.Since(start).Microseconds()
		verdict := "unknown"
		switch res {
		case porcupine.Ok:
			verdict = "linearizable"
		case porcupine.Illegal:
			verdict = "not-linearizable"
			anyNot = true
		default:
			anyBad = true
		}
		fmt.Printf("%s\t%d\t%d\t%s\t%s\n", verdict, us, nops, name, path)
	}
	switch {
	case anyBad:
		os.Exit(2)
	case anyNot:
		os.Exit(1)
	}
}
