// ReadJsonlFile on two threads (JsonlReadOptions::threads): the file is read
// in two parts at once and the parts joined. The history must be the one a
// single reader gives, and so must every error, wherever the split falls:
// each case is read with one thread and then with two, split at every line
// (or a spread of lines), and the results compared. PairOperations on two
// threads (the same join, on a history's events) is held to the same.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "checker/history.h"
#include "checker/jsonl.h"
#include "checker/testing/generate.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return fmt::format("{}/{}", dir ? dir : "/tmp", name);
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

struct Read {
  Result<History> history;
  int parts = 0;
};

Read ReadFile(const std::string& path, int threads, uint64_t split_at) {
  JsonlReadOptions options;
  options.pair_events = true;
  options.threads = threads;
  options.parallel_min_bytes = 0;
  options.split_at = split_at;
  Read r{MakeError("", 0, "not read"), 0};
  options.parts = &r.parts;
  r.history = ReadJsonlFile(path, options);
  return r;
}

std::string Opt(const std::optional<int64_t>& v) { return v ? fmt::format("{}", *v) : "-"; }
std::string Opt(const OptionalString& v) { return v.value_or("-"); }

// Every field of each operation.
std::string DumpOps(const std::vector<Operation>& ops) {
  std::string out;
  for (const Operation& o : ops) {
    out += fmt::format(
        "op {} p{} {} key={} in={} out={} {} call={} ret={} t={}/{} offset={} applied={} replica={} id={} "
        "result={} level={} bound={} line={}\n",
        o.index, o.process, o.f, Opt(o.key), o.input.ToString(), o.output.ToString(), EventTypeName(o.outcome),
        o.call, o.ret, Opt(o.call_time), Opt(o.ret_time), Opt(o.offset), Opt(o.applied), Opt(o.replica), Opt(o.op),
        o.result ? (*o.result ? "true" : "false") : "-", o.level.value_or("-"), Opt(o.bound), o.line);
  }
  return out;
}

// Everything a history read with pair_events holds, and where it was read.
std::string Dump(const History& h) {
  std::string out = DumpOps(*h.ops);
  for (const LogRecord& r : h.log) out += fmt::format("{} {}\n", r.line, LogRecordToJsonl(r));
  for (const NemesisEvent& n : h.nemesis) {
    out += fmt::format("{} at {} {}\n", n.line, n.position, NemesisToJsonl(n));
  }
  for (const FinalState& f : h.finals) out += fmt::format("{} {}\n", f.line, FinalToJsonl(f));
  if (h.expiry) out += fmt::format("{} {}\n", h.expiry->line, ExpiryToJsonl(*h.expiry));
  out += fmt::format("has_log {}\n", h.has_log ? 1 : 0);
  if (h.op_kinds) out += fmt::format("kinds transfer={} incr={}\n", h.op_kinds->transfer, h.op_kinds->incr);
  return out;
}

std::string Outcome(const Result<History>& h) { return h ? Dump(*h) : "error: " + h.error().ToString(); }

// The byte offsets at which each line of `text` after the first starts.
std::vector<uint64_t> LineStarts(const std::string& text) {
  std::vector<uint64_t> starts;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '\n') starts.push_back(i + 1);
  }
  return starts;
}

// Reads `text` with one thread, then with two split at (a spread of at most
// `max_splits` of) its line starts and just before and after each: the same
// outcome every time. Returns the one-thread outcome; `joined` counts the
// reads that really ran in two parts.
std::string ExpectSameOutcome(const std::string& text, size_t max_splits = 1000, int* joined = nullptr) {
  const std::string path = TempPath("parallel.jsonl");
  WriteText(path, text);
  const Read one = ReadFile(path, 1, 0);
  EXPECT_EQ(one.parts, 1);
  const std::string expected = Outcome(one.history);
  const std::vector<uint64_t> starts = LineStarts(text);
  const size_t step = std::max<size_t>(1, starts.size() / max_splits);
  int two_parts = 0;
  for (size_t i = 0; i < starts.size(); i += step) {
    for (uint64_t split : {starts[i] - 1, starts[i], starts[i] + 1}) {
      if (split == 0) continue;
      const Read two = ReadFile(path, 2, split);
      EXPECT_EQ(Outcome(two.history), expected) << "split at byte " << split << " of:\n" << text;
      if (two.parts == 2) ++two_parts;
    }
  }
  if (joined) *joined = two_parts;
  return expected;
}

