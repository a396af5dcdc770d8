// Each checker fires on a history built to violate it and passes the same
// history with the violation removed: hand-made small cases, then generated
// ones (RapidCheck).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checker/check.h"
#include "checker/convergence.h"
#include "checker/digest.h"
#include "checker/jsonl.h"
#include "checker/session.h"
#include "checker/testing/generate.h"
#include "checker/writes.h"
#include "gtest/gtest.h"
#include "rapidcheck/gtest.h"

namespace kvlog::checker {
namespace {

// Parses hand-written JSONL (so the tests also exercise the native format).
History Jsonl(const std::string& text) {
  auto h = ParseJsonl(text, "test.jsonl");
  EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().ToString());
  return h ? *h : History{};
}

const CheckReport& Report(const FullReport& r, const std::string& checker) {
  for (const auto& c : r.reports) {
    if (c.checker == checker) return c;
  }
  static CheckReport none;
  ADD_FAILURE() << "no report for " << checker;
  return none;
}

FullReport Check(const History& h, std::vector<std::string> checks, std::string model = "") {
  CheckOptions o;
  o.checks = std::move(checks);
  o.model = std::move(model);
  auto r = CheckHistory(h, Format::kJsonl, o);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
  return r ? *r : FullReport{};
}

bool HasKind(const CheckReport& c, const std::string& kind) {
  return std::any_of(c.violations.begin(), c.violations.end(), [&](const Violation& v) { return v.kind == kind; });
}

// --- linearizability, hand-made -------------------------------------------

constexpr char kStaleRead[] = R"(
{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":VALUE}
)";

std::string With(std::string text, const std::string& value) {
  text.replace(text.find("VALUE"), 5, value);
  return text;
}

TEST(Linearizability, ReadAfterCompletedWriteMustSeeIt) {
  auto bad = Check(Jsonl(With(kStaleRead, "null")), {"linearizability"}, "register");
  EXPECT_EQ(Report(bad, "linearizability").verdict, Verdict::kInvalid);
  ASSERT_TRUE(bad.linearizability->witness);
  EXPECT_EQ(bad.ops[bad.linearizability->witness->blocking_op].f, "read");
  EXPECT_EQ(bad.linearizability->witness->prefix.size(), 1u);  // the write
  auto good = Check(Jsonl(With(kStaleRead, "1")), {"linearizability"}, "register");
  EXPECT_EQ(Report(good, "linearizability").verdict, Verdict::kValid);
}

TEST(Linearizability, ConcurrentOperationsMayReorder) {
  // The read overlaps the write: it may see either value.
  for (const char* v : {"null", "1"}) {
    std::string text = std::string(R"({"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":)") + v + R"(}
{"process":0,"type":"ok","f":"write","value":1}
)";
    EXPECT_EQ(Report(Check(Jsonl(text), {"linearizability"}, "register"), "linearizability").verdict,
              Verdict::kValid)
        << v;
  }
}

TEST(Linearizability, InfoMayTakeEffectLaterOrNever) {
  const std::string base = R"({"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"info","f":"write","value":1}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":null}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":1}
)";
  EXPECT_EQ(Report(Check(Jsonl(base), {"linearizability"}, "register"), "linearizability").verdict, Verdict::kValid);
  // Going back to nil after seeing 1 is impossible.
  auto bad = Check(Jsonl(base + R"({"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":null}
)"),
                   {"linearizability"}, "register");
  EXPECT_EQ(Report(bad, "linearizability").verdict, Verdict::kInvalid);
  // A failed write never happened.
  auto failed = Check(Jsonl(R"({"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"fail","f":"write","value":1}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":1}
)"),
                      {"linearizability"}, "register");
  EXPECT_EQ(Report(failed, "linearizability").verdict, Verdict::kInvalid);
}

TEST(Linearizability, KvModelChecksEachKeyAndCas) {
  const std::string text = R"({"process":0,"type":"invoke","f":"put","key":"a","value":"x"}
{"process":0,"type":"ok","f":"put","key":"a","value":"x"}
{"process":1,"type":"invoke","f":"put","key":"b","value":"y"}
{"process":1,"type":"ok","f":"put","key":"b","value":"y"}
{"process":0,"type":"invoke","f":"cas","key":"a","value":["x","z"]}
{"process":0,"type":"ok","f":"cas","key":"a","value":["x","z"]}
{"process":1,"type":"invoke","f":"append","key":"b","value":"!"}
{"process":1,"type":"ok","f":"append","key":"b","value":"!"}
{"process":2,"type":"invoke","f":"get","key":"b"}
{"process":2,"type":"ok","f":"get","key":"b","value":"y!"}
{"process":2,"type":"invoke","f":"delete","key":"a"}
{"process":2,"type":"ok","f":"delete","key":"a"}
{"process":2,"type":"invoke","f":"get","key":"a"}
{"process":2,"type":"ok","f":"get","key":"a","value":READ}
)";
  std::string good_text = text;
  good_text.replace(good_text.find("READ"), 4, "null");
  auto good = Check(Jsonl(good_text), {"linearizability"}, "kv");
  EXPECT_EQ(Report(good, "linearizability").verdict, Verdict::kValid);
  EXPECT_EQ(good.linearizability->parts, 2u);
  std::string bad_text = text;
  bad_text.replace(bad_text.find("READ"), 4, "\"z\"");
  auto bad = Check(Jsonl(bad_text), {"linearizability"}, "kv");
  EXPECT_EQ(Report(bad, "linearizability").verdict, Verdict::kInvalid);
  EXPECT_EQ(bad.linearizability->witness->part, "a");
}

TEST(Linearizability, OperationsTheModelCannotJudgeGiveUnknown) {
  auto r = Check(Jsonl(R"({"process":0,"type":"invoke","f":"batch","value":[{"f":"put","key":"a","value":"x"}]}
{"process":0,"type":"ok","f":"batch","value":[{"f":"put","key":"a","value":"x"}]}
)"),
                 {"linearizability"}, "register");
  EXPECT_EQ(Report(r, "linearizability").verdict, Verdict::kUnknown);
  EXPECT_NE(r.linearizability->detail.find("f=batch"), std::string::npos);
}

TEST(Linearizability, ParallelPartsGiveTheSameVerdicts) {
  // Many keys, one of them broken: the verdict and the key must not depend on
  // the number of workers.
  std::string text;
  for (int k = 0; k < 40; ++k) {
    const std::string key = std::to_string(k);
    text += R"({"process":0,"type":"invoke","f":"put","key":")" + key + R"(","value":"v)" + key + "\"}\n";
    text += R"({"process":0,"type":"ok","f":"put","key":")" + key + R"(","value":"v)" + key + "\"}\n";
    text += R"({"process":1,"type":"invoke","f":"get","key":")" + key + "\"}\n";
    text += R"({"process":1,"type":"ok","f":"get","key":")" + key + R"(","value":)" +
            (k == 17 ? std::string("null") : "\"v" + key + "\"") + "}\n";
  }
  for (int threads : {1, 2, 4}) {
    CheckOptions o;
    o.checks = {"linearizability"};
    o.model = "kv";
    o.linearizability.threads = threads;
    auto r = CheckHistory(Jsonl(text), Format::kJsonl, o);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->linearizability->verdict, Verdict::kInvalid) << threads;
    EXPECT_EQ(r->linearizability->witness->part, "17") << threads;
  }
}

TEST(Linearizability, BudgetGivesUnknownNotAnAnswer) {
  History h = testing::GenerateRegisterHistory(7, 400, 8);
  CheckOptions o;
  o.checks = {"linearizability"};
  o.model = "cas-register";
  o.linearizability.budget = std::chrono::milliseconds(0);
  auto r = CheckHistory(h, Format::kJsonl, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Report(*r, "linearizability").verdict, Verdict::kUnknown);
  EXPECT_EQ(ExitCode(r->Overall()), 2);
}

// --- session, hand-made ----------------------------------------------------

constexpr char kSession[] = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a","replica":"c0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":0,"replica":"c0"}
{"process":1,"type":"invoke","f":"put","key":"k","value":"b","replica":"c1"}
{"process":1,"type":"ok","f":"put","key":"k","value":"b","offset":1,"replica":"c1"}
{"process":1,"type":"invoke","f":"get","key":"k","replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","value":READ1,"applied":APPLIED,"replica":"c1"}
{"process":0,"type":"invoke","f":"get","key":"k","replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":"b","applied":2,"replica":"c0"}
{"process":0,"type":"invoke","f":"get","key":"k","replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":READ2,"applied":2,"replica":"c0"}
{"log":{"offset":0,"key":"k","value":"a"}}
{"log":{"offset":1,"key":"k","value":"b"}}
)";

std::string Session(const std::string& read1, const std::string& applied, const std::string& read2) {
  std::string t = kSession;
  t.replace(t.find("READ1"), 5, read1);
  t.replace(t.find("APPLIED"), 7, applied);
  t.replace(t.find("READ2"), 5, read2);
  return t;
}

TEST(Session, ReadYourOwnWrites) {
  EXPECT_EQ(Report(Check(Jsonl(Session("\"b\"", "2", "\"b\"")), {"session"}), "session").verdict, Verdict::kValid);
  // Process 1 reads the older "a" after writing "b".
  auto stale = Report(Check(Jsonl(Session("\"a\"", "2", "\"b\"")), {"session"}), "session");
  EXPECT_EQ(stale.verdict, Verdict::kInvalid);
  EXPECT_TRUE(HasKind(stale, "read-your-writes"));
  // Served at a position before its own write, even though the value matches.
  auto early = Report(Check(Jsonl(Session("\"b\"", "1", "\"b\"")), {"session"}), "session");
  EXPECT_TRUE(HasKind(early, "read-your-writes"));
  // A nil read after its own put, with no delete anywhere.
  auto nil = Report(Check(Jsonl(Session("null", "2", "\"b\"")), {"session"}), "session");
  // With the log the checker says more precisely what the read missed.
  EXPECT_TRUE(HasKind(nil, "read-your-writes") || HasKind(nil, "read-inconsistent"));
}

