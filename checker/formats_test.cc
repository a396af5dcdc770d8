// Readers and writers: round trips, and errors that name file, line and reason.
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "checker/check.h"
#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/testing/generate.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

void ExpectError(const Result<History>& r, int line, const std::string& reason_part) {
  ASSERT_FALSE(r.has_value()) << "parsed, but should not have";
  EXPECT_EQ(r.error().file, "h.txt");
  EXPECT_EQ(r.error().line, line) << r.error().ToString();
  EXPECT_NE(r.error().reason.find(reason_part), std::string::npos) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find(fmt::format("h.txt:{}: ", line)), std::string::npos);
}

// Value is one word: integers in it or boxed past 61 bits, strings and lists
// behind a tagged pointer. Every kind and width reads back as written.
TEST(Value, EveryKindAndIntegerWidthRoundTrips) {
  EXPECT_EQ(sizeof(Value), 8u);
  const int64_t ints[] = {0,  1,  -1,  (int64_t{1} << 60) - 1, int64_t{1} << 60, -(int64_t{1} << 60),
                          -(int64_t{1} << 60) - 1, std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min()};
  for (int64_t i : ints) {
    Value v = Value::Int(i);
    EXPECT_TRUE(v.is_int()) << i;
    EXPECT_EQ(v.kind(), Value::Kind::kInt) << i;
    EXPECT_EQ(v.as_int(), i);
    EXPECT_EQ(v.ToString(), std::to_string(i));
    Value copy = v;
    EXPECT_EQ(copy, v);
    EXPECT_EQ(copy, Value::Int(i));  // boxed ones compare by value, not storage
    EXPECT_NE(copy, Value::Int(i ^ 1));
  }
  EXPECT_TRUE(Value().is_nil());
  EXPECT_EQ(Value::Bool(true).kind(), Value::Kind::kBool);
  EXPECT_TRUE(Value::Bool(true).as_bool());
  EXPECT_FALSE(Value::Bool(false).as_bool());
  EXPECT_NE(Value::Bool(true), Value::Int(1));
  EXPECT_NE(Value(), Value::Int(0));
  Value s = Value::String("abc");
  EXPECT_EQ(s.as_string(), "abc");
  EXPECT_EQ(s, Value::String("abc"));
  EXPECT_FALSE(s.SameStorage(Value::String("abc")));
  Value list = Value::List({s, Value::Int(-5), Value()});
  EXPECT_EQ(list.ToString(), "[abc -5 nil]");
  EXPECT_TRUE(list.items()[0].SameStorage(s));
  Value map = Value::Map({"f", "n"}, {Value::String("put"), Value::Int(std::numeric_limits<int64_t>::min())});
  ASSERT_NE(map.Find("n"), nullptr);
  EXPECT_EQ(map.Find("n")->as_int(), std::numeric_limits<int64_t>::min());
  Value moved = std::move(map);
  EXPECT_TRUE(map.is_map());  // NOLINT: moved from keeps its kind, emptied
  EXPECT_TRUE(map.keys().empty());
  EXPECT_EQ(moved.Find("f")->as_string(), "put");
  Value boxed = Value::Int(std::numeric_limits<int64_t>::max());
  Value taken = std::move(boxed);
  EXPECT_TRUE(boxed.is_int());  // NOLINT
  EXPECT_EQ(taken.as_int(), std::numeric_limits<int64_t>::max());
}

// Bulk reference counting (jsonl.cc's interner hands out a range pair's
// copies uncounted, after counting them in advance): copies released early
// and the advance taken back leave the storage alive exactly as long as a
// counted copy lives (ASan sees a use after free or a leak otherwise).
TEST(Value, ReferencesCountedInAdvanceKeepTheStorageExactlyAsLong) {
  Value outlives;
  {
    Value pair = Value::List({Value::String("k"), Value::String("v")});
    pair.AddReferences(4);
    std::vector<Value> handed;
    for (int i = 0; i < 4; ++i) handed.push_back(pair.UncountedCopy());
    EXPECT_TRUE(handed[3].SameStorage(pair));
    EXPECT_EQ(handed[3].Identity(), pair.Identity());
    handed.erase(handed.begin());  // one released before the advance is settled
    outlives = handed.back();      // a counted copy
    pair.DropReferences(0);        // all four were handed out: nothing to take back
    handed.clear();
  }
  EXPECT_EQ(outlives.ToString(), "[k v]");
  Value s = Value::String("abc");
  s.AddReferences(10);
  Value copy = s.UncountedCopy();
  s.DropReferences(9);  // one handed out of ten
  s = Value();
  EXPECT_EQ(copy.as_string(), "abc");
  Value::Int(7).AddReferences(3);  // nothing stored: no-ops
  Value::Int(7).DropReferences(3);
}

