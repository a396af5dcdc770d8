// The JSONL reader's field scanner (jsonl.cc, FastParser::ScanLine) reads an
// event or log line straight into its Event / LogRecord and declines anything
// else, which the general parser then reads. Both ways must give the same
// history and the same errors: each case is read twice, once with the
// scanner (JsonlReadOptions::fast_path) and once without, and compared.
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "checker/history.h"
#include "checker/jsonl.h"
#include "checker/testing/generate.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

struct Read {
  Result<History> history;
  uint64_t scanned = 0;
};

Read ReadWith(const std::string& text, bool fast, bool pair = false) {
  std::istringstream in(text);
  JsonlReadOptions options;
  options.fast_path = fast;
  options.pair_events = pair;
  Read r{MakeError("", 0, "not read"), 0};
  options.scanned = &r.scanned;
  r.history = ReadJsonl(in, "h.jsonl", options);
  return r;
}

// Every field of every event and log record, and where it was read.
std::string Dump(const History& h) {
  std::string out;
  for (const Event& e : h.events) out += fmt::format("{} {}\n", e.line, EventToJsonl(e));
  for (const LogRecord& r : h.log) out += fmt::format("{} {}\n", r.line, LogRecordToJsonl(r));
  out += fmt::format("has_log {}\n", h.has_log ? 1 : 0);
  return out + JsonlTail(h);
}

// Reads `text` both ways; both must succeed with the same history.
void ExpectSameHistory(const std::string& text, uint64_t expect_scanned) {
  const Read fast = ReadWith(text, true), general = ReadWith(text, false);
  ASSERT_TRUE(general.history.has_value()) << general.history.error().ToString() << "\n" << text;
  ASSERT_TRUE(fast.history.has_value()) << fast.history.error().ToString() << "\n" << text;
  EXPECT_EQ(Dump(*fast.history), Dump(*general.history)) << text;
  EXPECT_EQ(general.scanned, 0u);
  EXPECT_EQ(fast.scanned, expect_scanned) << text;
}

// Reads `text` both ways, pairing while reading (so that pairing errors
// count too); both must fail with the same error.
void ExpectSameError(const std::string& text, const std::string& reason_part) {
  const Read fast = ReadWith(text, true, true), general = ReadWith(text, false, true);
  ASSERT_FALSE(general.history.has_value()) << "the general reader accepted:\n" << text;
  ASSERT_FALSE(fast.history.has_value()) << "the scanner accepted:\n" << text;
  EXPECT_EQ(fast.history.error().ToString(), general.history.error().ToString()) << text;
  EXPECT_NE(fast.history.error().reason.find(reason_part), std::string::npos)
      << fast.history.error().ToString() << "\nexpected to mention: " << reason_part;
}