// An async write is recorded as a process of its own (it overlaps its
// replica's other operations); it is the replica's own once acknowledged: a
// read invoked after the ack must see it, one invoked before need not.
TEST(Session, AnAsyncWriteIsTheReplicasOwnOnceAcknowledged) {
  const std::string text = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a","replica":"c0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":0,"replica":"c0"}
{"process":7,"type":"invoke","f":"put","key":"k","value":"b","replica":"c0"}
{"process":0,"type":"invoke","f":"get","key":"k","replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":"a","applied":1,"replica":"c0"}
{"process":7,"type":"ok","f":"put","key":"k","value":"b","offset":1,"replica":"c0"}
{"process":0,"type":"invoke","f":"get","key":"k","replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":SECOND,"applied":APPLIED,"replica":"c0"}
{"process":1,"type":"invoke","f":"get","key":"k","replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","value":"a","applied":1,"replica":"c1"}
{"log":{"offset":0,"key":"k","value":"a"}}
{"log":{"offset":1,"key":"k","value":"b"}}
)";
  auto with = [&](const std::string& second, const std::string& applied) {
    std::string t = text;
    t.replace(t.find("SECOND"), 6, second);
    t.replace(t.find("APPLIED"), 7, applied);
    return Report(Check(Jsonl(t), {"session"}), "session");
  };
  // The first read was invoked before the ack: "a" is fine. Another replica
  // (c1) owes nothing to c0's write.
  EXPECT_EQ(with("\"b\"", "2").verdict, Verdict::kValid);
  // Invoked after the ack: it must see "b", at a position past offset 1.
  auto stale = with("\"a\"", "2");
  EXPECT_EQ(stale.verdict, Verdict::kInvalid);
  EXPECT_TRUE(HasKind(stale, "read-your-writes"));
  auto early = with("\"a\"", "1");
  EXPECT_TRUE(HasKind(early, "read-your-writes"));
}

TEST(Session, MonotonicReadsWithoutOffsets) {
  // No offsets or applied positions: the log alone orders the versions.
  const std::string text = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a"}
{"process":0,"type":"invoke","f":"put","key":"k","value":"b"}
{"process":0,"type":"ok","f":"put","key":"k","value":"b"}
{"process":1,"type":"invoke","f":"get","key":"k"}
{"process":1,"type":"ok","f":"get","key":"k","value":"b"}
{"process":1,"type":"invoke","f":"get","key":"k"}
{"process":1,"type":"ok","f":"get","key":"k","value":SECOND}
{"log":{"offset":10,"key":"k","value":"a"}}
{"log":{"offset":20,"key":"k","value":"b"}}
)";
  std::string good = text, bad = text;
  good.replace(good.find("SECOND"), 6, "\"b\"");
  bad.replace(bad.find("SECOND"), 6, "\"a\"");
  EXPECT_EQ(Report(Check(Jsonl(good), {"session"}), "session").verdict, Verdict::kValid);
  auto r = Report(Check(Jsonl(bad), {"session"}), "session");
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_TRUE(HasKind(r, "monotonic-reads"));
  EXPECT_FALSE(HasKind(r, "read-your-writes"));
}

TEST(Session, ReadOfAValueNobodyWrote) {
  auto r = Report(Check(Jsonl(Session("\"zzz\"", "2", "\"b\"")), {"session"}), "session");
  EXPECT_TRUE(HasKind(r, "read-unknown-value"));
}

// A range read is judged pair by pair; the JSONL reader interns pairs and the
// session check remembers each key's last pair (session.cc), so repeated
// pairs must be judged exactly as fresh ones.
TEST(Session, RepeatedRangePairsAreJudgedEachTime) {
  const std::string text = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":0}
{"process":0,"type":"invoke","f":"put","key":"k","value":"b"}
{"process":0,"type":"ok","f":"put","key":"k","value":"b","offset":1}
{"process":1,"type":"invoke","f":"range","value":null}
{"process":1,"type":"ok","f":"range","value":[["j","x"],["k","b"]],"applied":2}
{"process":1,"type":"invoke","f":"range","value":null}
{"process":1,"type":"ok","f":"range","value":[["j","x"],["k","b"]],"applied":2}
{"process":1,"type":"invoke","f":"range","value":null}
{"process":1,"type":"ok","f":"range","value":[["j","x"],["k",SECOND]],"applied":2}
{"process":1,"type":"invoke","f":"range","value":null}
{"process":1,"type":"ok","f":"range","value":[["k",THIRD]],"applied":2}
{"log":{"offset":0,"key":"k","value":"a"}}
{"log":{"offset":1,"key":"k","value":"b"}}
)";
  auto with = [&](const std::string& second, const std::string& third) {
    std::string t = text;
    t.replace(t.find("SECOND"), 6, second);
    t.replace(t.find("THIRD"), 5, third);
    return t;
  };
  // "j" = "x" was never written: each of the three reads of it is reported.
  auto valid_k = Report(Check(Jsonl(with("\"b\"", "\"b\"")), {"session"}), "session");
  EXPECT_EQ(valid_k.verdict, Verdict::kInvalid);
  EXPECT_EQ(valid_k.violations.size(), 3u);
  for (const auto& v : valid_k.violations) EXPECT_EQ(v.kind, "read-unknown-value") << v.message;
  // k goes back from b to a after two reads of b: found on the pair that
  // differs, then b again (a new read of the pair seen before) is fine.
  auto back = Report(Check(Jsonl(with("\"a\"", "\"b\"")), {"session"}), "session");
  EXPECT_TRUE(HasKind(back, "monotonic-reads"));
  EXPECT_EQ(back.violations.size(), 4u);
  // A third read of k whose value is as long as the pair before it ("b") but
  // was never written: reported, not taken for the pair seen before.
  auto unknown = Report(Check(Jsonl(with("\"b\"", "\"c\"")), {"session"}), "session");
  EXPECT_EQ(unknown.violations.size(), 4u);
  EXPECT_EQ(unknown.violations.back().kind, "read-unknown-value") << unknown.violations.back().message;
  EXPECT_NE(unknown.violations.back().message.find("read c from key k"), std::string::npos)
      << unknown.violations.back().message;
  // The same range reads without "j": valid.
  std::string clean = with("\"b\"", "\"b\"");
  for (size_t at; (at = clean.find("[\"j\",\"x\"],")) != std::string::npos;) clean.erase(at, 10);
  EXPECT_EQ(Report(Check(Jsonl(clean), {"session"}), "session").verdict, Verdict::kValid);
}

// The session check judges a range pair that is the key's last pair, at the
// key it guessed from the pair before, without reading the pair's storage
// (session.cc). Such repeated pairs must still be judged one by one: a stale
// pair repeated after a newer read (monotonic reads), and one older than the
// reader's own write (read-your-writes, whose report names the value read).
TEST(Session, RepeatedRangePairsKeepTheirViolations) {
  const std::string text = R"({"process":0,"type":"invoke","f":"put","key":"j","value":"x"}
{"process":0,"type":"ok","f":"put","key":"j","value":"x","offset":0}
{"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":1}
{"process":0,"type":"invoke","f":"put","key":"k","value":"b"}
{"process":0,"type":"ok","f":"put","key":"k","value":"b","offset":2}
{"process":1,"type":"invoke","f":"range","value":null}
{"process":1,"type":"ok","f":"range","value":[["j","x"],["k","b"]],"applied":3}
{"process":1,"type":"invoke","f":"range","value":null}
{"process":1,"type":"ok","f":"range","value":[["j","x"],["k",OLD]],"applied":3}
{"process":1,"type":"invoke","f":"range","value":null}
{"process":1,"type":"ok","f":"range","value":[["j","x"],["k",OLD]],"applied":3}
{"process":0,"type":"invoke","f":"range","value":null}
{"process":0,"type":"ok","f":"range","value":[["j","x"],["k",OLD]],"applied":3}
{"process":0,"type":"invoke","f":"range","value":null}
{"process":0,"type":"ok","f":"range","value":[["j","x"],["k",OLD]],"applied":3}
{"process":0,"type":"invoke","f":"range","value":null}
{"process":0,"type":"ok","f":"range","value":[["k",OLD],["j","x"]],"applied":3}
{"log":{"offset":0,"key":"j","value":"x"}}
{"log":{"offset":1,"key":"k","value":"a"}}
{"log":{"offset":2,"key":"k","value":"b"}}
)";
  auto with = [&](const std::string& old) {
    std::string t = text;
    for (size_t at; (at = t.find("OLD")) != std::string::npos;) t.replace(at, 3, old);
    return t;
  };
  auto bad = Report(Check(Jsonl(with("\"a\"")), {"session"}), "session");
  EXPECT_EQ(bad.verdict, Verdict::kInvalid);
  ASSERT_EQ(bad.violations.size(), 5u);
  // Process 1 read k at offset 2, then twice at offset 1.
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(bad.violations[i].kind, "monotonic-reads") << bad.violations[i].message;
    EXPECT_EQ(bad.violations[i].message, "process 1 read key k at offset 1 after having read it at offset 2");
  }
  // Process 0 wrote b at offset 2, then read a three times (the last range
  // lists its keys in another order).
  for (size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(bad.violations[i].kind, "read-your-writes") << bad.violations[i].message;
    EXPECT_EQ(bad.violations[i].message, "process 0 read key k = a (offset 1), older than its own write at offset 2");
  }
  // The same ranges reading b: valid.
  auto good = Report(Check(Jsonl(with("\"b\"")), {"session"}), "session");
  EXPECT_EQ(good.verdict, Verdict::kValid) << (good.violations.empty() ? "" : good.violations[0].message);
  EXPECT_EQ(good.summary, "12 reads and 3 writes in 2 sessions; 0 violation(s)");
}

// The session check finds a read's version among the last few writes of its
// key before asking the write index (session.cc): a value written long
// before, a value written only to another key, an integer value and a value
// nobody wrote must be judged exactly as the index would judge them.
TEST(Session, ReadsOfRecentAndOlderWritesAreJudgedAlike) {
  std::string text;
  for (int i = 0; i < 8; ++i) {
    text += fmt::format(R"({{"process":0,"type":"invoke","f":"put","key":"k","value":"v{0}"}}
{{"process":0,"type":"ok","f":"put","key":"k","value":"v{0}","offset":{0}}}
)",
                        i);
  }
  text += R"({"process":0,"type":"invoke","f":"put","key":"j","value":"x"}
{"process":0,"type":"ok","f":"put","key":"j","value":"x","offset":8}
{"process":0,"type":"invoke","f":"put","key":"n","value":5}
{"process":0,"type":"ok","f":"put","key":"n","value":5,"offset":9}
{"process":1,"type":"invoke","f":"get","key":"k"}
{"process":1,"type":"ok","f":"get","key":"k","value":FIRST,"applied":10}
{"process":1,"type":"invoke","f":"get","key":"k"}
{"process":1,"type":"ok","f":"get","key":"k","value":SECOND,"applied":10}
{"process":1,"type":"invoke","f":"get","key":"n"}
{"process":1,"type":"ok","f":"get","key":"n","value":NUMBER,"applied":10}
)";
  for (int i = 0; i < 8; ++i) text += fmt::format(R"({{"log":{{"offset":{0},"key":"k","value":"v{0}"}}}})" "\n", i);
  text += R"({"log":{"offset":8,"key":"j","value":"x"}}
{"log":{"offset":9,"key":"n","value":"5"}}
)";
  auto check = [&](const std::string& first, const std::string& second, const std::string& number) {
    std::string t = text;
    t.replace(t.find("FIRST"), 5, first);
    t.replace(t.find("SECOND"), 6, second);
    t.replace(t.find("NUMBER"), 6, number);
    return Report(Check(Jsonl(t), {"session"}), "session");
  };
  // Forward in time: the last write, an old one then a recent one, the same old one twice.
  for (const auto& [first, second] : std::vector<std::pair<std::string, std::string>>{
           {"\"v7\"", "\"v7\""}, {"\"v1\"", "\"v6\""}, {"\"v0\"", "\"v0\""}}) {
    auto r = check(first, second, "5");
    EXPECT_EQ(r.verdict, Verdict::kValid) << first << " " << second;
    EXPECT_EQ(r.summary, "3 reads and 10 writes in 2 sessions; 0 violation(s)");
  }
  // Back in time: to a recent write, and to one long before.
  auto recent = check("\"v7\"", "\"v6\"", "5");
  ASSERT_EQ(recent.violations.size(), 1u);
  EXPECT_EQ(recent.violations[0].message, "process 1 read key k at offset 6 after having read it at offset 7");
  auto old = check("\"v7\"", "\"v1\"", "5");
  ASSERT_EQ(old.violations.size(), 1u);
  EXPECT_EQ(old.violations[0].message, "process 1 read key k at offset 1 after having read it at offset 7");
  // A value written to another key only, a value nobody wrote, a number nobody wrote.
  auto elsewhere = check("\"v7\"", "\"x\"", "6");
  ASSERT_EQ(elsewhere.violations.size(), 2u);
  EXPECT_EQ(elsewhere.violations[0].message, "process 1 read x from key k, a value no write produced");
  EXPECT_EQ(elsewhere.violations[1].message, "process 1 read 6 from key n, a value no write produced");
  auto nobody = check("\"v8\"", "\"v7\"", "\"5\"");
  ASSERT_EQ(nobody.violations.size(), 1u);
  EXPECT_EQ(nobody.violations[0].message, "process 1 read v8 from key k, a value no write produced");
}