TEST(ValueDeathTest, DroppingPastTheHoldersOwnReferenceIsCaught) {
  Value s = Value::String("abc");
  s.AddReferences(2);
  EXPECT_DEATH(s.DropReferences(3), "references dropped past");
  s.DropReferences(2);
}

TEST(Jsonl, ErrorsNameFileLineAndReason) {
  const std::string ok = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"v"})";
  ExpectError(ParseJsonl(ok + "\n\n{\"process\":0,\"type\":\"ok\"", "h.txt"), 3, "invalid JSON");
  ExpectError(ParseJsonl(ok + "\n" + R"({"process":0,"type":"done","f":"put"})", "h.txt"), 2, "\"type\"");
  ExpectError(ParseJsonl(R"({"type":"ok","f":"put"})", "h.txt"), 1, "missing field \"process\"");
  ExpectError(ParseJsonl(R"({"process":"x","type":"ok","f":"put"})", "h.txt"), 1, "integer");
  ExpectError(ParseJsonl(ok + "\n" + R"({"process":0,"type":"ok","f":"put","colour":1})", "h.txt"), 2,
              "unknown field \"colour\"");
  ExpectError(ParseJsonl(R"({"log":{"offset":5,"key":"k","value":"a"}}
{"log":{"offset":5,"key":"k","value":"b"}})",
                         "h.txt"),
              2, "does not increase");
  ExpectError(ParseJsonl(R"({"final":{"replica":"c0","applied":3}})", "h.txt"), 1, "digest");
  ExpectError(ParseJsonl("[1,2]", "h.txt"), 1, "object");
}