TEST(JsonlScanner, ReadsEveryEventFieldAsTheGeneralReaderDoes) {
  const std::vector<std::string> lines = {
      // kvsim's own shapes (fields in its sorted order).
      R"({"f":"put","key":"k394","op":"p7-0","process":7,"replica":"c7","time":373426,"type":"invoke","value":"v7-0"})",
      R"({"f":"put","key":"k394","offset":0,"op":"p7-0","process":7,"replica":"c7","time":373426,"type":"ok","value":"v7-0"})",
      R"({"f":"range","key":"k348","op":"p1-0","process":1,"replica":"c1","time":3651115,"type":"invoke","value":null})",
      R"({"applied":5,"f":"range","key":"k348","op":"p1-0","process":1,"replica":"c1","time":3651115,"type":"ok","value":[["k394","v7-0"],["k55","v2-0"],["k653","v5-1"]]})",
      R"({"f":"get","key":"k318","level":"local","op":"p0-0","process":0,"replica":"c0","time":3720622,"type":"invoke","value":null})",
      R"({"applied":5,"f":"get","key":"k318","op":"p0-0","process":0,"replica":"c0","time":3720622,"type":"ok","value":null})",
      R"({"f":"batch","op":"p8-0","process":8,"replica":"c8","time":4547593,"type":"invoke","value":[{"f":"put","key":"k446","value":"v8-0.0"},{"f":"delete","key":"k837"}]})",
      R"({"f":"batch","offset":9,"op":"p8-0","process":8,"replica":"c8","time":4547593,"type":"ok","value":[{"f":"put","key":"k446","value":"v8-0.0","offset":9},{"f":"delete","key":"k837","offset":10}]})",
      // Other orders, spacing, every optional field, nulls for absent ones.
      R"(  { "process" : 2 , "type" : "invoke" , "f" : "cas" , "key" : "a" , "value" : [ "x" , "y" ] , "level" : "bounded" , "bound" : 3 }  )",
      R"({"type":"ok","process":2,"f":"cas","key":"a","value":["x","y"],"result":false,"time":null,"offset":null,"applied":null,"replica":null,"op":null,"error":{"why":[1,"two"]},"index":17})",
      R"({"process":3,"type":"invoke","f":"write","value":-12})",
      R"({"process":3,"type":"info","f":"write","value":-12,"result":null,"level":null,"bound":null,"key":null})",
      R"({"process":4,"type":"invoke","f":"incr","key":"c","value":3,"level":"at_least","bound":0})",
      R"({"process":4,"type":"ok","f":"incr","key":"c","value":7,"result":true})",
      R"({"process":5,"type":"invoke","f":"read","value":null,"level":"some-new-level"})",
      R"({"process":5,"type":"fail","f":"read","value":null,"error":"timed-out"})",
      R"({"process":6,"type":"invoke","f":"transfer","value":{"from":"a","to":"b","amount":5},"time":-5})",
      R"({"process":6,"type":"ok","f":"transfer","value":{"from":"a","to":"b","amount":5},"result":true,"time":0})",
      R"({"process":9,"type":"invoke","f":"range","value":[]})",
      R"({"process":9,"type":"ok","f":"range","value":[["a","1"],["a","1"],["b",2],[],["c"],{"x":"y"}],"applied":123456789012345678})",
      // The widest integers (boxed past 61 bits).
      R"({"process":10,"type":"invoke","f":"write","value":9223372036854775807,"time":-9223372036854775808})",
      R"({"process":10,"type":"ok","f":"write","value":-9223372036854775807,"time":1152921504606846976})",
      // Log lines: every field, nulls, tombstones, cas, deadlines.
      R"({"log":{"f":"put","key":"k394","offset":0,"op":"p7-0","value":"v7-0","writer":"c7"}})",
      R"({"log":{"offset":1,"key":"k","value":null}})",
      R"({"log":{"offset":2,"key":"k","value":"v","f":null,"writer":null,"op":null,"expected":null,"deadline":null}})",
      R"( {"log" : {"offset":3,"key":"k","f":"cas","expected":"v","value":"w","deadline":1764658800040000000}} )",
      R"({"log":{"offset":3,"key":"j","f":"delete"}})",
      R"({"log":{"offset":4,"key":"k","f":"put"}})",
  };
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  ExpectSameHistory(text, lines.size());
  // Lines the scanner declines read the same through the general reader.
  const std::vector<std::string> declined = {
      R"({"process":0,"type":"invoke","f":"put","key":"caf\u00e9","value":"tab\there"})",  // escapes
      "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"caf\xc3\xa9\",\"value\":\"v\"}",  // UTF-8
      R"({"process":1,"type":"ok","f":"put","key":"k","value":"a","value":"b"})",               // repeated
      R"({"meta":{"log_captured":true}})",
      R"({"final":{"replica":"c0","applied":5,"digest":"ef46db3751d8e999"}})",
      R"({"nemesis":{"type":"info","f":"start","value":"partition","time":4}})",
      R"({"log":{"offset":7,"key":"k","value":"x","colour":"red"}})",  // ignored by ToLogRecord
      R"({"log":{"offset":8,"key":"k","value":"y"},"meta":{}})",        // log with company
      R"({"process":11,"type":"invoke","f":"write","value":9223372036854775808})",  // wraps in nlohmann
      R"({"process":11,"type":"ok","f":"write","value":12345678901234567890})",
      // Escapes in field names (the scanner finds a name's end by its first
      // quote and knows no name with an escape in it): declined, and read
      // as the names they spell.
      R"({"process":12,"type":"invoke","f":"put","k\u0065y":"a","value":"x"})",
      R"({"process":12,"type":"ok","f":"put","key":"a","v\u0061lue":"x"})",
      R"({"log":{"offset":9,"key":"k","value":"z","wr\u0069ter":"c1"}})",
  };
  std::string more = text;
  for (const auto& l : declined) more += l + "\n";
  ExpectSameHistory(more, lines.size());
}