// --- durability and convergence, hand-made ---------------------------------

constexpr char kWrites[] = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":4}
{"process":1,"type":"invoke","f":"put","key":"j","value":"b"}
{"process":1,"type":"info","f":"put","key":"j","value":"b"}
{"process":2,"type":"invoke","f":"put","key":"j","value":"c"}
{"process":2,"type":"fail","f":"put","key":"j","value":"c"}
)";

TEST(Durability, AcknowledgedOnceUnknownAtMostOnceFailedNever) {
  const std::string ok_log = R"({"log":{"offset":4,"key":"k","value":"a"}}
{"log":{"offset":7,"key":"j","value":"b"}}
)";
  EXPECT_EQ(Report(Check(Jsonl(std::string(kWrites) + ok_log), {"durability"}), "durability").verdict,
            Verdict::kValid);
  // The unknown write may also be absent.
  EXPECT_EQ(Report(Check(Jsonl(std::string(kWrites) + R"({"log":{"offset":4,"key":"k","value":"a"}})"),
                         {"durability"}),
                   "durability")
                .verdict,
            Verdict::kValid);
  struct Case {
    const char* log;
    const char* kind;
  } cases[] = {
      {R"({"log":{"offset":7,"key":"j","value":"b"}})", "lost-write"},
      {R"({"log":{"offset":5,"key":"k","value":"a"}})", "misplaced-write"},
      {R"({"log":{"offset":4,"key":"k","value":"a"}}
{"log":{"offset":9,"key":"k","value":"a"}})",
       "duplicated-write"},
      {R"({"log":{"offset":4,"key":"k","value":"a"}}
{"log":{"offset":7,"key":"j","value":"b"}}
{"log":{"offset":8,"key":"j","value":"b"}})",
       "duplicated-write"},
      {R"({"log":{"offset":4,"key":"k","value":"a"}}
{"log":{"offset":6,"key":"j","value":"c"}})",
       "failed-write-in-log"},
      {R"({"log":{"offset":4,"key":"k","value":"a"}}
{"log":{"offset":6,"key":"q","value":"?"}})",
       "phantom-write"},
  };
  for (const Case& c : cases) {
    auto r = Report(Check(Jsonl(std::string(kWrites) + c.log), {"durability"}), "durability");
    EXPECT_EQ(r.verdict, Verdict::kInvalid) << c.kind;
    EXPECT_TRUE(HasKind(r, c.kind)) << c.kind;
  }
}

// With op ids on events and log records, the write index links a record to
// the write that reported its offset (same key, value and op id) without
// its tables of op ids (writes.h). Linked or not, a duplicate, a lost write
// and a record no invoked operation wrote must still be found.
TEST(Durability, RecordsLinkedByOffsetAndOpIdKeepTheirViolations) {
  const std::string events = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a","op":"p0-0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","op":"p0-0","offset":0}
{"process":1,"type":"invoke","f":"put","key":"j","value":"b","op":"p1-0"}
{"process":1,"type":"ok","f":"put","key":"j","value":"b","op":"p1-0","offset":1}
{"process":1,"type":"invoke","f":"get","key":"k","op":"p1-1","value":null}
{"process":1,"type":"ok","f":"get","key":"k","op":"p1-1","value":"a","applied":2}
)";
  const std::string k = R"({"log":{"offset":0,"key":"k","value":"a","op":"p0-0"}})"
                        "\n";
  const std::string j = R"({"log":{"offset":1,"key":"j","value":"b","op":"p1-0"}})"
                        "\n";
  auto durability = [&](const std::string& log) {
    return Report(Check(Jsonl(events + log), {"durability"}), "durability");
  };
  auto messages = [](const CheckReport& r) {
    std::vector<std::string> out;
    for (const auto& v : r.violations) out.push_back(v.kind + ": " + v.message);
    return out;
  };
  EXPECT_EQ(durability(k + j).verdict, Verdict::kValid);
  // j's record carrying another invoked operation's id: not linked, still known.
  EXPECT_EQ(durability(k + R"({"log":{"offset":1,"key":"j","value":"b","op":"p0-0"}})"
                               "\n")
                .verdict,
            Verdict::kValid);
  EXPECT_EQ(messages(durability(k + j + R"({"log":{"offset":2,"key":"k","value":"a","op":"p0-0"}})"
                                          "\n")),
            std::vector<std::string>{
                "duplicated-write: acknowledged put k=a appears 2 times in the log (first at offset 0)"});
  EXPECT_EQ(messages(durability(k)),
            std::vector<std::string>{"lost-write: acknowledged put j=b (line 3) is not in the log"});
  EXPECT_EQ(messages(durability(k + j + R"({"log":{"offset":2,"key":"z","value":"q","op":"p9-9"}})"
                                          "\n")),
            std::vector<std::string>{"phantom-write: log offset 2 (z=q, line 9) was never invoked"});
  EXPECT_EQ(messages(durability(k + j + R"({"log":{"offset":2,"key":"z","value":null,"op":"p9-9"}})"
                                          "\n")),
            std::vector<std::string>{"phantom-write: log offset 2 (z=<tombstone>, line 9) was never invoked"});
}

TEST(Durability, BatchSubOperationsAreWritesAndRangesAreReads) {
  const std::string events =
      R"({"process":0,"type":"invoke","f":"batch","value":[{"f":"put","key":"a","value":"1"},{"f":"put","key":"b","value":"2"},{"f":"delete","key":"c"}]}
{"process":0,"type":"ok","f":"batch","value":[{"f":"put","key":"a","value":"1","offset":3},{"f":"put","key":"b","value":"2","offset":4},{"f":"delete","key":"c","offset":5}]}
{"process":0,"type":"invoke","f":"range","value":null}
{"process":0,"type":"ok","f":"range","value":[["a",RANGE_A],["b","2"]],"applied":6}
)";
  const std::string log = R"({"log":{"offset":3,"key":"a","value":"1"}}
{"log":{"offset":4,"key":"b","value":"2"}}
{"log":{"offset":5,"key":"c","value":null}}
)";
  auto text = [&](const std::string& range_a, const std::string& l) {
    std::string t = events;
    t.replace(t.find("RANGE_A"), 7, range_a);
    return t + l;
  };
  auto good = Check(Jsonl(text("\"1\"", log)), {"session", "durability"});
  EXPECT_EQ(good.Overall(), Verdict::kValid) << Report(good, "durability").summary;
  // The delete's record is missing: a lost write, named by its offset.
  std::string no_delete = log.substr(0, log.rfind("{\"log\":{\"offset\":5"));
  auto lost = Report(Check(Jsonl(text("\"1\"", no_delete)), {"durability"}), "durability");
  EXPECT_TRUE(HasKind(lost, "lost-write"));
  // The range read misses the batch's own put of a.
  auto ryw = Report(Check(Jsonl(text("null", log)), {"session"}), "session");
  EXPECT_EQ(ryw.verdict, Verdict::kInvalid);
}

// Several log records with one op id: an atomic batch or a transaction (one
// record, so one offset, a key each), a batch (a record per write, an offset
// each) and Update's attempts (a cas record per attempt, those that
// conflicted with their condition failing). Each shape valid, then with a
// real anomaly, which must keep its name.
struct SharedIdCase {
  const char* name;
  std::string history;
  std::vector<std::string> kinds;  // the violations' kinds, sorted; empty = valid
};

std::vector<std::string> Kinds(const CheckReport& r) {
  std::vector<std::string> out;
  for (const auto& v : r.violations) out.push_back(v.kind);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Messages(const CheckReport& r) {
  std::string out;
  for (const auto& v : r.violations) out += v.kind + ": " + v.message + "\n";
  return out;
}

void ExpectDurability(const std::vector<SharedIdCase>& cases) {
  for (const SharedIdCase& c : cases) {
    const FullReport full = Check(Jsonl(c.history), {"session", "durability"});
    const CheckReport& d = Report(full, "durability");
    EXPECT_EQ(Kinds(d), c.kinds) << c.name << "\n" << Messages(d);
    EXPECT_EQ(d.verdict, c.kinds.empty() ? Verdict::kValid : Verdict::kInvalid) << c.name;
    // The session check judges the same writes (skipped without reads).
    const CheckReport& session = Report(full, "session");
    EXPECT_TRUE(session.verdict == Verdict::kValid || session.verdict == Verdict::kSkipped)
        << c.name << "\n" << Messages(session);
  }
}

// An atomic batch p0-0 writes a=1, b=2 and deletes c in one record at offset
// 1; a put of z (p1-0) lands at offset 0 beside it. DONE is the batch's
// completion (with or without each sub-operation's offset).
constexpr char kAtomicBatch[] =
    R"({"process":1,"type":"invoke","f":"put","key":"z","value":"9","op":"p1-0"}
{"process":1,"type":"ok","f":"put","key":"z","value":"9","op":"p1-0","offset":0}
{"process":0,"type":"invoke","f":"batch","op":"p0-0","value":[{"f":"put","key":"a","value":"1"},{"f":"put","key":"b","value":"2"},{"f":"delete","key":"c"}]}
DONE
{"process":2,"type":"invoke","f":"range","value":null}
{"process":2,"type":"ok","f":"range","value":[["a","1"],["b","2"],["z","9"]],"applied":2}
{"log":{"offset":0,"key":"z","value":"9","op":"p1-0"}}
{"log":{"offset":1,"key":"a","value":"1","op":"p0-0"}}
{"log":{"offset":1,"key":"b","value":"2","op":"p0-0"}}
{"log":{"offset":1,"key":"c","value":null,"op":"p0-0"}}
)";