// The fast reader declines what it does not handle (escapes, non-ASCII,
// fractions, big numbers, repeated names) and nlohmann::json reads the line:
// both readers give the same values, and the same errors.
TEST(Jsonl, FastAndGeneralReadersAgree) {
  auto value_of = [](const std::string& json_value) -> Value {
    auto h = ParseJsonl(R"({"process":0,"type":"invoke","f":"put","key":"k","value":)" + json_value + "}", "h.txt");
    EXPECT_TRUE(h.has_value()) << json_value << ": " << (h ? "" : h.error().ToString());
    return h && !h->events.empty() ? h->events[0].value : Value();
  };
  EXPECT_EQ(value_of(R"("plain")"), Value::String("plain"));
  EXPECT_EQ(value_of(R"("tab\tquote\"back\\slash")"), Value::String("tab\tquote\"back\\slash"));
  EXPECT_EQ(value_of(R"("caf\u00e9 \ud83d\ude00")"), Value::String("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_EQ(value_of("\"caf\xc3\xa9\""), Value::String("caf\xc3\xa9"));
  EXPECT_EQ(value_of("-42"), Value::Int(-42));
  EXPECT_EQ(value_of("0"), Value::Int(0));
  EXPECT_EQ(value_of("9223372036854775807"), Value::Int(9223372036854775807LL));
  EXPECT_EQ(value_of("-9223372036854775807"), Value::Int(-9223372036854775807LL));
  EXPECT_EQ(value_of(" [ \"a\" , [\"k\",\"v\"], null, true, false, {} , [] ] "),
            Value::List({Value::String("a"), Value::List({Value::String("k"), Value::String("v")}), Value(),
                         Value::Bool(true), Value::Bool(false), Value::Map({}, {}), Value::List({})}));
  EXPECT_EQ(value_of(R"({"f":"put","key":"k","value":"v"})"),
            Value::Map({"f", "key", "value"}, {Value::String("put"), Value::String("k"), Value::String("v")}));
  // Interned strings and pairs are equal to, and indistinguishable from, fresh ones.
  auto h = ParseJsonl(R"({"process":0,"type":"invoke","f":"range","key":"a"}
{"process":0,"type":"ok","f":"range","key":"a","value":[["a","1"],["b","2"]]}
{"process":0,"type":"invoke","f":"range","key":"a"}
{"process":0,"type":"ok","f":"range","key":"a","value":[["a","1"],["b","3"]]}
)",
                      "h.txt");
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  EXPECT_TRUE(h->events[1].value.items()[0].SameStorage(h->events[3].value.items()[0]));
  EXPECT_EQ(h->events[3].value.items()[1], Value::List({Value::String("b"), Value::String("3")}));
  EXPECT_NE(h->events[1].value, h->events[3].value);
  // Errors either reader finds.
  const std::string head = R"({"process":0,"type":"invoke","f":"put","key":"k","value":)";
  for (const char* bad : {"01", "1.5", "1e3", "-", "\"open", "[1,]", "[1 2]", "{\"a\" 1}", "nul", "tru", "\"\\x\"",
                          "99999999999999999999999", "{\"a\":1,}", "\"a\"\"b\""}) {
    auto r = ParseJsonl(head + bad + "}", "h.txt");
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().line, 1) << bad;
    }
  }
  // A control character inside a string is invalid JSON.
  EXPECT_FALSE(ParseJsonl(head + "\"a\x01" "b\"}", "h.txt").has_value());
  // A repeated field name: nlohmann keeps the last.
  auto dup = ParseJsonl(R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a","value":"b"})", "h.txt");
  ASSERT_TRUE(dup.has_value());
  EXPECT_EQ(dup->events[0].value, Value::String("b"));
  // A meta line may carry anything, fractions included.
  auto meta = ParseJsonl(R"({"meta":{"log_captured":true,"ratio":0.5}})", "h.txt");
  ASSERT_TRUE(meta.has_value()) << meta.error().ToString();
  EXPECT_TRUE(meta->has_log);
  // Nesting deeper than the limit is refused by both.
  std::string deep = std::string(20, '[') + std::string(20, ']');
  ExpectError(ParseJsonl(head + deep + "}", "h.txt"), 1, "too deep");
}

// ReadJsonl reads a block at a time: lines that straddle blocks, a last line
// without a newline, and pairing while reading give what ParseJsonl gives.
TEST(Jsonl, StreamingReaderMatchesTheWholeTextReader) {
  testing::GenerateOptions g;
  g.operations = 20'000;  // several 1 MiB blocks
  g.range_percent = 10;
  const std::string text = WriteJsonl(testing::GenerateKvHistory(g));
  ASSERT_GT(text.size(), size_t{3} << 20);
  auto whole = ParseJsonl(text, "h");
  ASSERT_TRUE(whole.has_value());
  for (bool pair : {false, true}) {
    std::istringstream in(text.substr(0, text.size() - 1));  // no final newline
    JsonlReadOptions options;
    options.pair_events = pair;
    uint64_t last = 0;
    options.progress = [&](uint64_t bytes) { last = bytes; };
    auto streamed = ReadJsonl(in, "h", options);
    ASSERT_TRUE(streamed.has_value()) << streamed.error().ToString();
    EXPECT_EQ(last, text.size() - 1);
    EXPECT_EQ(streamed->log.size(), whole->log.size());
    EXPECT_EQ(streamed->finals.size(), whole->finals.size());
    if (pair) {
      ASSERT_TRUE(streamed->ops.has_value());
      EXPECT_TRUE(streamed->events.empty());
      auto ops = PairOperations(*whole);
      ASSERT_EQ(streamed->ops->size(), ops->size());
      for (size_t i = 0; i < ops->size(); ++i) {
        EXPECT_EQ((*streamed->ops)[i].output, (*ops)[i].output);
        EXPECT_EQ((*streamed->ops)[i].ret, (*ops)[i].ret);
      }
    } else {
      EXPECT_EQ(WriteJsonl(*streamed), WriteJsonl(*whole));
    }
  }
  // An error in a later block names its line.
  std::istringstream broken(text + "{\"process\":1,\n");
  auto r = ReadJsonl(broken, "h");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().line, static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1);
}