// The reader interns range pairs, guessing each pair's key from the order of
// the last list and keeping each key's last value's text: lists in changing
// orders, skipped and new keys, and values that differ from the last one in
// content only (same length) or by a prefix must read back exactly.
TEST(JsonlScanner, RangePairsReadBackExactlyWhateverTheirOrder) {
  const std::vector<std::string> ranges = {
      R"([["a","v1"],["b","v2"],["c","v3"]])",
      R"([["a","v1"],["b","v2"],["c","v3"]])",
      R"([["a","v1"],["b","v9"],["c","v3"]])",   // same length, other bytes
      R"([["c","v3"],["b","v9"],["a","v1"]])",   // reversed: every guess misses
      R"([["a","v1"],["c","v3x"],["d","v4"]])",  // b skipped, a longer value, a new key
      R"([["a","v"],["c","v3"],["d","v4"],["b","v9"]])",  // a shorter value (a prefix)
      R"([["a","v1"],["a","v2"],["b","v9"],["b","v9"]])",  // a key twice in one list
      R"([["aa","v1"],["a","v1"],["b","v2"]])",
      // Values of 4 to 8 and 9 to 16 bytes (compared as two words from each
      // end) that differ in their last, first or a middle byte, and longer ones.
      R"([["a","val-0001"],["b","value-000000001"],["c","vvvv"],["d","long-value-0123456789"]])",
      R"([["a","val-0002"],["b","value-000000002"],["c","vvvw"],["d","long-value-0123456780"]])",
      R"([["a","wal-0002"],["b","walue-000000002"],["c","wvvw"],["d","xong-value-0123456780"]])",
      R"([["a","wal-1002"],["b","walue-000100002"],["c","wwvw"],["d","xong-valuX-0123456780"]])",
      R"([["a","wal-1002"],["b","walue-000100002"],["c","wwvw"],["d","xong-valuX-0123456780"]])",
      // The guessed pair's text (ParsePairList compares it whole) as a
      // prefix of a longer value, then longer than the value read.
      R"([["a","wal-1002"],["b","walue-000100002x"],["c","wwvw"],["d","xong-valuX-0123456780"]])",
      R"([["a","wal-1002"],["b","walue-00010000"],["c","wwvw"],["d","xong-valuX-012345678"]])",
      R"([["a","wal-1002"],["b","walue-00010000"],["c","wwvw"],["d","xong-valuX-012345678"]])",
  };
  std::string text;
  for (size_t i = 0; i < ranges.size(); ++i) {
    text += R"({"process":0,"type":"invoke","f":"range","value":null})" "\n";
    text += R"({"process":0,"type":"ok","f":"range","value":)" + ranges[i] + "}\n";
  }
  ExpectSameHistory(text, 2 * ranges.size());
  const Read fast = ReadWith(text, true);
  ASSERT_TRUE(fast.history.has_value());
  ASSERT_EQ(fast.history->events.size(), 2 * ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    // The interned values print as the text they were read from.
    std::string printed = EventToJsonl(fast.history->events[2 * i + 1]);
    EXPECT_NE(printed.find(R"("value":)" + ranges[i]), std::string::npos) << printed;
  }
}

// The reader's interner counts the references of a key's repeated range pair
// in advance and hands copies out uncounted (jsonl.cc, KeySlot). The pairs
// must outlive the reader, the history, and a list the pair loop gave up on
// (an escape in its second pair), and a history that stops at a malformed
// line must release what it read: ASan catches a miscount either way.
TEST(JsonlScanner, RangePairsOutliveTheReaderAndListsGivenUpOn) {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    const std::string value = i % 7 == 3 ? R"([["a","v1"],["b","v\u0032"],["c","v3"]])"
                                         : fmt::format(R"([["a","v1"],["b","v{}"],["c","v3"]])", i / 10);
    text += fmt::format(R"({{"process":{},"type":"invoke","f":"range","value":null}})" "\n", i % 3);
    text += fmt::format(R"({{"process":{},"type":"ok","f":"range","value":{}}})" "\n", i % 3, value);
  }
  ExpectSameHistory(text, 80 - 6);  // the six lines with an escape take the general path
  Value kept;
  {
    Read paired = ReadWith(text, true, true);
    ASSERT_TRUE(paired.history.has_value()) << paired.history.error().ToString();
    ASSERT_TRUE(paired.history->ops.has_value());
    ASSERT_EQ(paired.history->ops->size(), 40u);
    const Value& first = (*paired.history->ops)[0].output.items()[0];
    const Value& last = (*paired.history->ops)[39].output.items()[0];
    EXPECT_TRUE(first.SameStorage(last));  // one interned [a v1] for every range
    EXPECT_EQ((*paired.history->ops)[3].output.items()[1].ToString(), "[b v2]");  // read item by item
    kept = last;
  }
  EXPECT_EQ(kept.ToString(), "[a v1]");
  ExpectSameError(text + R"({"process":0,"type":"ok","f":"range","value":[["a","v1"]],"x":1})" "\n",
                  "unknown field \"x\"");
}