std::string AtomicBatch(bool sub_offsets, bool op_ids, const std::string& more_log, const std::string& drop = "") {
  std::string t = kAtomicBatch;
  const std::string done =
      sub_offsets
          ? R"({"process":0,"type":"ok","f":"batch","op":"p0-0","offset":1,"value":[{"f":"put","key":"a","value":"1","offset":1},{"f":"put","key":"b","value":"2","offset":1},{"f":"delete","key":"c","offset":1}]})"
          : R"({"process":0,"type":"ok","f":"batch","op":"p0-0","offset":1,"value":[{"f":"put","key":"a","value":"1"},{"f":"put","key":"b","value":"2"},{"f":"delete","key":"c"}]})";
  t.replace(t.find("DONE"), 4, done);
  if (!drop.empty()) t.erase(t.find(drop), drop.size() + 1);
  t += more_log;
  if (!op_ids) {
    for (size_t at; (at = t.find(R"(,"op":"p0-0")")) != std::string::npos;) t.erase(at, 12);
    for (size_t at; (at = t.find(R"(,"op":"p1-0")")) != std::string::npos;) t.erase(at, 12);
  }
  return t;
}

TEST(Durability, AnAtomicBatchsRecordsShareAnOffsetAndAnOpId) {
  std::vector<SharedIdCase> cases;
  for (bool sub_offsets : {false, true}) {
    for (bool op_ids : {true, false}) {
      const std::string name = fmt::format("sub-offsets {} op ids {}", sub_offsets, op_ids);
      auto add = [&](const std::string& what, std::string history, std::vector<std::string> kinds) {
        cases.push_back({nullptr, std::move(history), std::move(kinds)});
        static std::vector<std::string> names;  // SharedIdCase holds a const char*
        names.push_back(name + ": " + what);
        cases.back().name = names.back().c_str();
      };
      add("valid", AtomicBatch(sub_offsets, op_ids, ""), {});
      // The whole record committed twice (a producer retry): each write
      // twice (the copy lists its writes in another order, b first).
      add("batch duplicated",
          AtomicBatch(sub_offsets, op_ids,
                      R"({"log":{"offset":3,"key":"b","value":"2","op":"p0-0"}}
{"log":{"offset":3,"key":"a","value":"1","op":"p0-0"}}
)"),
          {"duplicated-write", "duplicated-write"});
      // One write of the batch again at a later offset, first there.
      add("b duplicated beside it", AtomicBatch(sub_offsets, op_ids, R"({"log":{"offset":3,"key":"b","value":"2","op":"p0-0"}}
)"),
          {"duplicated-write"});
      // The lone put again, first among the batch's records at its offset.
      std::string z_beside = AtomicBatch(sub_offsets, op_ids, "");
      z_beside.insert(z_beside.find(R"({"log":{"offset":1,"key":"a")"), op_ids ? R"({"log":{"offset":1,"key":"z","value":"9","op":"p1-0"}})"
                                                       "\n"
                                                     : R"({"log":{"offset":1,"key":"z","value":"9"}})"
                                                       "\n");
      add("z duplicated beside it", z_beside, {"duplicated-write"});
      add("b lost", AtomicBatch(sub_offsets, op_ids, "", R"({"log":{"offset":1,"key":"b","value":"2","op":"p0-0"}})"),
          {"lost-write"});
    }
  }
  // Without op ids or sub-operation offsets a delete cannot be named (it is
  // not judged): drop c's tombstone only where it can.
  cases.push_back({"c lost", AtomicBatch(true, true, "", R"({"log":{"offset":1,"key":"c","value":null,"op":"p0-0"}})"),
                   {"lost-write"}});
  cases.push_back({"c lost, no op ids",
                   AtomicBatch(true, false, "", R"({"log":{"offset":1,"key":"c","value":null,"op":"p0-0"}})"),
                   {"lost-write"}});
  ExpectDurability(cases);
}

// Recorded by kvsim (`kvsim --workload bank --seed 3 --clients 2 --ops 3
// --out ...`): the bank's opening deposit is an atomic batch, whose log
// records share offset 0 and its op id. Durability used to report it
// duplicated; with the batch's record copied to a later offset (a retry
// committed twice), it is.
TEST(Durability, ARecordedBankHistorysAtomicDepositIsWrittenOnce) {
  auto h = ReadJsonlFile("checker/testdata/recorded/bank_opening_batch.jsonl");
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  ASSERT_GE(h->log.size(), 4u);
  ASSERT_EQ(h->log[3].offset, 0);  // The deposit's four records.
  const CheckReport good = Report(Check(*h, {"durability"}), "durability");
  EXPECT_EQ(good.verdict, Verdict::kValid) << Messages(good);
  History copied = *h;
  const int64_t end = copied.log.back().offset + 1;
  for (int i = 0; i < 4; ++i) {
    LogRecord r = h->log[static_cast<size_t>(i)];
    r.offset = end;
    copied.log.push_back(std::move(r));
  }
  const CheckReport dup = Report(Check(copied, {"durability"}), "durability");
  EXPECT_EQ(Kinds(dup), std::vector<std::string>(4, "duplicated-write")) << Messages(dup);
}

TEST(Durability, ABatchsRecordsShareAnOpIdAtOffsetsOfTheirOwn) {
  const std::string events =
      R"({"process":0,"type":"invoke","f":"batch","op":"p0-0","value":[{"f":"put","key":"a","value":"1"},{"f":"delete","key":"c"},{"f":"put","key":"b","value":"2"},{"f":"delete","key":"c"}]}
{"process":0,"type":"ok","f":"batch","op":"p0-0","offset":3,"value":[{"f":"put","key":"a","value":"1"},{"f":"delete","key":"c"},{"f":"put","key":"b","value":"2"},{"f":"delete","key":"c"}]}
)";
  const std::string log = R"({"log":{"offset":0,"key":"a","value":"1","op":"p0-0"}}
{"log":{"offset":1,"key":"c","value":null,"op":"p0-0"}}
{"log":{"offset":2,"key":"b","value":"2","op":"p0-0"}}
{"log":{"offset":3,"key":"c","value":null,"op":"p0-0"}}
)";
  ExpectDurability({
      {"valid", events + log, {}},
      {"a again", events + log + R"({"log":{"offset":4,"key":"a","value":"1","op":"p0-0"}})" + "\n",
       {"duplicated-write"}},
      // A third tombstone of c: the second delete owns two (Write::ordinal).
      {"c again", events + log + R"({"log":{"offset":4,"key":"c","value":null,"op":"p0-0"}})" + "\n",
       {"duplicated-write"}},
      {"b lost", events + log.substr(0, log.find(R"({"log":{"offset":2)")) +
                     log.substr(log.find(R"({"log":{"offset":3)")),
       {"lost-write"}},
  });
}

// An atomic batch's record holds the last write to each key (history.h):
// k=a, overwritten by k=b, and the first of two deletes of c have no record.
TEST(Durability, AnAtomicBatchHoldsTheLastWriteToEachKey) {
  const std::string batch =
      R"([{"f":"put","key":"k","value":"a"},{"f":"delete","key":"c"},{"f":"put","key":"j","value":"1"},{"f":"put","key":"k","value":"b"},{"f":"delete","key":"c"}])";
  const std::string with_offsets =
      R"([{"f":"put","key":"k","value":"a","offset":1},{"f":"delete","key":"c","offset":1},{"f":"put","key":"j","value":"1","offset":1},{"f":"put","key":"k","value":"b","offset":1},{"f":"delete","key":"c","offset":1}])";
  auto events = [&](const std::string& done) {
    return R"({"process":0,"type":"invoke","f":"batch","op":"p0-0","value":)" + batch + "}\n" +
           R"({"process":0,"type":"ok","f":"batch","op":"p0-0","offset":1,"value":)" + done + "}\n" +
           R"({"process":0,"type":"invoke","f":"range","value":null}
{"process":0,"type":"ok","f":"range","value":[["j","1"],["k","b"]],"applied":2}
)";
  };
  const std::string c = R"({"log":{"offset":1,"key":"c","value":null,"op":"p0-0"}})"
                        "\n";
  const std::string j = R"({"log":{"offset":1,"key":"j","value":"1","op":"p0-0"}})"
                        "\n";
  const std::string k = R"({"log":{"offset":1,"key":"k","value":"b","op":"p0-0"}})"
                        "\n";
  ExpectDurability({
      {"valid", events(batch) + c + j + k, {}},
      {"valid, sub-offsets", events(with_offsets) + c + j + k, {}},
      {"j lost", events(batch) + c + k, {"lost-write"}},
      {"k=b lost", events(batch) + c + j, {"lost-write"}},
      {"c lost", events(with_offsets) + j + k, {"lost-write"}},
      {"c duplicated", events(batch) + c + j + k + R"({"log":{"offset":2,"key":"c","value":null,"op":"p0-0"}})" + "\n",
       {"duplicated-write"}},
      // k=a in the log after all: the batch was not atomic, and it is judged
      // as its own write.
      {"k=a at its own offset", events(batch) + R"({"log":{"offset":0,"key":"k","value":"a","op":"p0-0"}})" + "\n" +
                                   c + j + k,
       {}},
  });
  // One record only, no sub-operation offsets: nothing says the batch was
  // atomic, so k=a is lost, and the report says what would tell.
  const std::string one_key = R"({"process":0,"type":"invoke","f":"batch","op":"p0-0","value":[{"f":"put","key":"k","value":"a"},{"f":"put","key":"k","value":"b"}]}
{"process":0,"type":"ok","f":"batch","op":"p0-0","offset":1,"value":[{"f":"put","key":"k","value":"a"},{"f":"put","key":"k","value":"b"}]}
)";
  const CheckReport r = Report(Check(Jsonl(one_key + k), {"durability"}), "durability");
  ASSERT_EQ(Kinds(r), std::vector<std::string>{"lost-write"});
  EXPECT_NE(r.violations[0].message.find("if the batch was atomic"), std::string::npos) << r.violations[0].message;
  std::string one_key_atomic = one_key;
  for (size_t at = 0; (at = one_key_atomic.find(R"("value":"a"},)", at)) != std::string::npos;) {
    one_key_atomic.replace(at, 13, R"("value":"a","offset":1},)");
  }
  for (size_t at = 0; (at = one_key_atomic.find(R"("value":"b"}])", at)) != std::string::npos;) {
    one_key_atomic.replace(at, 13, R"("value":"b","offset":1}])");
  }
  ExpectDurability({{"one key, sub-offsets", one_key_atomic + k, {}}});
}