// Given the stream's size, the reader grows the log's vector once to what the
// rest can hold (jsonl.cc, ReserveLog): the true size, one too small or too
// large, or an unknown one all read the same history.
TEST(Jsonl, TheSizeHintChangesNothingButCapacity) {
  testing::GenerateOptions g;
  g.operations = 8'000;  // more than the 1,024 log records before a reserve
  const std::string text = WriteJsonl(testing::GenerateKvHistory(g));
  auto whole = ParseJsonl(text, "h");
  ASSERT_TRUE(whole.has_value());
  ASSERT_GT(whole->log.size(), 2000u);
  const std::string expected = WriteJsonl(*whole);
  for (uint64_t hint : {uint64_t{0}, uint64_t{text.size()}, uint64_t{1}, uint64_t{text.size() / 2},
                        uint64_t{text.size()} * 4}) {
    std::istringstream in(text);
    JsonlReadOptions options;
    options.size_hint = hint;
    auto streamed = ReadJsonl(in, "h", options);
    ASSERT_TRUE(streamed.has_value()) << streamed.error().ToString();
    EXPECT_EQ(WriteJsonl(*streamed), expected) << "size hint " << hint;
    if (hint == text.size()) {
      // Reserved once for what the log needed, give or take a sixteenth.
      EXPECT_LE(streamed->log.capacity(), streamed->log.size() + streamed->log.size() / 8 + 2048);
    }
  }
}

TEST(Pairing, AnUnknownFunctionIsAnErrorNamingItsLine) {
  auto h = ParseJsonl(R"({"process":0,"type":"invoke","f":"put","key":"k","value":"a"}
{"process":0,"type":"ok","f":"put","key":"k","value":"a"}
{"process":0,"type":"invoke","f":"frobnicate","key":"k","value":"a"}
{"process":0,"type":"ok","f":"frobnicate","key":"k","value":"a"}
)",
                      "h.txt");
  ASSERT_TRUE(h.has_value());
  auto ops = PairOperations(*h);
  ASSERT_FALSE(ops.has_value());
  EXPECT_EQ(ops.error().line, 3);
  EXPECT_NE(ops.error().reason.find("unknown f 'frobnicate'"), std::string::npos) << ops.error().ToString();
  for (const char* f : {"put", "get", "delete", "batch", "range", "cas", "read", "write", "append"}) {
    EXPECT_TRUE(KnownFunction(f)) << f;
  }
}

TEST(Pairing, AMalformedRangeResultIsAnErrorNamingItsLine) {
  const std::string invoke = R"({"process":0,"type":"invoke","f":"range","key":"k"})" "\n";
  for (const char* value : {R"([["x","y","k","v"]])", R"([["k","v"],["k2"]])", R"("k")", R"([["k","v"],"k2"])"}) {
    auto h = ParseJsonl(invoke + R"({"process":0,"type":"ok","f":"range","key":"k","value":)" + value + "}\n", "h.txt");
    ASSERT_TRUE(h.has_value()) << value;
    auto ops = PairOperations(*h);
    ASSERT_FALSE(ops.has_value()) << value;
    EXPECT_EQ(ops.error().line, 2) << value;
    EXPECT_NE(ops.error().reason.find("range's result"), std::string::npos) << ops.error().ToString();
  }
  for (const char* value : {R"([])", R"([["k","v"],["k2",null]])"}) {
    auto h = ParseJsonl(invoke + R"({"process":0,"type":"ok","f":"range","key":"k","value":)" + value + "}\n", "h.txt");
    ASSERT_TRUE(h.has_value()) << value;
    EXPECT_TRUE(PairOperations(*h).has_value()) << value;
  }
}