// A range's result as recorders write it ([["k","v"],...], no white space,
// plain strings) is read by one loop (FastParser::ParsePairList); any other
// list that starts with "[[" is declined by it and read item by item. Both
// must give what the general reader gives, and print back as read.
TEST(JsonlScanner, PairListsAndListsLikeThemReadAsTheGeneralReaderDoes) {
  const std::vector<std::string> values = {
      R"([["a","v1"]])",                             // one pair
      R"([["a","v1"],["b","v2"],["c","v3"]])",       // the loop's shape
      R"([["a","v1"],["b","v2"],["c","v3"]])",       // again: every pair from its key's cache
      R"([["",""],["b",""]])",                       // empty strings
      R"([ ["a","v1"],["b","v2"]])",                 // white space: declined, read item by item
      R"([["a","v1"] ,["b","v2"]])",
      R"([["a" ,"v1"],["b","v2"]])",
      R"([["a","v1"],["b","v2"] ])",
      R"([["a","v1"],["b\u0041","v2"]])",       // an escape: declined
      R"([["a","v1"],["b","v\n2"]])",
      R"([["a","v1"],["b","\u00e9"]])",          // non-ASCII (escaped): declined
      "[[\"a\",\"v1\"],[\"b\",\"\xc3\xa9\"]]",    // non-ASCII bytes: declined
      // Strings longer than a word, with the byte that ends or spoils them at
      // each place in it (the scan tests eight bytes at a time).
      R"([["key-0123456789abcdef","value-0123456789"],["k","v-01234567"]])",
      "[[\"a\",\"v1\"],[\"0123456\x7f\",\"v\"]]",      // DEL: declined
      R"([["a","v1"],["0123456789abc\"","v"]])",    // an escaped quote: declined
      R"([["a","v1","x"],["b","v2"]])",              // three items
      R"([["a"],["b","v2"]])",                       // one item
      R"([["a","v1"],"b"])",                         // a pair then a string
      R"([["a","v1"],["b",2]])",                     // a number in a pair
      R"([[1,2],["b","v2"]])",
      R"([[],["b","v2"]])",
      R"([[["a","v1"]],["b","v2"]])",                // a list of pairs inside
      R"([["a","v1"],[["b","v2"]]])",
      R"([["a","v1"],null,["b","v2"]])",
  };
  std::string text;
  for (const std::string& v : values) {
    text += R"({"process":0,"type":"invoke","f":"range","value":null})" "\n";
    text += R"({"process":0,"type":"ok","f":"range","value":)" + v + "}\n";
  }
  // The six lines with an escape, DEL or a non-ASCII byte go the general way
  // whole.
  ExpectSameHistory(text, 2 * values.size() - 6);
  const Read fast = ReadWith(text, true);
  ASSERT_TRUE(fast.history.has_value());
  ASSERT_EQ(fast.history->events.size(), 2 * values.size());
  const Read general = ReadWith(text, false);
  ASSERT_TRUE(general.history.has_value());
  for (size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(values[i]);
    const Value& read = fast.history->events[2 * i + 1].value;
    EXPECT_EQ(read, general.history->events[2 * i + 1].value);
    EXPECT_TRUE(read.is_list());
  }
  // The loop's shapes print back as they were read.
  for (size_t i : {0, 1, 2, 3}) {
    const std::string printed = EventToJsonl(fast.history->events[2 * i + 1]);
    EXPECT_NE(printed.find(R"("value":)" + values[i]), std::string::npos) << printed;
  }
}