TEST(Durability, UpdatesConflictedAttemptsAreNoCopiesOfItsWrite) {
  // k holds e (offset 0); p0-0's Update writes v: its first attempt expected
  // x and conflicted (offset 1), its second expected e and held (offset 3).
  const std::string events = R"({"process":1,"type":"invoke","f":"put","key":"k","value":"e","op":"p1-0"}
{"process":1,"type":"ok","f":"put","key":"k","value":"e","op":"p1-0","offset":0}
{"process":0,"type":"invoke","f":"cas","key":"k","value":["e","v"],"op":"p0-0"}
{"process":0,"type":"ok","f":"cas","key":"k","value":["e","v"],"op":"p0-0","offset":3,"result":true}
{"process":1,"type":"invoke","f":"get","key":"k","value":null,"op":"p1-1"}
{"process":1,"type":"ok","f":"get","key":"k","value":"v","op":"p1-1","applied":4}
)";
  const std::string attempts = R"({"log":{"offset":0,"key":"k","value":"e","op":"p1-0"}}
{"log":{"offset":1,"key":"k","value":"v","f":"cas","expected":"x","op":"p0-0"}}
{"log":{"offset":3,"key":"k","value":"v","f":"cas","expected":"e","op":"p0-0"}}
)";
  std::string all_conflicted = events;
  all_conflicted.replace(all_conflicted.find(R"("offset":3,"result":true)"), 24, R"("result":false)");
  all_conflicted.replace(all_conflicted.find(R"("value":"v","op":"p1-1")"), 11, R"("value":"e")");
  const std::string conflicted = R"({"log":{"offset":0,"key":"k","value":"e","op":"p1-0"}}
{"log":{"offset":1,"key":"k","value":"v","f":"cas","expected":"x","op":"p0-0"}}
{"log":{"offset":3,"key":"k","value":"v","f":"cas","expected":"y","op":"p0-0"}}
)";
  ExpectDurability({
      {"valid", events + attempts, {}},
      // Every attempt conflicted and the Update said so.
      {"all conflicted", all_conflicted + conflicted, {}},
      // The same, acknowledged as written: no attempt took effect.
      {"acknowledged, all conflicted", events.substr(0, events.find(R"({"process":1,"type":"invoke","f":"get")")) +
                                           conflicted,
       {"lost-write"}},
      // Another attempt after the one that held, holding too: v took effect
      // twice.
      {"duplicated", events + attempts + R"({"log":{"offset":5,"key":"k","value":"v","f":"cas","expected":"v","op":"p0-0"}})" + "\n",
       {"duplicated-write"}},
  });
}

// The write index's table of (key, value) names is sized for the written
// values; records that name values nobody wrote are added past that, and the
// table grows (and rehashes) under them: each must still be found, once (a
// read of one has its version; each record is a phantom).
TEST(Durability, ManyRecordsNobodyWroteAreEachFoundAndAPhantom) {
  std::string text = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":0}
)";
  for (int i = 1; i <= 200; ++i) {
    text += fmt::format(R"({{"process":1,"type":"invoke","f":"get","key":"k{0}"}}
{{"process":1,"type":"ok","f":"get","key":"k{0}","value":"{1}","applied":202}}
)",
                        i % 7, i == 100 ? "READ" : fmt::format("p{}", i));
  }
  text += R"({"log":{"offset":0,"key":"k","value":"a"}})" "\n";
  for (int i = 1; i <= 200; ++i) text += fmt::format(R"({{"log":{{"offset":{},"key":"k{}","value":"p{}"}}}})" "\n", i, i % 7, i);
  // One phantom twice: a phantom, and a duplicate of it.
  text += R"({"log":{"offset":201,"key":"k1","value":"p1"}})" "\n";
  auto with = [&](const std::string& read) {
    std::string t = text;
    t.replace(t.find("READ"), 4, read);
    return Check(Jsonl(t), {"session", "durability"});
  };
  auto r = with("p100");
  const CheckReport& d = Report(r, "durability");
  EXPECT_EQ(d.verdict, Verdict::kInvalid);
  EXPECT_EQ(d.violation_count, 201u) << d.summary;
  for (const Violation& v : d.violations) EXPECT_EQ(v.kind, "phantom-write") << v.message;
  const CheckReport& s = Report(r, "session");
  EXPECT_EQ(s.verdict, Verdict::kValid) << (s.violations.empty() ? "" : s.violations[0].message);
  // A value in no record and no write.
  const FullReport bad = with("p999");
  const CheckReport& unknown = Report(bad, "session");
  ASSERT_EQ(unknown.violations.size(), 1u);
  EXPECT_EQ(unknown.violations[0].message, "process 1 read p999 from key k2, a value no write produced");
}

TEST(Convergence, SamePositionSameDigestEqualToTheLog) {
  std::map<std::string, std::string> at5 = {{"k", "a"}};
  std::map<std::string, std::string> at9 = {{"j", "b"}, {"k", "a"}};
  const std::string d5 = StateDigest::Of(at5), d9 = StateDigest::Of(at9);
  const std::string log = std::string(kWrites) + R"({"log":{"offset":4,"key":"k","value":"a"}}
{"log":{"offset":7,"key":"j","value":"b"}}
)";
  auto final_line = [](const std::string& r, int applied, const std::string& d) {
    return fmt::format(R"({{"final":{{"replica":"{}","applied":{},"digest":"{}"}}}})" "\n", r, applied, d);
  };
  auto good = Check(Jsonl(log + final_line("c0", 5, d5) + final_line("c1", 9, d9) + final_line("c2", 9, d9)),
                    {"convergence"});
  EXPECT_EQ(Report(good, "convergence").verdict, Verdict::kValid);
  auto diverged = Report(
      Check(Jsonl(log + final_line("c0", 5, d5) + final_line("c1", 9, d9) + final_line("c2", 9, d5)), {"convergence"}),
      "convergence");
  EXPECT_EQ(diverged.verdict, Verdict::kInvalid);
  EXPECT_TRUE(HasKind(diverged, "divergence"));
  // Both agree, but not with the log.
  auto wrong = Report(Check(Jsonl(log + final_line("c1", 9, d5) + final_line("c2", 9, d5)), {"convergence"}),
                      "convergence");
  EXPECT_TRUE(HasKind(wrong, "digest-mismatch"));
  EXPECT_FALSE(HasKind(wrong, "divergence"));
}

TEST(Digest, DefinitionIsStable) {
  // Pinned: replicas and recorded histories depend on this exact value.
  EXPECT_EQ(StateDigest::Of({}), "ef46db3751d8e999");  // XXH64 of no bytes, seed 0
  std::map<std::string, std::string> a = {{"a", "1"}, {"b", "2"}}, b = {{"a", "1"}, {"b", "3"}};
  EXPECT_NE(StateDigest::Of(a), StateDigest::Of(b));
  // Length prefixes: ("ab","c") and ("a","bc") differ.
  EXPECT_NE(StateDigest::Of({{"ab", "c"}}), StateDigest::Of({{"a", "bc"}}));
}

