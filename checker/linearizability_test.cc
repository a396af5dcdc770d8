// The linearizability engine and its models: batches (independent records),
// ranges (judged per key), the default model choice, cancellation of the
// other parts once one is not linearizable, and the search against a brute
// force on small random histories (both verdicts).
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>

#include "checker/check.h"
#include "checker/jsonl.h"
#include "checker/linearizability.h"
#include "checker/testing/generate.h"
#include "gtest/gtest.h"
#include "rapidcheck/gtest.h"

namespace kvlog::checker {
namespace {

std::vector<Operation> Ops(const std::string& jsonl) {
  auto h = ParseJsonl(jsonl, "test.jsonl");
  EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().ToString());
  if (!h) return {};
  auto ops = PairOperations(*h);
  EXPECT_TRUE(ops.has_value()) << (ops ? "" : ops.error().ToString());
  return ops ? *ops : std::vector<Operation>{};
}

LinearizabilityResult Lin(const std::vector<Operation>& ops, const std::string& model, int threads = 1) {
  auto m = MakeModel(model);
  EXPECT_NE(m, nullptr) << model;
  LinearizabilityOptions o;
  o.threads = threads;
  return CheckLinearizability(ops, *m, o);
}

Verdict V(const std::string& jsonl, const std::string& model = "kv") { return Lin(Ops(jsonl), model).verdict; }

// --- batch ---------------------------------------------------------------

// Process 0's batch writes a=1 then b=2; process 1 reads during and after it.
std::string Batch(const std::string& type, const std::string& reads_during, const std::string& reads_after) {
  return R"({"process":0,"type":"invoke","f":"batch","value":[{"f":"put","key":"a","value":"1"},{"f":"put","key":"b","value":"2"}]}
)" + reads_during +
         R"({"process":0,"type":")" + type +
         R"(","f":"batch","value":[{"f":"put","key":"a","value":"1"},{"f":"put","key":"b","value":"2"}]}
)" + reads_after;
}

std::string Get(const std::string& key, const std::string& value, int process = 1) {
  const std::string p = std::to_string(process);
  return R"({"process":)" + p + R"(,"type":"invoke","f":"get","key":")" + key + "\"}\n" + R"({"process":)" + p +
         R"(,"type":"ok","f":"get","key":")" + key + R"(","value":)" + value + "}\n";
}

TEST(Batch, RecordsAreIndependentWritesReadersMaySeePartOfIt) {
  // During the batch a reader may see a's record and not yet b's.
  EXPECT_EQ(V(Batch("ok", Get("a", "\"1\"") + Get("b", "null"), "")), Verdict::kValid);
  // Not atomic: b's record may even be seen before a's (per key, nothing
  // orders records of different keys).
  EXPECT_EQ(V(Batch("ok", Get("b", "\"2\"") + Get("a", "null"), "")), Verdict::kValid);
  // Once the batch is acknowledged, every record has taken effect.
  EXPECT_EQ(V(Batch("ok", "", Get("a", "\"1\"") + Get("b", "\"2\""))), Verdict::kValid);
  EXPECT_EQ(V(Batch("ok", "", Get("a", "\"1\"") + Get("b", "null"))), Verdict::kInvalid);
  // A failed batch did not happen.
  EXPECT_EQ(V(Batch("fail", "", Get("a", "null") + Get("b", "null"))), Verdict::kValid);
  EXPECT_EQ(V(Batch("fail", "", Get("a", "\"1\""))), Verdict::kInvalid);
  // An info batch: each record took effect or not, independently.
  EXPECT_EQ(V(Batch("info", "", Get("a", "null") + Get("b", "\"2\""))), Verdict::kValid);
  EXPECT_EQ(V(Batch("info", "", Get("a", "\"1\"") + Get("b", "null"))), Verdict::kValid);
  // ... but once seen it stays.
  EXPECT_EQ(V(Batch("info", "", Get("a", "\"1\"") + Get("a", "null"))), Verdict::kInvalid);
}