TEST(Jsonl, RoundTripsAGeneratedHistory) {
  testing::GenerateOptions g;
  g.operations = 300;
  History h = testing::GenerateKvHistory(g);
  h.events[1].result = false;
  h.events[1].op = "op-1";
  h.events[0].value = Value::List({Value::Map({"f", "key", "value"}, {Value::String("put"), Value::String("k"),
                                                                      Value::Int(3)})});
  auto back = ParseJsonl(WriteJsonl(h), "again");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  ASSERT_EQ(back->events.size(), h.events.size());
  for (size_t i = 0; i < h.events.size(); ++i) {
    const Event &a = h.events[i], &b = back->events[i];
    EXPECT_EQ(a.process, b.process);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.f, b.f);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.value, b.value) << i;
    EXPECT_EQ(a.time, b.time);
    EXPECT_EQ(a.offset, b.offset);
    EXPECT_EQ(a.applied, b.applied);
    EXPECT_EQ(a.replica, b.replica);
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.result, b.result);
  }
  ASSERT_EQ(back->log.size(), h.log.size());
  for (size_t i = 0; i < h.log.size(); ++i) {
    EXPECT_EQ(back->log[i].offset, h.log[i].offset);
    EXPECT_EQ(back->log[i].value, h.log[i].value);
    EXPECT_EQ(back->log[i].f, h.log[i].f);
  }
  ASSERT_EQ(back->finals.size(), h.finals.size());
  EXPECT_EQ(back->finals[0].digest, h.finals[0].digest);
  EXPECT_TRUE(back->has_log);
}

TEST(Edn, ErrorsNameFileLineAndReason) {
  ExpectError(ParseJepsenEdn("[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok", "h.txt"),
              2, "missing '}'");
  ExpectError(ParseJepsenEdn("[{:process 0, :type :invoke, :f :read, :value nil}\n\n {:process 0 :type :bogus :f :read}]",
                             "h.txt"),
              3, "unknown :type");
  ExpectError(ParseJepsenEdn("{:process 0, :type :invoke, :f :read, :value \"abc}\n", "h.txt"), 1,
              "unterminated string");
  ExpectError(ParseJepsenEdn("{:process 0, :type :invoke, :f :read, :value #{1 2}}", "h.txt"), 1, "unsupported");
  ExpectError(ParseJepsenEdn("{:process 0, :type :invoke, :f}", "h.txt"), 1, "key without a value");
  ExpectError(ParseJepsenEdn("{:type :invoke, :f :read}", "h.txt"), 1, ":process");
}

TEST(Edn, ReadsBothJepsenLayoutsAndKeepsTheNemesisApart) {
  auto vec = ParseJepsenEdn(R"([{:process 0, :type :invoke, :f :cas, :value [1 2]}
 {:process :nemesis, :type :info, :f :start, :value "cut n1", :time 77}
 {:process 0, :type :ok, :f :cas, :value [1 2]}])",
                            "v");
  ASSERT_TRUE(vec.has_value()) << vec.error().ToString();
  ASSERT_EQ(vec->events.size(), 2u);
  ASSERT_EQ(vec->nemesis.size(), 1u);
  EXPECT_EQ(vec->nemesis[0].f, "start");
  EXPECT_EQ(vec->nemesis[0].value, "cut n1");
  EXPECT_EQ(vec->nemesis[0].time, 77);
  EXPECT_EQ(vec->nemesis[0].position, 1);
  EXPECT_EQ(vec->nemesis[0].line, 2);
  EXPECT_EQ(vec->events[1].value, Value::List({Value::Int(1), Value::Int(2)}));
  EXPECT_EQ(vec->events[1].line, 3);
  auto lines = ParseJepsenEdn("{:process 3, :type :invoke, :f :get, :key \"5\", :value nil}\n"
                              "{:process 3, :type :ok, :f :get, :key \"5\", :value \"x 0 0 y\"} ; comment\n",
                              "l");
  ASSERT_TRUE(lines.has_value());
  ASSERT_EQ(lines->events.size(), 2u);
  EXPECT_EQ(lines->events[1].key, "5");
  EXPECT_EQ(lines->events[1].value, Value::String("x 0 0 y"));
}