TEST(Staleness, FiguresFromOffsetsPositionsAndTimes) {
  auto r = Check(Jsonl(R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a","time":0,"replica":"c0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","time":10,"offset":0,"replica":"c0"}
{"process":0,"type":"invoke","f":"put","key":"k","value":"b","time":20,"replica":"c0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"b","time":30,"offset":1,"replica":"c0"}
{"process":1,"type":"invoke","f":"get","key":"k","time":40,"replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","value":"a","time":45,"applied":1,"replica":"c1"}
{"process":0,"type":"invoke","f":"get","key":"k","time":50,"replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":"b","time":55,"applied":2,"replica":"c0"}
{"process":1,"type":"invoke","f":"get","key":"k","time":60,"replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","value":"b","time":70,"applied":2,"replica":"c1"}
{"log":{"offset":0,"key":"k","value":"a"}}
{"log":{"offset":1,"key":"k","value":"b"}}
)"),
                 {"session"});
  const StalenessFigures& f = r.staleness;
  ASSERT_TRUE(f.available);
  // Reads: c1 at position 1 while offsets 0..1 were acknowledged (1 behind,
  // the write at offset 1 acknowledged 10 ns before); the others caught up.
  EXPECT_EQ(f.read_offsets_behind.count, 3u);
  EXPECT_EQ(f.read_offsets_behind.max, 1);
  EXPECT_EQ(f.read_offsets_behind.p50, 0);
  EXPECT_EQ(f.read_ns_behind.max, 10);
  // Writes: offset 0 (acked at 10) seen everywhere at 55; offset 1 (acked at
  // 30) seen everywhere at 70.
  EXPECT_EQ(f.write_visibility_ns.count, 2u);
  EXPECT_EQ(f.write_visibility_ns.max, 45);
  EXPECT_EQ(f.writes_never_seen_everywhere, 0u);
  EXPECT_EQ(Report(r, "session").verdict, Verdict::kValid);
}

// The staleness figures of a history of one write, k = "a" acknowledged at
// 10 by replica c0, followed by `reads` (and its log record); checked as
// available.
StalenessFigures StalenessAfterOneWrite(const std::string& reads) {
  auto r = Check(Jsonl(R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a","time":0,"replica":"c0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","time":10,"offset":0,"replica":"c0"}
)" + reads + R"({"log":{"offset":0,"key":"k","value":"a"}}
)"),
                 {"session"});
  EXPECT_TRUE(r.staleness.available);
  return r.staleness;
}

// A replica that opens after the writes (the TTL workload's late joiner)
// replays them: its first read, long after, is not their visibility.
TEST(Staleness, AReplicaOpenedAfterAWriteDoesNotCountForIt) {
  const StalenessFigures f = StalenessAfterOneWrite(R"({"process":1,"type":"invoke","f":"get","key":"k","time":5,"replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","time":6,"applied":0,"replica":"c1"}
{"process":1,"type":"invoke","f":"get","key":"k","time":20,"replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","value":"a","time":25,"applied":1,"replica":"c1"}
{"process":0,"type":"invoke","f":"get","key":"k","time":30,"replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":"a","time":35,"applied":1,"replica":"c0"}
{"process":2,"type":"invoke","f":"get","key":"k","time":1000,"replica":"late"}
{"process":2,"type":"ok","f":"get","key":"k","value":"a","time":1005,"applied":1,"replica":"late"}
)");
  // Acknowledged at 10; c1 (open since 5) seen past it at 25, c0 at 35; the
  // late replica (opened at 1000) is left out: 25 ns, not 995.
  EXPECT_EQ(f.write_visibility_ns.count, 1u);
  EXPECT_EQ(f.write_visibility_ns.max, 25);
  EXPECT_EQ(f.writes_never_seen_everywhere, 0u);
}

// A replica whose invocations carry no time was never seen to open: its
// reads (timed on completion) are not counted for a write's visibility,
// and measuring does not fail.
TEST(Staleness, AReplicaWithoutInvocationTimesIsNotCounted) {
  const StalenessFigures f = StalenessAfterOneWrite(R"({"process":0,"type":"invoke","f":"get","key":"k","time":30,"replica":"c0"}
{"process":0,"type":"ok","f":"get","key":"k","value":"a","time":35,"applied":1,"replica":"c0"}
{"process":1,"type":"invoke","f":"get","key":"k","replica":"untimed"}
{"process":1,"type":"ok","f":"get","key":"k","value":"a","time":500,"applied":1,"replica":"untimed"}
)");
  // Seen by c0 at 35: 25 ns; the untimed replica's read at 500 is left out.
  EXPECT_EQ(f.write_visibility_ns.count, 1u);
  EXPECT_EQ(f.write_visibility_ns.max, 25);
}

// The staleness figures against a plain reading of their definitions
// (staleness.h), on random operations: several replicas, some opening late,
// times and positions that tie and go back, writes without offsets, reads
// without positions, failed and unknown outcomes.
StalenessFigures StalenessByDefinition(const std::vector<Operation>& ops) {
  struct Ack {
    int64_t time, offset;
  };
  std::vector<Ack> acks;
  std::map<std::string, int64_t> opened;
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> seen;  // replica -> (time, applied)
  for (const Operation& o : ops) {
    if (o.replica && o.call_time) {
      auto [it, added] = opened.try_emplace(std::string(*o.replica), *o.call_time);
      it->second = std::min(it->second, *o.call_time);
    }
    if (!o.ok()) continue;
    const bool read = o.f == "get" || o.f == "range";
    if (!read && o.offset && o.ret_time) acks.push_back({*o.ret_time, *o.offset});
    if (read && o.applied && o.ret_time && o.replica) seen[std::string(*o.replica)].emplace_back(*o.ret_time, *o.applied);
  }
  std::vector<int64_t> behind_offsets, behind_ns, visibility;
  StalenessFigures out;
  for (const Operation& o : ops) {
    if (!o.ok() || !(o.f == "get" || o.f == "range") || !o.applied || !o.call_time) continue;
    bool any = false;
    int64_t top = INT64_MIN;
    std::optional<int64_t> first;  // the earliest acknowledgement of an offset >= applied
    for (const Ack& a : acks) {
      if (a.time >= *o.call_time) continue;
      any = true;
      top = std::max(top, a.offset);
      if (a.offset >= *o.applied && (!first || a.time < *first)) first = a.time;
    }
    behind_offsets.push_back(any ? std::max<int64_t>(0, top + 1 - *o.applied) : 0);
    behind_ns.push_back(any && first ? *o.call_time - *first : 0);
  }
  for (const Ack& a : acks) {
    int64_t latest = a.time;
    bool everywhere = true;
    size_t counted = 0;
    for (const auto& [name, obs] : seen) {
      // A replica no invocation gave a time to is never open.
      if (auto it = opened.find(name); it == opened.end() || it->second > a.time) continue;
      ++counted;
      std::optional<int64_t> past;  // the earliest observation past the offset
      for (const auto& [time, applied] : obs) {
        if (applied > a.offset && (!past || time < *past)) past = time;
      }
      if (!past) {
        everywhere = false;
      } else {
        latest = std::max(latest, *past);
      }
    }
    if (counted == 0) continue;
    if (everywhere) {
      visibility.push_back(latest - a.time);
    } else {
      ++out.writes_never_seen_everywhere;
    }
  }
  out.available = !behind_offsets.empty() || !visibility.empty();
  out.read_offsets_behind = Quantiles::Of(std::move(behind_offsets));
  out.read_ns_behind = Quantiles::Of(std::move(behind_ns));
  out.write_visibility_ns = Quantiles::Of(std::move(visibility));
  return out;
}

TEST(Staleness, FiguresAreTheirDefinitionsOnRandomOperations) {
  std::mt19937_64 rng(17);
  auto below = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  auto same = [](const Quantiles& a, const Quantiles& b) {
    return a.count == b.count && a.p50 == b.p50 && a.p90 == b.p90 && a.p99 == b.p99 && a.max == b.max;
  };
  size_t never_seen = 0, visible = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<Operation> ops;
    const int64_t n = below(200), replicas = 1 + below(5), span = 1 + below(400), positions = 1 + below(120);
    for (int64_t i = 0; i < n; ++i) {
      Operation o;
      o.index = static_cast<size_t>(i);
      o.f = below(2) ? "put" : below(4) ? "get" : "range";
      const int64_t outcome = below(10);
      o.outcome = outcome < 8 ? EventType::kOk : outcome == 8 ? EventType::kFail : EventType::kInfo;
      // Mostly in time order, sometimes not (another clock).
      const int64_t call = below(5) ? i * span / std::max<int64_t>(n, 1) + below(10) : below(span);
      o.call_time = call;
      if (below(10)) o.ret_time = call + below(30);
      // A late replica opens in the history's second half.
      const int64_t r = below(replicas);
      o.replica = r == replicas - 1 && replicas > 2 && i < n / 2 ? "r0" : fmt::format("r{}", r);
      if (o.f == "put" && below(8)) o.offset = below(positions);
      if (o.f != "put" && below(8)) o.applied = below(positions + 2);
      ops.push_back(std::move(o));
    }
    const StalenessFigures got = MeasureStaleness(ops), want = StalenessByDefinition(ops);
    ASSERT_EQ(got.available, want.available) << "round " << round;
    ASSERT_TRUE(same(got.read_offsets_behind, want.read_offsets_behind)) << "round " << round;
    ASSERT_TRUE(same(got.read_ns_behind, want.read_ns_behind)) << "round " << round;
    ASSERT_TRUE(same(got.write_visibility_ns, want.write_visibility_ns))
        << "round " << round << ": " << got.write_visibility_ns.ToString() << " against "
        << want.write_visibility_ns.ToString();
    ASSERT_EQ(got.writes_never_seen_everywhere, want.writes_never_seen_everywhere) << "round " << round;
    never_seen += got.writes_never_seen_everywhere;
    visible += got.write_visibility_ns.count;
  }
  EXPECT_GT(never_seen, 0u);  // both kinds of write occurred
  EXPECT_GT(visible, 0u);
}

// --- refusals: what the checks cannot judge is an error or "unknown" -------

Result<FullReport> TryCheck(const History& h, std::vector<std::string> checks, bool allow_empty = false) {
  CheckOptions o;
  o.checks = std::move(checks);
  o.allow_empty = allow_empty;
  return CheckHistory(h, Format::kJsonl, o);
}

TEST(Refusals, NoOperationsIsAnErrorUnlessAllowed) {
  for (const char* text : {"", "\n\n  \n", R"({"log":{"offset":0,"key":"k","value":"a"}})"}) {
    History h = Jsonl(text);
    auto r = TryCheck(h, {});
    ASSERT_FALSE(r.has_value()) << "'" << text << "'";
    EXPECT_NE(r.error().reason.find("no operations"), std::string::npos) << r.error().ToString();
    EXPECT_NE(r.error().reason.find("--allow-empty"), std::string::npos);
    auto allowed = TryCheck(h, {}, true);
    ASSERT_TRUE(allowed.has_value());
  }
  // One operation is enough.
  EXPECT_TRUE(TryCheck(Jsonl(Session("\"b\"", "2", "\"b\"")), {}).has_value());
}

constexpr char kTwice[] = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":0}
{"process":1,"type":"invoke","f":"put","key":"k","value":"SECOND"}
{"process":1,"type":"ok","f":"put","key":"k","value":"SECOND","offset":1}
{"process":1,"type":"invoke","f":"get","key":"k"}
{"process":1,"type":"ok","f":"get","key":"k","value":"SECOND","applied":2}
{"log":{"offset":0,"key":"k","value":"a"}}
LOG1
)";

std::string Twice(const std::string& second, const std::string& log1) {
  std::string t = kTwice;
  for (size_t at; (at = t.find("SECOND")) != std::string::npos;) t.replace(at, 6, second);
  t.replace(t.find("LOG1"), 4, log1);
  return t;
}

TEST(Refusals, AValueWrittenTwiceIsRefusedNamingTheLine) {
  // Unique values: valid.
  auto good = TryCheck(Jsonl(Twice("b", R"({"log":{"offset":1,"key":"k","value":"b"}})")), {"session", "durability"});
  ASSERT_TRUE(good.has_value()) << good.error().ToString();
  EXPECT_EQ(good->Overall(), Verdict::kValid);
  // "a" twice, both in the log (once gave a false read-your-writes), or once
  // in the log (once gave durability valid: a lost write missed).
  for (const std::string& log1 : {std::string(R"({"log":{"offset":1,"key":"k","value":"a"}})"), std::string()}) {
    for (const char* check : {"session", "durability"}) {
      auto r = TryCheck(Jsonl(Twice("a", log1)), {check});
      ASSERT_FALSE(r.has_value()) << check << " " << log1;
      EXPECT_EQ(r.error().line, 3) << r.error().ToString();
      EXPECT_NE(r.error().reason.find("k=a again (first written at line 1)"), std::string::npos)
          << r.error().ToString();
      EXPECT_NE(r.error().reason.find("unique"), std::string::npos);
    }
  }
  // The same value under another key is another write.
  auto other = TryCheck(Jsonl(R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a","offset":0}
{"process":0,"type":"invoke","f":"put","key":"j","value":"a"}
{"process":0,"type":"ok","f":"put","key":"j","value":"a","offset":1}
{"log":{"offset":0,"key":"k","value":"a"}}
{"log":{"offset":1,"key":"j","value":"a"}}
)"),
                        {"session", "durability"});
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(Report(*other, "durability").verdict, Verdict::kValid);
  // Linearizability does not name writes by value: repeated values are fine.
  auto lin = TryCheck(Jsonl(Twice("a", "")), {"linearizability"});
  EXPECT_TRUE(lin.has_value());
}

TEST(Refusals, WithoutTheLogSessionAndDurabilityAreNeverValid) {
  const std::string no_log = Twice("b", "");
  std::string text = no_log.substr(0, no_log.find("{\"log\""));
  History h = Jsonl(text);
  ASSERT_FALSE(h.has_log);
  auto r = TryCheck(h, {"session", "durability"});
  ASSERT_TRUE(r.has_value());
  for (const char* c : {"session", "durability"}) {
    EXPECT_EQ(Report(*r, c).verdict, Verdict::kUnknown) << c;
    EXPECT_NE(Report(*r, c).summary.find("no log"), std::string::npos) << Report(*r, c).summary;
  }
  EXPECT_EQ(r->Overall(), Verdict::kUnknown);
  EXPECT_EQ(ExitCode(r->Overall()), 2);
  // What the reported offsets do show is still a violation.
  std::string stale = text;
  stale.replace(stale.find(R"("value":"b","applied":2)"), 23, R"("value":"a","applied":2)");
  auto bad = TryCheck(Jsonl(stale), {"session"});
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(Report(*bad, "session").verdict, Verdict::kInvalid);
  // An empty log that was captured is a log.
  auto captured = TryCheck(Jsonl("{\"meta\":{\"log_captured\":true}}\n" + text), {"durability"});
  ASSERT_TRUE(captured.has_value());
  EXPECT_EQ(Report(*captured, "durability").verdict, Verdict::kInvalid);  // both writes lost
}