// A small history in kvsim's shapes: operations open across any split, a
// range, a batch whose records share an offset, a nemesis line, blank lines,
// the log (meta first), final states.
const char* const kHistory =
    R"({"meta":{"seed":1,"log_captured":true}}
{"f":"put","key":"k1","op":"p0-0","process":0,"replica":"c0","time":10,"type":"invoke","value":"v0-0"}
{"f":"range","key":"k0","op":"p1-0","process":1,"replica":"c1","time":11,"type":"invoke","value":null}
{"f":"put","key":"k1","offset":0,"op":"p0-0","process":0,"replica":"c0","time":20,"type":"ok","value":"v0-0"}
{"nemesis":{"type":"info","f":"start","value":"partition","time":21}}

{"f":"batch","op":"p2-0","process":2,"replica":"c2","time":22,"type":"invoke","value":[{"f":"put","key":"k2","value":"v2-0.0"},{"f":"delete","key":"k3"}]}
{"applied":1,"f":"range","key":"k0","op":"p1-0","process":1,"replica":"c1","time":30,"type":"ok","value":[["k1","v0-0"]]}
{"f":"get","key":"k1","level":"bounded","bound":2,"op":"p0-1","process":0,"replica":"c0","time":31,"type":"invoke","value":null}
{"f":"batch","offset":1,"op":"p2-0","process":2,"replica":"c2","time":40,"type":"ok","value":[{"f":"put","key":"k2","value":"v2-0.0","offset":1},{"f":"delete","key":"k3","offset":1}]}
{"applied":2,"f":"get","key":"k1","op":"p0-1","process":0,"replica":"c0","time":41,"type":"ok","value":"v0-0"}
{"f":"cas","key":"k2","op":"p1-1","process":1,"replica":"c1","time":42,"type":"invoke","value":["v2-0.0","v1-1"]}
{"f":"put","key":"k3","op":"p2-1","process":2,"replica":"c2","time":43,"type":"invoke","value":"v2-1"}
{"f":"cas","key":"k2","op":"p1-1","process":1,"replica":"c1","result":false,"time":50,"type":"fail","value":["v2-0.0","v1-1"]}
{"nemesis":{"type":"info","f":"stop","value":"partition","time":51}}
{"f":"put","key":"k3","op":"p2-1","process":2,"replica":"c2","time":52,"type":"info","value":"v2-1"}
{"f":"delete","key":"k1","op":"p3-0","process":3,"replica":"c0","time":53,"type":"invoke","value":null}
{"log":{"f":"put","key":"k1","offset":0,"op":"p0-0","value":"v0-0","writer":"c0"}}
{"log":{"f":"put","key":"k2","offset":1,"op":"p2-0","value":"v2-0.0","writer":"c2"}}
{"log":{"f":"delete","key":"k3","offset":1,"op":"p2-0","writer":"c2"}}
{"log":{"f":"put","key":"k3","offset":2,"op":"p2-1","value":"v2-1","writer":"c2"}}
{"final":{"replica":"c0","applied":3,"digest":"0000000000000000"}}
{"final":{"replica":"c1","applied":3,"digest":"0000000000000000"}}
)";

TEST(JsonlParallel, ReadsTheSameHistoryWhereverTheSplitFalls) {
  int joined = 0;
  const std::string outcome = ExpectSameOutcome(kHistory, 1000, &joined);
  EXPECT_EQ(outcome.rfind("error", 0), std::string::npos) << outcome;
  // Most splits are really read in two parts (not read again whole).
  EXPECT_GT(joined, 40) << outcome;
  // Without a newline at the end, and with an expiry line in the later part.
  std::string text = kHistory;
  text += R"({"expiry":{"skew_bound":5,"reclaimed_before":90}})";
  ExpectSameOutcome(text);
}

// The functions the operations use (History::op_kinds, which choose the
// default checks) are both parts' together, wherever the one transfer or
// incr falls.
TEST(JsonlParallel, NotesATransferOrIncrInEitherPart) {
  const std::string text = kHistory;
  const size_t log = text.find("{\"log\"");
  ASSERT_NE(log, std::string::npos);
  const std::string before = text.substr(0, log), after = text.substr(log);
  const std::string incr =
      R"({"f":"incr","key":"c","op":"p4-0","process":4,"replica":"c1","time":60,"type":"invoke","value":1})" "\n"
      R"({"f":"incr","key":"c","op":"p4-0","process":4,"replica":"c1","time":61,"type":"ok","value":1})" "\n";
  const std::string transfer =
      R"({"f":"transfer","op":"p5-0","process":5,"replica":"c1","time":62,"type":"invoke","value":null})" "\n";
  EXPECT_NE(ExpectSameOutcome(text).find("kinds transfer=false incr=false"), std::string::npos);
  EXPECT_NE(ExpectSameOutcome(before + incr + after).find("kinds transfer=false incr=true"), std::string::npos);
  EXPECT_NE(ExpectSameOutcome(incr + before + after).find("kinds transfer=false incr=true"), std::string::npos);
  EXPECT_NE(ExpectSameOutcome(transfer + before + after).find("kinds transfer=true incr=false"), std::string::npos);
  EXPECT_NE(ExpectSameOutcome(before + incr + transfer + after).find("kinds transfer=true incr=true"),
            std::string::npos);
}