TEST(Jsonl, NemesisLinesRoundTripInPlace) {
  const std::string text =
      "{\"nemesis\":{\"type\":\"info\",\"f\":\"start\",\"value\":\"partition\",\"time\":5}}\n"
      "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"k\",\"value\":null}\n"
      "{\"nemesis\":{\"type\":\"info\",\"f\":\"stop\"}}\n"
      "{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"key\":\"k\",\"value\":null}\n";
  auto h = ParseJsonl(text, "h.txt");
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  ASSERT_EQ(h->events.size(), 2u);
  ASSERT_EQ(h->nemesis.size(), 2u);
  EXPECT_EQ(h->nemesis[0].position, 0);
  EXPECT_EQ(h->nemesis[0].value, "partition");
  EXPECT_EQ(h->nemesis[0].time, 5);
  EXPECT_EQ(h->nemesis[1].position, 1);
  EXPECT_EQ(h->nemesis[1].f, "stop");
  EXPECT_EQ(h->nemesis[1].line, 3);
  auto back = ParseJsonl(WriteJsonl(*h), "again");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  ASSERT_EQ(back->nemesis.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->nemesis[i].position, h->nemesis[i].position);
    EXPECT_EQ(back->nemesis[i].f, h->nemesis[i].f);
    EXPECT_EQ(back->nemesis[i].value, h->nemesis[i].value);
    EXPECT_EQ(back->nemesis[i].time, h->nemesis[i].time);
    EXPECT_EQ(back->nemesis[i].line, h->nemesis[i].line);
  }
  ExpectError(ParseJsonl("{\"nemesis\":{\"type\":\"info\"}}", "h.txt"), 1, "missing field \"f\"");
  ExpectError(ParseJsonl("{\"nemesis\":{\"f\":\"start\",\"when\":1}}", "h.txt"), 1, "unknown nemesis field");
  ExpectError(ParseJsonl("{\"nemesis\":{\"f\":\"start\",\"type\":\"begun\"}}", "h.txt"), 1, "nemesis \"type\"");
}

TEST(JepsenLog, ParsesTabsAndSpacesAndFailedCas) {
  auto h = ParseJepsenLog("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\n"
                          "INFO  jepsen.util - 3   :fail   :cas    [1 4]\n"
                          "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n",
                          "e");
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  ASSERT_EQ(h->events.size(), 3u);
  EXPECT_EQ(h->events[1].type, EventType::kOk);  // the compare failed: an observation
  EXPECT_EQ(h->events[1].result, false);
  EXPECT_TRUE(h->events[2].value.is_nil());
  ExpectError(ParseJepsenLog("INFO  jepsen.util - 1\t:ok\t:read\t3\nsomething else\n", "h.txt"), 2,
              "not a Jepsen log line");
  ExpectError(ParseJepsenLog("INFO  jepsen.util - x\t:ok\t:read\t3\n", "h.txt"), 1, "not an integer");
  ExpectError(ParseJepsenLog("INFO  jepsen.util - 1\t:ok\t:read\t[3\n", "h.txt"), 1, "value");
}

TEST(Pairing, CompletionWithoutInvocationIsAnError) {
  auto h = ParseJsonl(R"({"process":0,"type":"invoke","f":"put","key":"k","value":"v"}
{"process":1,"type":"ok","f":"put","key":"k","value":"v"})",
                      "h.txt");
  ASSERT_TRUE(h.has_value());
  auto ops = PairOperations(*h);
  ASSERT_FALSE(ops.has_value());
  EXPECT_EQ(ops.error().line, 2);
  EXPECT_NE(ops.error().reason.find("no pending invocation"), std::string::npos);
}