TEST(Refusals, OptionsOutOfRangeAreErrors) {
  History h = Jsonl(Session("\"b\"", "2", "\"b\""));
  CheckOptions o;
  o.linearizability.budget = std::chrono::milliseconds(-5);
  ASSERT_FALSE(CheckHistory(h, Format::kJsonl, o).has_value());
  EXPECT_NE(CheckHistory(h, Format::kJsonl, o).error().reason.find("budget"), std::string::npos);
  o = {};
  o.linearizability.threads = -3;
  ASSERT_FALSE(CheckHistory(h, Format::kJsonl, o).has_value());
  EXPECT_NE(CheckHistory(h, Format::kJsonl, o).error().reason.find("threads must be >= 1, not -3"),
            std::string::npos);
  o = {};
  o.model = "nosuch";  // without a linearizability check, too
  ASSERT_FALSE(CheckHistory(h, Format::kJsonl, o).has_value());
  EXPECT_NE(CheckHistory(h, Format::kJsonl, o).error().reason.find("unknown model 'nosuch'"), std::string::npos);
  o = {};
  o.linearizability.budget = std::chrono::milliseconds(0);
  o.linearizability.threads = 1;
  EXPECT_TRUE(CheckHistory(h, Format::kJsonl, o).has_value());
}

TEST(Timing, EachCheckReportsItsAnalysisTime) {
  testing::GenerateOptions g;
  g.operations = 20'000;
  g.range_percent = 5;
  History h = testing::GenerateKvHistory(g);
  auto r = Check(h, {"session", "convergence", "durability", "linearizability"}, "kv");
  ASSERT_EQ(r.reports.size(), 4u);
  for (const auto& c : r.reports) EXPECT_GT(c.seconds, 0.0) << c.checker;
  // The moving variant gives the same verdicts and frees the events.
  History copy = h;
  CheckOptions o;
  o.checks = {"session", "convergence", "durability"};
  auto moved = CheckHistory(std::move(copy), Format::kJsonl, o);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->Overall(), Verdict::kValid);
  EXPECT_EQ(moved->ops.size(), h.events.size() / 2);
}

// --- generated --------------------------------------------------------------

using testing::Breakage;

RC_GTEST_PROP(Generated, KvHistoriesAreValidAndEachBreakageIsCaught, ()) {
  testing::GenerateOptions g;
  g.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  g.operations = *rc::gen::inRange<size_t>(200, 600);
  g.replicas = *rc::gen::inRange(2, 5);
  g.keys = *rc::gen::inRange(2, 8);
  History h = testing::GenerateKvHistory(g);
  auto clean = Check(h, {"session", "convergence", "durability"});
  RC_ASSERT(clean.Overall() == Verdict::kValid);
  struct Expect {
    Breakage b;
    const char* checker;
    const char* kind;
  } const expectations[] = {
      {Breakage::kStaleOwnRead, "session", "read-your-writes"},
      {Breakage::kNonMonotonic, "session", "monotonic-reads"},
      {Breakage::kLostWrite, "durability", "lost-write"},
      {Breakage::kDuplicateWrite, "durability", "duplicated-write"},
      {Breakage::kPhantomWrite, "durability", "phantom-write"},
      {Breakage::kDivergence, "convergence", "divergence"},
  };
  const auto e = *rc::gen::elementOf(std::vector<Expect>(std::begin(expectations), std::end(expectations)));
  History broken = h;
  const uint64_t where = *rc::gen::arbitrary<uint64_t>();
  RC_PRE(testing::InjectViolation(&broken, e.b, where));
  auto r = Check(broken, {"session", "convergence", "durability"});
  const CheckReport& c = Report(r, e.checker);
  RC_ASSERT(c.verdict == Verdict::kInvalid);
  if (e.b != Breakage::kDivergence || h.finals.size() > 1) {
    RC_ASSERT(HasKind(c, e.kind) || (e.b == Breakage::kDivergence && HasKind(c, "digest-mismatch")));
  }
}

// Leaves `h` valid, or gives it a lost, duplicated or phantom record (the
// case is discarded when the history offers no place for one); true when
// it broke it.
bool MaybeBreakDurability(History* h, uint64_t seed) {
  const auto breakage = *rc::gen::elementOf(std::vector<int>{-1, static_cast<int>(Breakage::kLostWrite),
                                                             static_cast<int>(Breakage::kDuplicateWrite),
                                                             static_cast<int>(Breakage::kPhantomWrite)});
  if (breakage >= 0) RC_PRE(testing::InjectViolation(h, static_cast<Breakage>(breakage), seed));
  return breakage >= 0;
}

// The write index keeps each write's version (WriteIndex::VersionOfWrite) for
// the session check: it must be VersionOf of the write's key and value, on
// valid and broken histories (a lost, duplicated or phantom record moves a
// value's first record), and every such write must count as invoked.
RC_GTEST_PROP(Generated, EachWritesVersionIsTheVersionOfItsValue, ()) {
  testing::GenerateOptions g;
  g.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  g.operations = *rc::gen::inRange<size_t>(50, 400);
  g.replicas = *rc::gen::inRange(1, 5);
  g.keys = *rc::gen::inRange(1, 8);
  History h = testing::GenerateKvHistory(g);
  MaybeBreakDurability(&h, g.seed);
  auto ops = PairOperations(h);
  RC_ASSERT(ops.has_value());
  WriteIndex index(h, *ops);
  size_t with_value = 0;
  for (size_t i = 0; i < index.writes().size(); ++i) {
    const Write& w = index.writes()[i];
    if (!w.value) {
      RC_ASSERT(!index.VersionOfWrite(i).has_value());
      continue;
    }
    ++with_value;
    RC_ASSERT(index.VersionOfWrite(i) == index.VersionOf(w.key, *w.value));
    RC_ASSERT(index.Invoked(w.key, *w.value));
  }
  RC_TAG(with_value > 0 ? "writes with values" : "no values");
}

// With two threads the write index builds its writes in two halves and its
// by-key lists beside the log pass: every answer is the one a single thread
// gives, on valid and broken histories (a lost, duplicated or phantom record).
RC_GTEST_PROP(Generated, TheWriteIndexOnTwoThreadsIsTheOneOnOne, ()) {
  testing::GenerateOptions g;
  g.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  g.operations = *rc::gen::inRange<size_t>(2, 400);
  g.replicas = *rc::gen::inRange(1, 5);
  g.keys = *rc::gen::inRange(1, 8);
  g.range_percent = *rc::gen::inRange(0, 20);
  History h = testing::GenerateKvHistory(g);
  const bool broken = MaybeBreakDurability(&h, g.seed);
  auto ops = PairOperations(h);
  RC_ASSERT(ops.has_value());
  // `writes_made` is called once either way (CheckPaired's side worker
  // waits for it).
  int made_one = 0, made_two = 0;
  const WriteIndex one(h, *ops, /*threads=*/1, WriteIndex::kParallelMinOps, [&] { ++made_one; });
  const WriteIndex two(h, *ops, /*threads=*/2, /*parallel_min_ops=*/0, [&] { ++made_two; });
  RC_ASSERT(made_one == 1);
  RC_ASSERT(made_two == 1);
  RC_ASSERT(one.writes().size() == two.writes().size());
  RC_ASSERT(one.RepeatedValue() == two.RepeatedValue());
  for (size_t i = 0; i < one.writes().size(); ++i) {
    const Write& a = one.writes()[i];
    const Write& b = two.writes()[i];
    RC_ASSERT(a.op == b.op);
    RC_ASSERT(a.f == b.f);
    RC_ASSERT(a.key == b.key);
    RC_ASSERT(a.value == b.value);
    RC_ASSERT(a.op_id == b.op_id);
    RC_ASSERT(a.offset == b.offset);
    RC_ASSERT(a.ordinal == b.ordinal);
    RC_ASSERT(a.same == b.same);
    RC_ASSERT(a.definite == b.definite);
    RC_ASSERT(a.possible == b.possible);
    RC_ASSERT(one.VersionOfWrite(i) == two.VersionOfWrite(i));
    RC_ASSERT(one.LogRecords(a) == two.LogRecords(b));
  }
  for (size_t i = 0; i < h.log.size(); ++i) {
    RC_ASSERT(one.RecordApplied(i) == two.RecordApplied(i));
    RC_ASSERT(one.RecordOpInvoked(i) == two.RecordOpInvoked(i));
    const LogRecord& r = h.log[i];
    for (int64_t position : {r.offset, r.offset + 1}) {
      RC_ASSERT(one.StateAt(r.key, position) == two.StateAt(r.key, position));
    }
  }
  RC_TAG(broken ? "broken" : "valid");
}