// A generated history in kvsim's shapes, ranges included (seed 7).
History GeneratedWithRanges(size_t operations) {
  testing::GenerateOptions g;
  g.seed = 7;
  g.operations = operations;
  g.replicas = 5;
  g.keys = 12;
  g.range_percent = 10;
  return testing::GenerateKvHistory(g);
}

TEST(JsonlParallel, ReadsAGeneratedHistoryWithRangesAsOneReaderDoes) {
  const History h = GeneratedWithRanges(800);
  int joined = 0;
  ExpectSameOutcome(WriteJsonl(h), 30, &joined);
  EXPECT_GT(joined, 45);
}

TEST(JsonlParallel, SmallFilesAndOneThreadAreReadWhole) {
  const std::string path = TempPath("small.jsonl");
  WriteText(path, kHistory);
  JsonlReadOptions options;
  options.pair_events = true;
  options.threads = 2;  // parallel_min_bytes left at its default: too small a file
  int parts = 0;
  options.parts = &parts;
  ASSERT_TRUE(ReadJsonlFile(path, options).has_value());
  EXPECT_EQ(parts, 1);
  options.parallel_min_bytes = 0;
  ASSERT_TRUE(ReadJsonlFile(path, options).has_value());
  EXPECT_EQ(parts, 2);
  options.threads = 1;
  ASSERT_TRUE(ReadJsonlFile(path, options).has_value());
  EXPECT_EQ(parts, 1);
}

// Replaces line `n` (from 1) of kHistory.
std::string WithLine(int n, const std::string& line) {
  std::string text = kHistory;
  size_t start = 0;
  for (int i = 1; i < n; ++i) start = text.find('\n', start) + 1;
  const size_t end = text.find('\n', start);
  return text.substr(0, start) + line + text.substr(end);
}

// Each malformed case gives one reader's error, naming its line, wherever
// the split falls (before, at or after the bad line, or between the two
// lines that only together are an error).
void ExpectSameError(const std::string& text, int line, const std::string& reason_part) {
  const std::string outcome = ExpectSameOutcome(text);
  EXPECT_NE(outcome.find(fmt::format("parallel.jsonl:{}:", line)), std::string::npos)
      << outcome << "\nexpected an error at line " << line;
  EXPECT_NE(outcome.find(reason_part), std::string::npos) << outcome << "\nexpected to mention: " << reason_part;
}

TEST(JsonlParallel, MalformedLinesGiveOneReadersErrorNamingTheLine) {
  // Not JSON, in the later part of most splits.
  ExpectSameError(WithLine(20, R"({"log":{"f":"put","key":"k3",)"), 20, "invalid JSON");
  // Not JSON, early.
  ExpectSameError(WithLine(3, "nonsense"), 3, "invalid JSON");
  // An unknown f.
  ExpectSameError(WithLine(17, R"({"f":"frobnicate","key":"k1","process":3,"type":"invoke","value":null})"), 17,
                  "unknown f 'frobnicate'");
  // A completion whose invocation never happened (process 9).
  ExpectSameError(WithLine(16, R"({"f":"put","key":"k3","process":9,"type":"ok","value":"v2-1"})"), 16,
                  "completion for process 9 that has no pending invocation");
  // A second invocation while the first (line 2) is pending, split between.
  ExpectSameError(WithLine(4, R"({"f":"put","key":"k1","process":0,"type":"invoke","value":"v0-9"})"), 4,
                  "invokes while its operation from line 2 is still pending");
  // The same where the later part alone is well formed (its invocation
  // completes in it, and it completes the earlier part's other pending
  // operation): only the join can tell.
  ExpectSameError(R"({"f":"put","key":"k1","process":0,"type":"invoke","value":"a"}
{"f":"put","key":"k2","process":1,"type":"invoke","value":"b"}
{"f":"put","key":"k1","process":0,"type":"invoke","value":"c"}
{"f":"put","key":"k1","process":0,"type":"ok","value":"c"}
{"f":"put","key":"k2","process":1,"type":"ok","value":"b"}
)",
                  3, "process 0 invokes while its operation from line 1 is still pending");
  // A completion whose f is not its invocation's (line 3), split between.
  ExpectSameError(WithLine(8, R"({"f":"get","key":"k0","process":1,"type":"ok","value":null})"), 8,
                  "does not match invocation f 'range' (line 3)");
  // Two completions of one invocation (line 2), split between them.
  ExpectSameError(WithLine(6, R"({"f":"put","key":"k1","process":0,"type":"ok","value":"v0-0"})"), 6,
                  "completion for process 0 that has no pending invocation");
  // A log offset that goes back, and a key repeated at one offset.
  ExpectSameError(WithLine(21, R"({"log":{"f":"put","key":"k3","offset":0,"value":"v2-1","writer":"c2"}})"), 21,
                  "log offset 0 does not increase");
  ExpectSameError(WithLine(21, R"({"log":{"f":"put","key":"k2","offset":1,"value":"v2-1","writer":"c2"}})"), 21,
                  "key k2 repeats");
  // A second expiry line.
  std::string text = WithLine(5, R"({"expiry":{"skew_bound":5}})");
  text += R"({"expiry":{"skew_bound":6}})";
  text += "\n";
  ExpectSameError(text, 24, "a second \"expiry\" line (the first is line 5)");
}