TEST(Edn, WriterOutputReadsBackTheSame) {
  History h = testing::GenerateRegisterHistory(3, 50, 3);
  h.events[0].value = Value::String("quote \" backslash \\ newline \n tab \t bell \x07 é");
  h.events[0].key = "k\"1";
  auto edn = WriteJepsenEdn(h);
  ASSERT_TRUE(edn.has_value());
  auto back = ParseJepsenEdn(*edn, "w");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  ASSERT_EQ(back->events.size(), h.events.size());
  for (size_t i = 0; i < h.events.size(); ++i) {
    EXPECT_EQ(back->events[i].value, h.events[i].value) << i;
    EXPECT_EQ(back->events[i].key, h.events[i].key);
    EXPECT_EQ(back->events[i].f, h.events[i].f);
    EXPECT_EQ(back->events[i].type, h.events[i].type);
  }
  h.events[0].f = "not a keyword";
  EXPECT_FALSE(WriteJepsenEdn(h).has_value());
}

// kvsim's EDN carries its fault schedule: nemesis ops in place, read back with
// their positions, times and values; one that is not a keyword is refused.
TEST(Edn, NemesisOpsAreWrittenWhereTheyHappened) {
  History h = testing::GenerateRegisterHistory(2, 6, 2);
  NemesisEvent start{.type = EventType::kInfo, .f = "start-outage", .value = "all brokers", .time = 5, .position = 0};
  NemesisEvent stop{.type = EventType::kInfo, .f = "stop-outage", .time = 9, .position = 4};
  NemesisEvent last{.type = EventType::kInfo, .f = "crash", .value = "c1", .position = static_cast<int64_t>(h.events.size())};
  h.nemesis = {start, stop, last};
  auto edn = WriteJepsenEdn(h);
  ASSERT_TRUE(edn.has_value()) << edn.error().ToString();
  EXPECT_EQ(edn->rfind("[{:process :nemesis, :type :info, :f :start-outage, :value \"all brokers\", :time 5}", 0), 0u)
      << *edn;
  auto back = ParseJepsenEdn(*edn, "w");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  ASSERT_EQ(back->events.size(), h.events.size());
  ASSERT_EQ(back->nemesis.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->nemesis[i].f, h.nemesis[i].f);
    EXPECT_EQ(back->nemesis[i].value, h.nemesis[i].value);
    EXPECT_EQ(back->nemesis[i].time, h.nemesis[i].time);
    EXPECT_EQ(back->nemesis[i].position, h.nemesis[i].position);
  }
  h.nemesis[1].f = "not a keyword";
  EXPECT_FALSE(WriteJepsenEdn(h).has_value());
}

// What we write as EDN is read by Clojure's own reader (Debian's clojure).
TEST(Edn, ClojureReadsWhatWeWrite) {
  ASSERT_EQ(std::system("command -v clojure >/dev/null 2>&1"), 0)
      << "the 'clojure' program is missing: install Debian's clojure package (scripts/install-deps)";
  History h;
  auto add = [&](int64_t p, EventType t, std::string f, std::optional<std::string> key, Value v) {
    Event e;
    e.process = p;
    e.type = t;
    e.f = std::move(f);
    e.key = std::move(key);
    e.value = std::move(v);
    e.time = 1000 + static_cast<int64_t>(h.events.size());
    h.events.push_back(std::move(e));
  };
  add(0, EventType::kInvoke, "put", "k\"1", Value::String("a \"q\" \\ \n\t\x01 é"));
  add(0, EventType::kOk, "put", "k\"1", Value::String("a \"q\" \\ \n\t\x01 é"));
  add(1, EventType::kInvoke, "cas", std::nullopt, Value::List({Value::Int(-3), Value::Int(4)}));
  add(1, EventType::kInfo, "cas", std::nullopt, Value::List({Value::Int(-3), Value::Int(4)}));
  add(2, EventType::kInvoke, "batch", std::nullopt,
      Value::List({Value::Map({"f", "key", "value"}, {Value::String("delete"), Value::String("x"), Value()})}));
  add(2, EventType::kFail, "batch", std::nullopt, Value::Bool(true));
  auto edn = WriteJepsenEdn(h);
  ASSERT_TRUE(edn.has_value());
  char path[] = "/tmp/kvcheck-edn-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  FILE* f = fdopen(fd, "w");
  std::fwrite(edn->data(), 1, edn->size(), f);
  std::fclose(f);
  // Clojure prints, per op, a line we can compare: process|type|f|key|value.
  const std::string script =
      "(require 'clojure.edn 'clojure.walk) "
      "(let [h (clojure.edn/read-string (slurp \"" + std::string(path) + "\"))"
      "      c (read-string (slurp \"" + std::string(path) + "\"))] "
      "  (assert (= h c) \"clojure.core/read-string disagrees with clojure.edn\") "
      "  (doseq [op h] "
      "    (let [cps (fn [x] (clojure.walk/postwalk (fn [y] (if (string? y) (mapv int y) y)) x))] "
      "      (println (str (:process op) \"|\" (name (:type op)) \"|\" (name (:f op)) \"|\" "
      "                    (pr-str (cps (:key op))) \"|\" (pr-str (cps (:value op))) \"|\" (:time op))))))";
  const std::string script_path = std::string(path) + ".clj";
  {
    std::ofstream clj(script_path);
    clj << script;
  }
  const std::string cmd = "clojure " + script_path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  std::remove(path);
  std::remove(script_path.c_str());
  ASSERT_EQ(status, 0) << out;
  // Strings come back as their code points (Clojure's stdout encoding varies).
  const std::string key = "[107 34 49]";
  const std::string text = "[97 32 34 113 34 32 92 32 10 9 1 32 233]";
  const std::string expected =
      "0|invoke|put|" + key + "|" + text + "|1000\n"
      "0|ok|put|" + key + "|" + text + "|1001\n"
      "1|invoke|cas|nil|[-3 4]|1002\n"
      "1|info|cas|nil|[-3 4]|1003\n"
      "2|invoke|batch|nil|[{:f [100 101 108 101 116 101], :key [120], :value nil}]|1004\n"
      "2|fail|batch|nil|[{:f [100 101 108 101 116 101], :key [120], :value nil}]|1005\n";  // the invocation's value
  EXPECT_EQ(out, expected);
}