// The write index links a log record to the write that reported its offset
// (same key, same value or both none, same op id) and leaves it out of its
// op-id tables (writes.h): LogRecords and RecordOpInvoked must still answer
// as their definitions read, for puts and deletes, when records carry another
// operation's id, an id nobody invoked or none, name another key, or are
// lost, duplicated or phantoms, and when operations share an id (which no
// recorder should do, but a history may). Linking a tombstone whatever its
// op id or key, or a record whose id two deletes of its key share, fails it.
RC_GTEST_PROP(Generated, LinkedLogRecordsAnswerAsTheirDefinitions, ()) {
  testing::GenerateOptions g;
  g.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  g.operations = *rc::gen::inRange<size_t>(2, 300);
  g.replicas = *rc::gen::inRange(1, 5);
  g.keys = *rc::gen::inRange(1, 8);
  g.delete_percent = *rc::gen::inRange(0, 60);
  g.range_percent = *rc::gen::inRange(0, 10);
  History h = testing::GenerateKvHistory(g);
  // Op ids on every operation, and on each record that a write reported.
  std::map<int64_t, std::string> pending;  // process -> its invocation's id
  std::map<int64_t, std::string> by_offset;
  int next = 0;
  const int shared_percent = *rc::gen::inRange(0, 30);  // operations given the previous one's id
  std::mt19937_64 ids(g.seed + 1);
  std::string last;
  for (Event& e : h.events) {
    if (e.type == EventType::kInvoke) {
      const bool shared = !last.empty() && static_cast<int>(ids() % 100) < shared_percent;
      pending[e.process] = shared ? last : fmt::format("p{}-{}", e.process, next++);
      last = pending[e.process];
    }
    e.op = pending[e.process];
    if (e.type == EventType::kOk && e.offset) by_offset[*e.offset] = *e.op;
  }
  for (LogRecord& r : h.log) {
    if (auto it = by_offset.find(r.offset); it != by_offset.end()) r.op = it->second;
  }
  const bool broken = MaybeBreakDurability(&h, g.seed);
  std::mt19937_64 rng(g.seed);
  const int mutate_percent = *rc::gen::inRange(0, 40);
  for (LogRecord& r : h.log) {
    if (static_cast<int>(rng() % 100) >= mutate_percent) continue;
    switch (rng() % 4) {
      case 0:
        r.op.reset();
        break;
      case 1:
        r.op = "nobody";
        break;
      case 2:
        r.op = fmt::format("p{}-{}", rng() % 5, rng() % (next + 1));  // maybe another operation's
        break;
      default:
        r.key = fmt::format("k{}", rng() % 8);  // maybe another key
        break;
    }
  }
  auto ops = PairOperations(h);
  RC_ASSERT(ops.has_value());
  const WriteIndex index(h, *ops);
  for (const Write& w : index.writes()) {
    std::vector<size_t> want;
    if (w.op_id) {
      size_t matching = 0;
      for (size_t i = 0; i < h.log.size(); ++i) {
        const LogRecord& r = h.log[i];
        if (r.op != *w.op_id || r.key != w.key || r.value != w.value) continue;
        if (matching % w.same == w.ordinal) want.push_back(i);
        ++matching;
      }
    }
    if (want.empty() && w.value) {
      for (size_t i = 0; i < h.log.size(); ++i) {
        if (h.log[i].key == w.key && h.log[i].value == w.value) want.push_back(i);
      }
    } else if (want.empty() && w.offset) {
      auto it = std::lower_bound(h.log.begin(), h.log.end(), *w.offset,
                                 [](const LogRecord& a, int64_t b) { return a.offset < b; });
      for (; it != h.log.end() && it->offset == *w.offset; ++it) {
        if (it->key == w.key && !it->value) {
          want.push_back(static_cast<size_t>(it - h.log.begin()));
          break;
        }
      }
    }
    RC_ASSERT(index.LogRecords(w) == want);
  }
  for (size_t i = 0; i < h.log.size(); ++i) {
    const OptionalString& id = h.log[i].op;
    const bool invoked = id && std::any_of(ops->begin(), ops->end(), [&](const Operation& o) { return o.op == id; });
    RC_ASSERT(index.RecordOpInvoked(i) == invoked);
  }
  RC_TAG(broken ? "broken" : "valid");
  RC_TAG(g.delete_percent > 0 ? "deletes" : "no deletes");
}

// With two threads the session check runs on a worker beside durability and
// convergence: the reports, violations and their order are the same as with
// one, broken or not.
RC_GTEST_PROP(Generated, TheSessionCheckOnAWorkerReportsAsOnOneThread, ()) {
  testing::GenerateOptions g;
  g.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  g.operations = *rc::gen::inRange<size_t>(200, 600);
  g.replicas = *rc::gen::inRange(2, 5);
  g.keys = *rc::gen::inRange(2, 8);
  g.range_percent = *rc::gen::inRange(0, 20);
  History h = testing::GenerateKvHistory(g);
  const auto breakage = *rc::gen::element(Breakage::kStaleOwnRead, Breakage::kNonMonotonic, Breakage::kLostWrite,
                                          Breakage::kDuplicateWrite, Breakage::kPhantomWrite);
  if (*rc::gen::arbitrary<bool>()) testing::InjectViolation(&h, breakage, *rc::gen::arbitrary<uint64_t>());
  auto text = [&](int threads) {
    CheckOptions o;  // the default checks: session, convergence, durability
    o.linearizability.threads = threads;
    auto r = CheckHistory(h, Format::kJsonl, o);
    RC_ASSERT(r.has_value());
    std::string out;
    for (const CheckReport& c : r->reports) {
      out += fmt::format("{} {} {} {}\n", c.checker, VerdictName(c.verdict), c.summary, c.violation_count);
      for (const Violation& v : c.violations) out += fmt::format("  {} {} {}\n", v.kind, v.message, fmt::join(v.ops, ","));
    }
    // Convergence and the staleness figures run on a worker too.
    const StalenessFigures& s = r->staleness;
    out += fmt::format("staleness {} {} {} {} {}\n", s.available, s.read_offsets_behind.ToString(),
                       s.read_ns_behind.ToString(), s.write_visibility_ns.ToString(), s.writes_never_seen_everywhere);
    return out;
  };
  const std::string one = text(1);
  RC_ASSERT(one.find("session") != std::string::npos);
  RC_ASSERT(text(2) == one);
}

// The session check split by replica among 2 to 4 threads finds what one
// thread finds, in the same order: on generated histories, valid or broken
// (injected stale and non-monotonic reads, and reads given another read's
// value, so that a run has many violations, past the reported 100 at times),
// with one process per replica or several sharing one (a replica's writes are
// its processes' own).
RC_GTEST_PROP(Generated, TheSessionCheckSplitByReplicaReportsAsUnsplit, ()) {
  testing::GenerateOptions g;
  g.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  g.operations = *rc::gen::inRange<size_t>(100, 1500);
  g.replicas = *rc::gen::inRange(1, 9);
  g.keys = *rc::gen::inRange(1, 12);
  g.range_percent = *rc::gen::inRange(0, 30);
  History h = testing::GenerateKvHistory(g);
  const int shared = *rc::gen::inRange(0, 4);  // > 0: processes share this many replicas
  if (shared > 0) {
    for (Event& e : h.events) e.replica = fmt::format("r{}", e.process % shared);
  }
  const int injected = *rc::gen::inRange(0, 4);
  for (int i = 0; i < injected; ++i) {
    testing::InjectViolation(&h, *rc::gen::element(Breakage::kStaleOwnRead, Breakage::kNonMonotonic),
                             *rc::gen::arbitrary<uint64_t>());
  }
  const int shuffled = *rc::gen::element(0, 0, 5, 50);  // percent of gets given another get's value
  if (shuffled > 0) {
    std::vector<Event*> gets;
    for (Event& e : h.events) {
      if (e.type == EventType::kOk && e.f == "get") gets.push_back(&e);
    }
    uint64_t x = g.seed;
    for (Event* e : gets) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      if ((x >> 33) % 100 >= static_cast<uint64_t>(shuffled)) continue;
      const Event* other = gets[(x >> 17) % gets.size()];
      e->key = other->key;
      e->value = other->value;
    }
  }
  auto ops = PairOperations(h);
  RC_ASSERT(ops.has_value());
  const WriteIndex writes(h, *ops);
  RC_PRE(!writes.RepeatedValue());
  auto text = [&](const CheckReport& c) {
    std::string out = fmt::format("{} {} {}\n", VerdictName(c.verdict), c.summary, c.violation_count);
    for (const Violation& v : c.violations) out += fmt::format("  {} {} {}\n", v.kind, v.message, fmt::join(v.ops, ","));
    return out;
  };
  const CheckReport one = CheckSessions(h, *ops, writes);
  const std::string unsplit = text(one);
  for (int threads : {2, 3, 4}) {
    RC_ASSERT(text(CheckSessions(h, *ops, writes, threads, /*parallel_min_ops=*/0)) == unsplit);
  }
  // Large enough histories are split only from parallel_min_ops on.
  RC_ASSERT(text(CheckSessions(h, *ops, writes, 2)) == unsplit);
  RC_TAG(one.violation_count == 0 ? "valid" : one.violation_count > kMaxReportedViolations ? "over 100" : "broken");
}

// `text` with every "line <digits>" as "line N".
std::string WithoutLineNumbers(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 5, "line ") == 0 && i + 5 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 5]))) {
      out += "line N";
      i += 5;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    } else {
      out += text[i++];
    }
  }
  return out;
}

// The JSONL reader interns range pairs (and the session check caches what it
// derived per interned pair): a generated history with many ranges, broken or
// not, gets the same session and durability violations read back from JSONL
// as built in memory, where nothing is shared.
RC_GTEST_PROP(Generated, RangeHistoriesJudgeTheSameInMemoryAndFromJsonl, ()) {
  testing::GenerateOptions g;
  g.seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  g.operations = *rc::gen::inRange<size_t>(200, 600);
  g.replicas = *rc::gen::inRange(2, 5);
  g.keys = *rc::gen::inRange(2, 8);
  g.range_percent = 40;
  History h = testing::GenerateKvHistory(g);
  const auto breakage = *rc::gen::elementOf(std::vector<Breakage>{
      Breakage::kStaleOwnRead, Breakage::kNonMonotonic, Breakage::kLostWrite, Breakage::kPhantomWrite});
  if (*rc::gen::arbitrary<bool>()) testing::InjectViolation(&h, breakage, *rc::gen::arbitrary<uint64_t>());
  auto read_back = ParseJsonl(WriteJsonl(h), "generated.jsonl");
  RC_ASSERT(read_back.has_value());
  const std::vector<std::string> checks = {"session", "durability"};
  auto in_memory = Check(h, checks);
  auto from_jsonl = Check(*read_back, checks);
  for (const std::string& c : checks) {
    const CheckReport& a = Report(in_memory, c);
    const CheckReport& b = Report(from_jsonl, c);
    RC_ASSERT(a.verdict == b.verdict);
    RC_ASSERT(a.summary == b.summary);
    RC_ASSERT(a.violations.size() == b.violations.size());
    for (size_t i = 0; i < a.violations.size(); ++i) {
      RC_ASSERT(a.violations[i].kind == b.violations[i].kind);
      // The same sentence, but for line numbers (in memory, every line is 0).
      RC_ASSERT(WithoutLineNumbers(a.violations[i].message) == WithoutLineNumbers(b.violations[i].message));
      RC_ASSERT(a.violations[i].ops == b.violations[i].ops);
    }
  }
}

RC_GTEST_PROP(Generated, RegisterHistoriesAreLinearizableUntilAnImpossibleRead, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  History h = testing::GenerateRegisterHistory(seed, *rc::gen::inRange<size_t>(5, 120), *rc::gen::inRange(1, 6));
  auto good = Check(h, {"linearizability"}, "cas-register");
  RC_ASSERT(Report(good, "linearizability").verdict == Verdict::kValid);
  // A fresh process reads, after everything else, a value that is not the
  // final one: no linearization explains it.
  auto ops = PairOperations(h);
  RC_ASSERT(ops.has_value());
  Value final_state;
  bool wrote = false;
  for (const auto& o : *ops) {
    if (o.f == "write") wrote = true;
  }
  RC_PRE(wrote);
  Event inv;
  inv.process = 1000;
  inv.type = EventType::kInvoke;
  inv.f = "read";
  Event done = inv;
  done.type = EventType::kOk;
  done.value = Value::Int(-1);  // generated values are positive
  h.events.push_back(inv);
  h.events.push_back(done);
  auto bad = Check(h, {"linearizability"}, "cas-register");
  RC_ASSERT(Report(bad, "linearizability").verdict == Verdict::kInvalid);
  RC_ASSERT(bad.ops[bad.linearizability->witness->blocking_op].process == 1000);
}

}  // namespace
}  // namespace kvlog::checker