TEST(Batch, RecordsOnOneKeyKeepTheirOrder) {
  const std::string value = R"([{"f":"put","key":"k","value":"1"},{"f":"put","key":"k","value":"2"}])";
  auto batch = [&](const std::string& type, const std::string& during, const std::string& after) {
    return R"({"process":0,"type":"invoke","f":"batch","value":)" + value + "}\n" + during +
           R"({"process":0,"type":")" + type + R"(","f":"batch","value":)" + value + "}\n" + after;
  };
  // The first record may be seen before the second.
  EXPECT_EQ(V(batch("ok", Get("k", "\"1\"") + Get("k", "\"2\""), "")), Verdict::kValid);
  // Never the other way round, and the last record wins.
  EXPECT_EQ(V(batch("ok", Get("k", "\"2\"") + Get("k", "\"1\""), "")), Verdict::kInvalid);
  EXPECT_EQ(V(batch("ok", "", Get("k", "\"1\""))), Verdict::kInvalid);
  EXPECT_EQ(V(batch("ok", "", Get("k", "\"2\""))), Verdict::kValid);
  // Of an info batch, either record alone may have landed, but not 2 then 1.
  EXPECT_EQ(V(batch("info", "", Get("k", "\"1\""))), Verdict::kValid);
  EXPECT_EQ(V(batch("info", "", Get("k", "\"2\""))), Verdict::kValid);
  EXPECT_EQ(V(batch("info", "", Get("k", "\"2\"") + Get("k", "\"1\""))), Verdict::kInvalid);
}

TEST(Batch, DeleteRecordsAndOtherWritersBetweenRecords) {
  const std::string text = R"({"process":2,"type":"invoke","f":"put","key":"a","value":"0"}
{"process":2,"type":"ok","f":"put","key":"a","value":"0"}
{"process":0,"type":"invoke","f":"batch","value":[{"f":"delete","key":"a"},{"f":"put","key":"b","value":"2"}]}
{"process":2,"type":"invoke","f":"put","key":"a","value":"3"}
{"process":2,"type":"ok","f":"put","key":"a","value":"3"}
{"process":0,"type":"ok","f":"batch","value":[{"f":"delete","key":"a"},{"f":"put","key":"b","value":"2"}]}
)";
  // Another writer's record may land before or after the batch's delete.
  EXPECT_EQ(V(text + Get("a", "null")), Verdict::kValid);
  EXPECT_EQ(V(text + Get("a", "\"3\"")), Verdict::kValid);
  EXPECT_EQ(V(text + Get("a", "\"0\"")), Verdict::kInvalid);
}

// --- range ---------------------------------------------------------------

std::string Put(const std::string& key, const std::string& value, int process = 0) {
  const std::string p = std::to_string(process);
  return R"({"process":)" + p + R"(,"type":"invoke","f":"put","key":")" + key + R"(","value":")" + value +
         "\"}\n" + R"({"process":)" + p + R"(,"type":"ok","f":"put","key":")" + key + R"(","value":")" + value +
         "\"}\n";
}

std::string Range(const std::string& lower, const std::string& pairs) {
  return R"({"process":1,"type":"invoke","f":"range","key":")" + lower + "\"}\n" +
         R"({"process":1,"type":"ok","f":"range","key":")" + lower + R"(","value":)" + pairs + "}\n";
}

TEST(Range, EachKeyItReturnsAndEachKeyItSkipsBetweenItsBounds) {
  const std::string writes = Put("a", "1") + Put("b", "2") + Put("c", "3") + Put("a", "4");
  EXPECT_EQ(V(writes + Range("a", R"([["a","4"],["b","2"],["c","3"]])")), Verdict::kValid);
  // A stale value.
  EXPECT_EQ(V(writes + Range("a", R"([["a","1"],["b","2"],["c","3"]])")), Verdict::kInvalid);
  // b is present, lies between the lower bound and the last key returned,
  // and was skipped: a read of b as absent.
  EXPECT_EQ(V(writes + Range("a", R"([["a","4"],["c","3"]])")), Verdict::kInvalid);
  // Keys outside what the range is known to cover say nothing.
  EXPECT_EQ(V(writes + Range("b", R"([["b","2"]])")), Verdict::kValid);
  EXPECT_EQ(V(writes + Range("b", R"([])")), Verdict::kValid);
  // A value nobody wrote.
  EXPECT_EQ(V(writes + Range("a", R"([["a","4"],["b","9"],["c","3"]])")), Verdict::kInvalid);
}