TEST(JsonlScanner, ReadsGeneratedHistoriesAsTheGeneralReaderDoes) {
  testing::GenerateOptions g;
  g.operations = 1200;
  g.range_percent = 20;
  g.delete_percent = 10;
  const History generated = testing::GenerateKvHistory(g);
  const std::string text = WriteJsonl(generated);
  ExpectSameHistory(text, generated.events.size() + generated.log.size());
  // Paired while read, too.
  const Read fast = ReadWith(text, true, true), general = ReadWith(text, false, true);
  ASSERT_TRUE(fast.history.has_value() && general.history.has_value());
  ASSERT_EQ(fast.history->ops->size(), general.history->ops->size());
  for (size_t i = 0; i < fast.history->ops->size(); ++i) {
    const Operation &a = (*fast.history->ops)[i], &b = (*general.history->ops)[i];
    EXPECT_EQ(a.output, b.output);
    EXPECT_EQ(a.input, b.input);
    EXPECT_EQ(a.line, b.line);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.applied, b.applied);
    EXPECT_EQ(a.offset, b.offset);
    EXPECT_EQ(a.op, b.op);
  }
  // Pairing while reading takes each event's strings and values (moved, not
  // copied): every field of every operation equals what pairing the whole
  // history's events (copied) gives.
  auto whole = ParseJsonl(text, "h.jsonl");
  ASSERT_TRUE(whole.has_value());
  auto copied = PairOperations(*whole);
  ASSERT_TRUE(copied.has_value());
  ASSERT_EQ(fast.history->ops->size(), copied->size());
  for (size_t i = 0; i < copied->size(); ++i) {
    const Operation &a = (*fast.history->ops)[i], &b = (*copied)[i];
    EXPECT_EQ(a.index, b.index);
    EXPECT_EQ(a.process, b.process);
    EXPECT_EQ(a.f, b.f);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.input, b.input);
    EXPECT_EQ(a.output, b.output);
    EXPECT_EQ(a.outcome, b.outcome);
    EXPECT_EQ(a.call, b.call);
    EXPECT_EQ(a.ret, b.ret);
    EXPECT_EQ(a.call_time, b.call_time);
    EXPECT_EQ(a.ret_time, b.ret_time);
    EXPECT_EQ(a.offset, b.offset);
    EXPECT_EQ(a.applied, b.applied);
    EXPECT_EQ(a.replica, b.replica);
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.result, b.result);
    EXPECT_EQ(a.level, b.level);
    EXPECT_EQ(a.bound, b.bound);
    EXPECT_EQ(a.line, b.line);
  }
  const History linearizable = testing::GenerateKvLinearizableHistory(3, 2000, 5, 8);
  ExpectSameHistory(WriteJsonl(linearizable), linearizable.events.size() + linearizable.log.size());
}