// Jepsen's conventions, which Knossos enforces: after an :info completion the
// process goes on under a fresh id (the :info operation may still be running),
// and a :fail or :info completion carries its invocation's value.
TEST(Edn, WriterRenumbersAfterInfoAndFailuresCarryTheInvocationValue) {
  History h;
  auto add = [&](int64_t p, EventType t, const std::string& f, Value v) {
    Event e;
    e.process = p;
    e.type = t;
    e.f = f;
    e.value = std::move(v);
    h.events.push_back(std::move(e));
  };
  add(0, EventType::kInvoke, "write", Value::Int(1));
  add(0, EventType::kInfo, "write", Value());
  add(0, EventType::kInvoke, "read", Value());
  add(0, EventType::kFail, "read", Value::String("timed-out"));
  add(0, EventType::kInvoke, "write", Value::Int(2));
  add(0, EventType::kInfo, "write", Value::Int(2));
  add(0, EventType::kInvoke, "read", Value());
  add(0, EventType::kOk, "read", Value::Int(2));
  add(3, EventType::kInvoke, "read", Value());
  add(3, EventType::kOk, "read", Value::Int(2));
  auto edn = WriteJepsenEdn(h);
  ASSERT_TRUE(edn.has_value());
  auto back = ParseJepsenEdn(*edn, "written");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  ASSERT_EQ(back->events.size(), h.events.size());
  std::vector<int64_t> processes;
  for (const Event& e : back->events) processes.push_back(e.process);
  // Process 0 until its first :info, then 4 (past every recorded id), then 5.
  EXPECT_EQ(processes, (std::vector<int64_t>{0, 0, 4, 4, 4, 4, 5, 5, 3, 3}));
  EXPECT_EQ(back->events[1].value, Value::Int(1));  // :info carries the invocation's value
  EXPECT_TRUE(back->events[3].value.is_nil());      // :fail read: the invocation's nil, not "timed-out"
  EXPECT_EQ(back->events[7].value, Value::Int(2));  // an ok read keeps what it read
  // Pairing the written history gives the same operations.
  auto ops = PairOperations(*back);
  ASSERT_TRUE(ops.has_value()) << ops.error().ToString();
  EXPECT_EQ(ops->size(), 5u);
}

}  // namespace
}  // namespace kvlog::checker