TEST(Range, ConcurrentWithAWriteMaySeeEitherValue) {
  const std::string base = Put("a", "1") + R"({"process":0,"type":"invoke","f":"put","key":"a","value":"2"}
{"process":1,"type":"invoke","f":"range","key":"a"}
{"process":1,"type":"ok","f":"range","key":"a","value":[["a",VALUE]]}
{"process":0,"type":"ok","f":"put","key":"a","value":"2"}
)";
  for (const char* v : {"\"1\"", "\"2\""}) {
    std::string t = base;
    t.replace(t.find("VALUE"), 5, v);
    EXPECT_EQ(V(t), Verdict::kValid) << v;
  }
}

// The documented limit: a range is judged per key, a necessary condition.
// This range saw b's new value and a's old one although a was written first
// (no single moment had that state); per key each read is explained.
TEST(Range, IsJudgedPerKeyANecessaryCondition) {
  const std::string text = Put("a", "0") + Put("b", "0") + R"({"process":0,"type":"invoke","f":"put","key":"a","value":"1"}
{"process":1,"type":"invoke","f":"range","key":"a"}
{"process":0,"type":"ok","f":"put","key":"a","value":"1"}
{"process":0,"type":"invoke","f":"put","key":"b","value":"1"}
{"process":0,"type":"ok","f":"put","key":"b","value":"1"}
{"process":1,"type":"ok","f":"range","key":"a","value":[["a","0"],["b","1"]]}
)";
  auto r = Lin(Ops(text), "kv");
  EXPECT_EQ(r.verdict, Verdict::kValid);
  EXPECT_EQ(r.parts, 2u);
}

TEST(Models, WhatAModelCannotJudgeIsUnknownNamingTheOperation) {
  const std::string batch = Batch("ok", "", "");
  auto r = Lin(Ops(batch), "register");
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.detail.find("f=batch"), std::string::npos) << r.detail;
  // A missing key reads as "" in kv-append-per-key: a range cannot say which.
  r = Lin(Ops(Put("a", "1") + Range("a", R"([["a","1"]])")), "kv-append-per-key");
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.detail.find("f=range"), std::string::npos) << r.detail;
  // A malformed batch record.
  r = Lin(Ops(R"({"process":0,"type":"invoke","f":"batch","value":[{"f":"frob","key":"a"}]}
{"process":0,"type":"ok","f":"batch","value":[{"f":"frob","key":"a"}]}
)"),
          "kv");
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
}

// --- the default model -----------------------------------------------------