// The events of `text` (read without pairing them).
History Events(const std::string& text) {
  const std::string path = TempPath("events.jsonl");
  WriteText(path, text);
  JsonlReadOptions options;
  options.pair_events = false;
  Result<History> h = ReadJsonlFile(path, options);
  EXPECT_TRUE(h.has_value()) << h.error().ToString();
  return h ? std::move(*h) : History{};
}

std::string PairOutcome(const History& h, int threads) {
  Result<std::vector<Operation>> ops = PairOperations(h, threads, /*parallel_min_events=*/0);
  return ops ? DumpOps(*ops) : "error: " + ops.error().ToString();
}

// PairOperations on two threads splits the events in half: each prefix of
// the events (so a split after each event) pairs as on one thread, and
// fails with one thread's error.
void ExpectSamePairing(const History& whole) {
  for (size_t n = 0; n <= whole.events.size(); ++n) {
    History h;
    h.source = "events.jsonl";
    h.events.assign(whole.events.begin(), whole.events.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(PairOutcome(h, 2), PairOutcome(h, 1)) << "the first " << n << " events";
  }
}

TEST(PairOperationsParallel, PairsEveryPrefixAsOneThreadDoes) {
  const History h = Events(kHistory);
  ASSERT_GT(h.events.size(), 10u);
  ExpectSamePairing(h);
  ExpectSamePairing(GeneratedWithRanges(300));
  // The operations really are what the events say (not two equal wrong
  // answers): the range (line 3, event 1) completes at event 4 (line 8),
  // with its pair.
  Result<std::vector<Operation>> ops = PairOperations(h, 2, 0);
  ASSERT_TRUE(ops.has_value());
  EXPECT_EQ((*ops)[1].f, "range");
  EXPECT_EQ((*ops)[1].line, 3);
  EXPECT_EQ((*ops)[1].call, 1);
  EXPECT_EQ((*ops)[1].ret, 4);
  ASSERT_EQ((*ops)[1].output.items().size(), 1u);
  EXPECT_EQ((*ops)[1].output.items()[0].items()[1].as_string(), "v0-0");
}

TEST(PairOperationsParallel, GivesOneThreadsErrorWhereverTheSplitFalls) {
  // A completion with no invocation; a second invocation while one is
  // pending, with and without the later part alone being well formed; a
  // completion whose f is not its invocation's; two completions of one
  // invocation; an unknown f.
  for (const std::string& text : {
           WithLine(16, R"({"f":"put","key":"k3","process":9,"type":"ok","value":"v2-1"})"),
           WithLine(4, R"({"f":"put","key":"k1","process":0,"type":"invoke","value":"v0-9"})"),
           std::string(R"({"f":"put","key":"k1","process":0,"type":"invoke","value":"a"}
{"f":"put","key":"k2","process":1,"type":"invoke","value":"b"}
{"f":"put","key":"k1","process":0,"type":"invoke","value":"c"}
{"f":"put","key":"k1","process":0,"type":"ok","value":"c"}
{"f":"put","key":"k2","process":1,"type":"ok","value":"b"}
)"),
           WithLine(8, R"({"f":"get","key":"k0","process":1,"type":"ok","value":null})"),
           WithLine(6, R"({"f":"put","key":"k1","process":0,"type":"ok","value":"v0-0"})"),
       }) {
    const History h = Events(text);
    ExpectSamePairing(h);
    EXPECT_EQ(PairOutcome(h, 2).rfind("error: ", 0), 0u) << text;
  }
}

}  // namespace
}  // namespace kvlog::checker