TEST(JsonlScanner, MalformedLinesGiveTheGeneralReadersErrors) {
  const std::string ok = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"v"})" "\n";
  const std::string ev = R"({"process":0,"type":"ok","f":"put","key":"k")";
  struct Case {
    std::string line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {R"({"type":"ok","f":"put"})", "missing field \"process\""},
      {R"({"process":null,"type":"ok","f":"put"})", "\"process\" must be an integer"},
      {R"({"process":"0","type":"ok","f":"put"})", "\"process\" must be an integer"},
      {R"({"process":0.5,"type":"ok","f":"put"})", "unsupported value type number"},
      {R"({"process":0,"type":"done","f":"put"})", "\"type\" must be invoke"},
      {R"({"process":0,"type":null,"f":"put"})", "\"type\" must be a string"},
      {R"({"process":0,"type":"ok"})", "missing field \"f\""},
      {R"({"process":0,"type":"ok","f":""})", "\"f\" is empty"},
      {R"({"process":0,"type":"ok","f":7})", "\"f\" must be a string"},
      {R"({"process":0,"type":"ok","f":"frobnicate"})", "unknown f 'frobnicate'"},
      {R"({"process":0,"type":"ok","f":"get","key":"k"})", "does not match invocation"},
      {ev + R"(,"key":5})", "\"key\" must be a string"},
      {ev + R"(,"colour":1})", "unknown field \"colour\""},
      {ev + R"(,"offset":"3"})", "\"offset\" must be an integer"},
      {ev + R"(,"time":1e3})", "unsupported value type number"},
      {ev + R"(,"applied":true})", "\"applied\" must be an integer"},
      {ev + R"(,"bound":99999999999999999999999})", "unsupported value type number"},
      {ev + R"(,"result":"yes"})", "\"result\" must be a boolean"},
      {ev + R"(,"level":3})", "\"level\" must be a string"},
      {ev + R"(,"replica":["c0"]})", "\"replica\" must be a string"},
      {ev + R"(,"op":1})", "\"op\" must be a string"},
      {ev + R"(,"value":"v",})", "invalid JSON"},
      {ev + R"(,"value":"v"} x)", "invalid JSON"},
      {ev + R"(,"value":"v")", "invalid JSON"},
      {ev + R"(,"value":[1,})", "invalid JSON"},
      {ev + R"(,"value":"a\x"})", "invalid JSON"},
      // Range results the pair-list loop starts on and gives up: the general
      // reader's error, on the right line.
      {ev + R"(,"value":[["a","b"],]})", "invalid JSON"},
      {ev + R"(,"value":[["a","b"]})", "invalid JSON"},
      {ev + R"(,"value":[["a","b"]x]})", "invalid JSON"},
      {ev + R"(,"value":[["a","b"],["c"})", "invalid JSON"},
      {ev + R"(,"value":[["a","b)", "invalid JSON"},
      {ev + R"(,"value":[["a","b"],["c","d\q"]]})", "invalid JSON"},
      {ev + R"(,"value":[["a","b"]])", "invalid JSON"},
      {ev + ",\"value\":[[\"a\",\"b\"],[\"01234567\x01\",\"v\"]]}", "invalid JSON"},  // a control byte
      {ev + ",\"value\":[[\"a\",\"b\"],[\"012345678\xff\",\"v\"]]}", "invalid JSON"},  // not UTF-8
      {ev + R"(,"value":)" + std::string(20, '[') + std::string(20, ']') + "}", "too deep"},
      {R"(["process",0])", "a line must be a JSON object"},
      {R"({"log":{"key":"k","value":"v"}})", "missing field \"offset\""},
      {R"({"log":{"offset":"1","key":"k"}})", "\"offset\" must be an integer"},
      {R"({"log":{"offset":1,"key":null}})", "\"key\" must be a string"},
      {R"({"log":{"offset":1,"key":"k","value":5}})", "\"value\" must be a string"},
      {R"({"log":{"offset":1,"key":"k","value":"v","f":"frob"}})", "log \"f\" must be put, delete or cas"},
      {R"({"log":{"offset":1,"key":"k","deadline":"soon"}})", "\"deadline\" must be an integer"},
      {R"({"log":5})", "\"log\" must be an object"},
      {R"({"log":{}})", "missing field \"offset\""},
      {R"({"log":{"offset":1,"key":"k"})", "invalid JSON"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    ExpectSameError(ok + c.line + "\n", c.reason);
  }
  // Errors that come after a line was read: the log's order, a pending process.
  ExpectSameError(R"({"log":{"offset":5,"key":"k","value":"a"}}
{"log":{"offset":4,"key":"j","value":"b"}})",
                  "log offset 4 does not increase (previous 5)");
  ExpectSameError(R"({"log":{"offset":5,"key":"k","value":"a"}}
{"log":{"offset":5,"key":"k","value":"b"}})",
                  "key k repeats");
  ExpectSameError(ok + ok, "invokes while its operation from line 1 is still pending");
  // A range's result that the pair-list loop gives up on is checked pair by
  // pair when paired (the loop's lists hold pairs only; these do not).
  const std::string range = R"({"process":0,"type":"invoke","f":"range","value":null})" "\n";
  for (const std::string value : {R"([["a","b"],["c"]])", R"([["a","b"],["c","d","e"]])",
                                  R"([["a","b"],"c"])", R"([["a","b"],[]])"}) {
    SCOPED_TRACE(value);
    ExpectSameError(range + R"({"process":0,"type":"ok","f":"range","value":)" + value + "}",
                    "item 1 of a range's result is not a [key value] pair");
  }
  ExpectSameError(R"({"process":0,"type":"ok","f":"put","key":"k","value":"v"})", "no pending invocation");
}

}  // namespace
}  // namespace kvlog::checker