TEST(Models, ChosenFromWhatTheHistoryHolds) {
  EXPECT_EQ(ChooseModel(Ops(Put("a", "1") + Get("a", "\"1\""))), "kv");
  EXPECT_EQ(ChooseModel(Ops(Batch("ok", "", ""))), "kv");
  EXPECT_EQ(ChooseModel(Ops(Put("a", "1") + Range("a", "[]"))), "kv");
  EXPECT_EQ(ChooseModel(Ops(R"({"process":0,"type":"invoke","f":"append","key":"a","value":"x"}
{"process":0,"type":"ok","f":"append","key":"a","value":"x"}
)")),
            "kv-append-per-key");
  // Porcupine's convention: a key never written reads "".
  EXPECT_EQ(ChooseModel(Ops(Get("a", "\"\"") + Put("a", "1"))), "kv-append-per-key");
  EXPECT_EQ(ChooseModel(Ops(Get("a", "null") + Put("a", "1"))), "kv");
  EXPECT_EQ(ChooseModel(Ops(R"({"process":0,"type":"invoke","f":"cas","value":[1,2]}
{"process":0,"type":"ok","f":"cas","value":[1,2]}
)")),
            "cas-register");
  EXPECT_EQ(ChooseModel(Ops(R"({"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
)")),
            "register");
  // check.cc uses it when no model is named.
  auto h = ParseJsonl(Get("a", "\"\"") + Put("a", "1") + Get("a", "\"1\""), "t");
  ASSERT_TRUE(h.has_value());
  CheckOptions o;
  o.checks = {"linearizability"};
  auto r = CheckHistory(*h, Format::kJsonl, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->model, "kv-append-per-key");
  EXPECT_EQ(r->linearizability->verdict, Verdict::kValid);
}

// --- cancellation ------------------------------------------------------------

// Key "slow": 26 writes that never complete, then reads that each see one of
// them, then a read of a value nobody wrote. Deciding it means trying every
// subset of the pending writes: millions of configurations. Key "bad": a
// read of a value nobody wrote, found at once.
std::string SlowAndBad(bool with_bad) {
  std::string t;
  const int writers = 26;
  for (int i = 0; i < writers; ++i) {
    t += fmt::format(R"({{"process":{},"type":"invoke","f":"put","key":"slow","value":"w{}"}})" "\n", i, i);
  }
  for (int i = 0; i < writers; ++i) t += Get("slow", fmt::format("\"w{}\"", i), 100);
  t += Get("slow", "\"nobody\"", 100);
  if (with_bad) t += Put("bad", "1", 101) + Get("bad", "\"2\"", 102);
  return t;
}

TEST(Cancellation, ANonLinearizablePartStopsTheOthers) {
  auto slow = MakeModel("kv");
  // Alone, the slow key does not end in a quarter of a second.
  {
    LinearizabilityOptions o;
    o.budget = std::chrono::milliseconds(250);
    auto r = CheckLinearizability(Ops(SlowAndBad(false)), *slow, o);
    ASSERT_EQ(r.verdict, Verdict::kUnknown) << "the slow part should not end this fast";
  }
  const auto ops = Ops(SlowAndBad(true));
  for (int threads : {1, 2}) {
    LinearizabilityOptions o;
    o.threads = threads;
    o.budget = std::chrono::milliseconds(120'000);
    o.max_cache_entries = size_t{1} << 40;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = CheckLinearizability(ops, *slow, o);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.verdict, Verdict::kInvalid) << threads;
    ASSERT_TRUE(r.witness.has_value());
    EXPECT_EQ(r.witness->part, "bad");
    // The slow part is larger, so it is taken first; it must have yielded
    // and then stopped. Without that this takes the whole budget.
    EXPECT_LT(elapsed, std::chrono::seconds(20)) << threads;
  }
}

// --- generated ---------------------------------------------------------------

RC_GTEST_PROP(Generated, KvHistoriesWithBatchesAndRangesAreLinearizableUntilAReadIsChanged, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  const size_t n = *rc::gen::inRange<size_t>(5, 200);
  const int processes = *rc::gen::inRange(1, 7);
  const int keys = *rc::gen::inRange(1, 6);
  History h = testing::GenerateKvLinearizableHistory(seed, n, processes, keys);
  auto ops = PairOperations(h);
  RC_ASSERT(ops.has_value());
  const int threads = *rc::gen::inRange(1, 3);
  auto good = Lin(*ops, "kv", threads);
  RC_ASSERT(good.verdict == Verdict::kValid);
  // A completed read now returns a value nobody wrote.
  std::vector<size_t> reads;
  for (size_t i = 0; i < h.events.size(); ++i) {
    const Event& e = h.events[i];
    if (e.type != EventType::kOk) continue;
    if (e.f == "get" || (e.f == "range" && !e.value.items().empty())) reads.push_back(i);
  }
  RC_PRE(!reads.empty());
  Event& e = h.events[reads[*rc::gen::inRange<size_t>(0, reads.size())]];
  if (e.f == "get") {
    e.value = Value::String("nobody");
  } else {
    std::vector<Value> pairs = e.value.items();
    const size_t i = *rc::gen::inRange<size_t>(0, pairs.size());
    pairs[i] = Value::List({pairs[i].items()[0], Value::String("nobody")});
    e.value = Value::List(std::move(pairs));
  }
  auto bad_ops = PairOperations(h);
  RC_ASSERT(bad_ops.has_value());
  auto bad = Lin(*bad_ops, "kv", threads);
  RC_ASSERT(bad.verdict == Verdict::kInvalid);
  RC_ASSERT(bad.witness.has_value());
}

TEST(Generated, TheHistoryCiFoundIsDecidedWellInsideTheMemoLimit) {
  // RapidCheck drew it in CI (seed 132051, 133 operations, 6 processes, one
  // key; the 29th completed read changed): its broken variant needed 4.04 M
  // configurations, past the 4 M limit, so it was unknown. With overwritten
  // batch records no read observes left out, 123 K suffice.
  History h = testing::GenerateKvLinearizableHistory(132051, 133, 6, 1);
  std::vector<size_t> reads;
  for (size_t i = 0; i < h.events.size(); ++i) {
    const Event& e = h.events[i];
    if (e.type == EventType::kOk && (e.f == "get" || (e.f == "range" && !e.value.items().empty()))) reads.push_back(i);
  }
  ASSERT_GT(reads.size(), 28u);
  Event& e = h.events[reads[28]];
  ASSERT_EQ(e.f, "range");
  std::vector<Value> pairs = e.value.items();
  pairs[0] = Value::List({pairs[0].items()[0], Value::String("nobody")});
  e.value = Value::List(std::move(pairs));
  auto ops = PairOperations(h);
  ASSERT_TRUE(ops.has_value());
  LinearizabilityOptions o;
  o.max_cache_entries = 1'000'000;
  auto m = MakeModel("kv");
  auto r = CheckLinearizability(*ops, *m, o);
  EXPECT_EQ(r.verdict, Verdict::kInvalid) << r.detail;
  EXPECT_LT(r.configurations, 1'000'000u);
}

// A brute force: every order of the operations that respects real time, with
// each info operation in or out, run through the model.
bool BruteForceLinearizable(const std::vector<Operation>& ops, const Model& model) {
  std::vector<size_t> kept;
  for (const Operation& o : ops) {
    if (o.outcome == EventType::kFail || (o.info() && IsReadFunction(o.f))) continue;
    kept.push_back(o.index);
  }
  const size_t n = kept.size();
  std::vector<bool> used(n, false);
  std::function<bool(const Value&, size_t)> place = [&](const Value& state, size_t placed) -> bool {
    // Done when every definite op is placed (info ops may never happen).
    bool all_definite = true;
    for (size_t i = 0; i < n; ++i) all_definite = all_definite && (used[i] || ops[kept[i]].info());
    if (all_definite) return true;
    for (size_t i = 0; i < n; ++i) {
      if (used[i]) continue;
      // i may go next only if no unplaced definite op returned before i was called.
      bool ok = true;
      for (size_t j = 0; j < n && ok; ++j) {
        if (j != i && !used[j] && !ops[kept[j]].info() && ops[kept[j]].ret < ops[kept[i]].call) ok = false;
      }
      if (!ok) continue;
      Value next;
      if (!model.Step(state, ops[kept[i]], &next)) continue;
      used[i] = true;
      const bool found = place(next, placed + 1);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return place(model.Init(), 0);
}

// Up to `n` operations of `processes` processes, each running one at a time
// and overlapping the others': `invoke` fills an invocation's f, key and
// value; a completion is ok, info (1 in 10) or fail (1 in 10), and `complete`
// fills an ok one's output (it starts as a copy of its invocation).
History RandomInterleaving(std::mt19937_64& rng, int n, int processes, const std::function<void(Event&)>& invoke,
                           const std::function<void(Event&)>& complete) {
  History h;
  std::vector<bool> open(processes, false);
  std::vector<Event> pending(processes);
  int started = 0;
  int64_t now = 0;
  while (started < n || std::find(open.begin(), open.end(), true) != open.end()) {
    const int p = static_cast<int>(rng() % processes);
    if (!open[p]) {
      if (started >= n) continue;
      Event inv;
      inv.process = p;
      inv.type = EventType::kInvoke;
      invoke(inv);
      inv.time = now++;
      h.events.push_back(inv);
      pending[p] = inv;
      open[p] = true;
      ++started;
    } else {
      Event done = pending[p];
      const uint64_t fate = rng() % 10;
      done.type = fate == 0 ? EventType::kInfo : fate == 1 ? EventType::kFail : EventType::kOk;
      done.time = now++;
      if (done.type == EventType::kOk) complete(done);
      h.events.push_back(done);
      open[p] = false;
    }
  }
  for (size_t i = 0; i < h.events.size(); ++i) h.events[i].line = static_cast<int>(i + 1);
  return h;
}

RC_GTEST_PROP(Generated, SmallRandomRegisterHistoriesAgreeWithABruteForce, ()) {
  // Random (mostly not linearizable) histories of up to 7 operations on one
  // cas register, with overlaps, info and failed operations.
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  std::mt19937_64 rng(seed);
  const int n = 1 + static_cast<int>(rng() % 7);
  const int processes = 1 + static_cast<int>(rng() % 4);
  auto small = [&] { return Value::Int(static_cast<int64_t>(rng() % 3)); };
  History h = RandomInterleaving(
      rng, n, processes,
      [&](Event& inv) {
        switch (rng() % 3) {
          case 0:
            inv.f = "read";
            break;
          case 1:
            inv.f = "write";
            inv.value = small();
            break;
          default:
            inv.f = "cas";
            inv.value = Value::List({small(), small()});
        }
      },
      [&](Event& done) {
        if (done.f == "read") {
          const uint64_t v = rng() % 4;
          done.value = v == 3 ? Value() : Value::Int(static_cast<int64_t>(v));
        }
        if (done.f == "cas" && rng() % 3 == 0) done.result = false;
      });
  auto ops = PairOperations(h);
  RC_ASSERT(ops.has_value());
  auto model = MakeModel("cas-register");
  const bool expected = BruteForceLinearizable(*ops, *model);
  auto r = CheckLinearizability(*ops, *model);
  RC_ASSERT(r.verdict != Verdict::kUnknown);
  RC_ASSERT((r.verdict == Verdict::kValid) == expected);
  RC_TAG(expected ? "linearizable" : "not linearizable");
}

// A brute force for the kv model, written from its specification and not
// from the checker's partition: each operation becomes units that take effect
// one at a time in one map (a batch: a unit per record, two records of one
// batch on one key in batch order; a range: a read of each key it covers), and
// every order that respects real time is tried, with each info unit in or
// out, memoised on (units placed, map).
bool BruteForceKv(const std::vector<Operation>& ops) {
  struct Unit {
    const Operation* op;
    std::string f, key;
    Value value;         // what a write writes, or what a read returned
    int after = -1;      // a unit of the same batch and key that must come first
  };
  std::set<std::string> keys;
  for (const Operation& o : ops) {
    if (o.key) keys.insert(std::string(*o.key));
    if (o.f == "batch") {
      for (const Value& r : o.input.items()) keys.insert(r.Find("key")->as_string());
    }
    if (o.f == "range" && o.ok()) {
      for (const Value& pair : o.output.items()) keys.insert(pair.items()[0].as_string());
    }
  }
  std::vector<Unit> units;
  for (const Operation& o : ops) {
    if (o.outcome == EventType::kFail || (o.info() && IsReadFunction(o.f))) continue;
    if (o.f == "batch") {
      std::map<std::string, int> last;
      for (const Value& r : o.input.items()) {
        const std::string key = r.Find("key")->as_string();
        const std::string f = r.Find("f")->as_string();
        auto it = last.find(key);
        units.push_back({&o, f, key, f == "delete" ? Value() : *r.Find("value"), it == last.end() ? -1 : it->second});
        last[key] = static_cast<int>(units.size()) - 1;
      }
    } else if (o.f == "range") {
      const auto& pairs = o.output.items();
      if (pairs.empty()) continue;
      std::map<std::string, Value> returned;
      for (const Value& pair : pairs) returned.emplace(pair.items()[0].as_string(), pair.items()[1]);
      const std::string lo = std::min(o.key.value_or(returned.begin()->first), returned.begin()->first);
      for (const std::string& k : keys) {
        if (k < lo || k > returned.rbegin()->first) continue;
        auto it = returned.find(k);
        units.push_back({&o, "get", k, it == returned.end() ? Value() : it->second});
      }
    } else {
      units.push_back({&o, o.f.str(), std::string(*o.key), o.f == "get" ? o.output : o.input});
    }
  }
  const size_t n = units.size();
  std::vector<bool> placed(n, false);
  // Values have no order: the memo keys the map on its values' text (a nil
  // value is never stored: the key is erased).
  std::set<std::pair<std::vector<bool>, std::vector<std::pair<std::string, std::string>>>> failed_configs;
  std::map<std::string, Value> state;
  auto value_of = [&](const std::string& k) { return state.count(k) ? state[k] : Value(); };
  std::function<bool()> search = [&]() -> bool {
    bool all_definite = true;
    for (size_t i = 0; i < n; ++i) all_definite = all_definite && (placed[i] || units[i].op->info());
    if (all_definite) return true;
    std::vector<std::pair<std::string, std::string>> flat;
    for (const auto& [k, v] : state) flat.emplace_back(k, v.ToString());
    if (failed_configs.count({placed, flat})) return false;
    for (size_t i = 0; i < n; ++i) {
      const Unit& u = units[i];
      if (placed[i] || (u.after >= 0 && !placed[static_cast<size_t>(u.after)])) continue;
      bool ok = true;
      for (size_t j = 0; j < n && ok; ++j) {
        if (!placed[j] && !units[j].op->info() && units[j].op->ret < u.op->call) ok = false;
      }
      if (!ok) continue;
      const Value before = value_of(u.key);
      if (u.f == "get") {
        if (before != u.value) continue;
      } else if (u.f == "cas") {
        const bool matches = before == u.value.items()[0];
        if (u.op->result == false ? matches : !matches) continue;
        if (u.op->result != false) state[u.key] = u.value.items()[1];
      } else if (u.f == "delete" || u.value.is_nil()) {
        state.erase(u.key);
      } else {
        state[u.key] = u.value;
      }
      placed[i] = true;
      const bool found = search();
      placed[i] = false;
      if (before.is_nil()) {
        state.erase(u.key);
      } else {
        state[u.key] = before;
      }
      if (found) return true;
    }
    failed_configs.insert({placed, flat});
    return false;
  };
  return search();
}

// A random history of up to 6 operations on two keys: gets, puts, deletes,
// cas, ranges and batches (often writing one key twice, so the partition
// leaves out overwritten records whose values no read returns), with overlaps,
// info and failed operations; reads return a random value of a small pool, so
// both verdicts occur.
History SmallRandomKvHistory(uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int n = 1 + static_cast<int>(rng() % 6);
  const int processes = 1 + static_cast<int>(rng() % 4);
  const bool with_cas = rng() % 3 == 0;
  auto key = [&] { return std::string(rng() % 2 == 0 ? "a" : "b"); };
  auto value = [&] { return Value::String(std::to_string(rng() % 3)); };
  auto maybe_nil = [&] { return rng() % 4 == 0 ? Value() : value(); };
  return RandomInterleaving(
      rng, n, processes,
      [&](Event& inv) {
        switch (rng() % (with_cas ? 6 : 5)) {
          case 0:
            inv.f = "get";
            inv.key = key();
            break;
          case 1:
            inv.f = rng() % 4 == 0 ? "delete" : "put";
            inv.key = key();
            if (inv.f == "put") inv.value = value();
            break;
          case 2:
            inv.f = "range";
            inv.key = "a";
            break;
          case 5:
            inv.f = "cas";
            inv.key = key();
            inv.value = Value::List({maybe_nil(), value()});
            break;
          default: {
            inv.f = "batch";
            std::vector<Value> records;
            const int r = 1 + static_cast<int>(rng() % 3);
            for (int i = 0; i < r; ++i) {
              const bool del = rng() % 4 == 0;
              records.push_back(Value::Map({"f", "key", "value"}, {Value::String(del ? "delete" : "put"),
                                                                   Value::String(key()), del ? Value() : value()}));
            }
            inv.value = Value::List(std::move(records));
          }
        }
      },
      [&](Event& done) {
        if (done.f == "get") done.value = maybe_nil();
        if (done.f == "range") {
          std::vector<Value> pairs;
          for (const char* k : {"a", "b"}) {
            if (rng() % 2 == 0) pairs.push_back(Value::List({Value::String(k), value()}));
          }
          done.value = Value::List(std::move(pairs));
        }
        if (done.f == "cas" && rng() % 3 == 0) done.result = false;
      });
}

RC_GTEST_PROP(Generated, SmallRandomKvHistoriesAgreeWithABruteForce, ()) {
  // Many histories per case: a disagreement may need a rare combination (a
  // cas that fails on a batch's overwritten record took ~1,000 histories).
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  int valid = 0;
  for (uint64_t i = 0; i < 32; ++i) {
    auto ops = PairOperations(SmallRandomKvHistory(seed + i));
    RC_ASSERT(ops.has_value());
    const bool expected = BruteForceKv(*ops);
    auto r = Lin(*ops, "kv");
    if (r.verdict == Verdict::kUnknown || (r.verdict == Verdict::kValid) != expected) {
      RC_FAIL(fmt::format("history seed {}: the brute force says {}, the checker {}", seed + i,
                          expected ? "linearizable" : "not linearizable", VerdictName(r.verdict)));
    }
    valid += expected;
  }
  RC_TAG(valid == 0 ? "none linearizable" : valid == 32 ? "all linearizable" : "both verdicts");
}

}  // namespace
}  // namespace kvlog::checker
