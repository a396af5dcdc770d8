// The counter, bank and read-levels checks on small hand-made histories:
// each passes a valid one and names what is wrong in an invalid one.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <sstream>

#include "base/propagate.h"
#include "checker/check.h"
#include "checker/jsonl.h"

namespace kvlog::checker {
namespace {

// Builds a history event by event.
class Builder {
 public:
  Event& Invoke(int64_t p, std::string f, std::optional<std::string> key, Value v = Value()) {
    Event e;
    e.process = p;
    e.type = EventType::kInvoke;
    e.f = std::move(f);
    e.key = std::move(key);
    e.value = std::move(v);
    e.replica = fmt::format("c{}", p);
    return h.events.emplace_back(std::move(e));
  }
  Event& Complete(int64_t p, EventType type, Value v = Value()) {
    for (auto it = h.events.rbegin(); it != h.events.rend(); ++it) {
      if (it->process == p && it->type == EventType::kInvoke) {
        Event e = *it;
        e.type = type;
        e.value = std::move(v);
        e.level.reset();
        e.bound.reset();
        return h.events.emplace_back(std::move(e));
      }
    }
    ADD_FAILURE() << "no invocation of process " << p;
    return h.events.emplace_back();
  }
  // A whole read at `level`, served at `applied`.
  void Read(int64_t p, std::string key, Value got, std::string level, int64_t applied,
            std::optional<int64_t> bound = std::nullopt) {
    Event& in = Invoke(p, "get", key);
    in.level = level;
    in.bound = bound;
    Complete(p, EventType::kOk, std::move(got)).applied = applied;
  }
  void Incr(int64_t p, std::string key, EventType outcome, std::optional<int64_t> new_value, int64_t offset) {
    Invoke(p, "incr", key, Value::Int(1));
    Event& done = Complete(p, outcome, new_value ? Value::Int(*new_value) : Value());
    if (outcome == EventType::kOk) done.offset = offset;
  }
  History h;
};

Result<CheckReport> Check(const History& h, const std::string& check, BankOptions bank = {}) {
  CheckOptions options;
  options.checks = {check};
  options.bank = bank;
  KVLOG_ASSIGN_OR_RETURN(FullReport report, CheckHistory(h, Format::kJsonl, options));
  EXPECT_EQ(report.reports.size(), 1u);
  return report.reports.front();
}

std::vector<std::string> Kinds(const CheckReport& r) {
  std::vector<std::string> kinds;
  for (const auto& v : r.violations) kinds.push_back(v.kind);
  return kinds;
}

// --- counter -------------------------------------------------------------

TEST(CounterCheckTest, ReadsWithinTheBoundsPass) {
  Builder b;
  b.Incr(0, "k", EventType::kOk, 1, 0);
  b.Incr(1, "k", EventType::kOk, 2, 1);
  b.Invoke(0, "incr", "k", Value::Int(1));  // unknown: may or may not land
  b.Complete(0, EventType::kInfo);
  b.Incr(1, "k", EventType::kFail, std::nullopt, 0);  // never applied
  b.Read(2, "k", Value::String("2"), "linearizable", 2);
  b.Read(3, "k", Value::String("3"), "linearizable", 3);
  b.Read(4, "k", Value::String("0"), "local", 0);  // a lagging local read of another client
  auto r = Check(b.h, "counter");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->verdict, Verdict::kValid) << r->summary;
  EXPECT_NE(r->summary.find("2 increments acknowledged, 1 unknown, 1 failed"), std::string::npos) << r->summary;
  EXPECT_NE(r->summary.find("k=2|3 in [2, 3]"), std::string::npos) << r->summary;
}

TEST(CounterCheckTest, ALinearizableReadBelowTheAcknowledgedCountIsCaught) {
  Builder b;
  b.Incr(0, "k", EventType::kOk, 1, 0);
  b.Incr(0, "k", EventType::kOk, 2, 1);
  b.Read(1, "k", Value::String("1"), "linearizable", 1);
  auto r = Check(b.h, "counter");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->verdict, Verdict::kInvalid);
  EXPECT_EQ(Kinds(*r), std::vector<std::string>{"counter-bounds"});
  EXPECT_NE(r->violations[0].message.find("outside [2, 2]"), std::string::npos) << r->violations[0].message;
  // The same stale value read locally by another process is allowed...
  Builder local;
  local.Incr(0, "k", EventType::kOk, 1, 0);
  local.Incr(0, "k", EventType::kOk, 2, 1);
  local.Read(1, "k", Value::String("1"), "local", 1);
  EXPECT_EQ(Check(local.h, "counter")->verdict, Verdict::kValid);
  // ...but not by the process that made both increments (read your writes).
  local.Read(0, "k", Value::String("1"), "local", 1);
  EXPECT_EQ(Check(local.h, "counter")->verdict, Verdict::kInvalid);
}

TEST(CounterCheckTest, AReadAboveEveryIncrementNotFailedIsCaught) {
  Builder b;
  b.Incr(0, "k", EventType::kOk, 1, 0);
  b.Incr(0, "k", EventType::kFail, std::nullopt, 0);
  b.Read(1, "k", Value::String("2"), "linearizable", 2);
  auto r = Check(b.h, "counter");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Kinds(*r), std::vector<std::string>{"counter-bounds"});
}

TEST(CounterCheckTest, TwoAcknowledgedIncrementsWithOneNewValueAreALostUpdate) {
  Builder b;
  b.Invoke(0, "incr", "k", Value::Int(1));
  b.Invoke(1, "incr", "k", Value::Int(1));
  b.Complete(0, EventType::kOk, Value::Int(1)).offset = 0;
  b.Complete(1, EventType::kOk, Value::Int(1)).offset = 1;
  b.Read(2, "k", Value::String("1"), "linearizable", 2);
  auto r = Check(b.h, "counter");
  ASSERT_TRUE(r.has_value());
  // The final read is also below the two acknowledged increments.
  EXPECT_EQ(Kinds(*r), (std::vector<std::string>{"lost-update", "counter-bounds"}));
}

TEST(CounterCheckTest, BadInputIsAnErrorOrAViolation) {
  Builder b;
  b.Invoke(0, "incr", "k", Value::String("one"));
  b.Complete(0, EventType::kOk);
  auto r = Check(b.h, "counter");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().reason.find("integer amount > 0"), std::string::npos) << r.error().ToString();
  Builder read;
  read.Read(0, "k", Value::String("many"), "local", 0);
  auto v = Check(read.h, "counter");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(Kinds(*v), std::vector<std::string>{"not-a-count"});
}

// --- bank ----------------------------------------------------------------

Value Deposit(std::vector<std::pair<std::string, int64_t>> balances) {
  std::vector<Value> items;
  for (auto& [k, v] : balances) {
    items.push_back(Value::Map({"f", "key", "value"},
                               {Value::String("put"), Value::String(k), Value::String(std::to_string(v))}));
  }
  return Value::List(std::move(items));
}

Value Accounts(std::vector<std::pair<std::string, int64_t>> balances) {
  std::vector<Value> pairs;
  for (auto& [k, v] : balances) pairs.push_back(Value::List({Value::String(k), Value::String(std::to_string(v))}));
  return Value::List(std::move(pairs));
}

Builder Bank() {
  Builder b;
  b.Invoke(0, "batch", std::nullopt, Deposit({{"a0", 10}, {"a1", 10}}));
  b.Complete(0, EventType::kOk, Deposit({{"a0", 10}, {"a1", 10}})).offset = 0;
  Value transfer = Value::Map({"from", "to", "amount"}, {Value::String("a0"), Value::String("a1"), Value::Int(3)});
  b.Invoke(1, "transfer", std::nullopt, transfer);
  b.Complete(1, EventType::kOk, transfer).result = true;
  return b;
}

void ReadAll(Builder& b, int64_t p, Value got) {
  b.Invoke(p, "range", "a0");
  b.Complete(p, EventType::kOk, std::move(got)).applied = 2;
}

TEST(BankCheckTest, ReadsShowingTheTotalPass) {
  Builder b = Bank();
  ReadAll(b, 2, Accounts({{"a0", 10}, {"a1", 10}}));
  ReadAll(b, 2, Accounts({{"a0", 7}, {"a1", 13}}));
  auto r = Check(b.h, "bank");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->verdict, Verdict::kValid) << r->summary;
  EXPECT_NE(r->summary.find("1 transfers moved money, 0 refused, 0 unknown; 2 reads"), std::string::npos)
      << r->summary;
  EXPECT_NE(r->summary.find("total 20"), std::string::npos) << r->summary;
}

TEST(BankCheckTest, HalfATransferIsCaught) {
  Builder b = Bank();
  ReadAll(b, 2, Accounts({{"a0", 7}, {"a1", 10}}));  // debited, not yet credited
  auto r = Check(b.h, "bank");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->verdict, Verdict::kInvalid);
  EXPECT_EQ(Kinds(*r), std::vector<std::string>{"total-changed"});
  EXPECT_NE(r->violations[0].message.find("sums to 17, not the total 20"), std::string::npos)
      << r->violations[0].message;
}

// kvcheck with no --check judges a workload's history by that workload's
// checks (as kvsim does), both ways: the session and durability checks would
// misread the repeated values of a bank or counter history.
std::vector<std::string> DefaultCheckers(const History& h) {
  auto report = CheckHistory(h, Format::kJsonl, CheckOptions{});
  EXPECT_TRUE(report.has_value()) << report.error().ToString();
  std::vector<std::string> names;
  if (report) {
    for (const auto& r : report->reports) names.push_back(r.checker);
  }
  return names;
}

TEST(DefaultChecksTest, AWorkloadsHistoryGetsItsOwnChecks) {
  Builder bank = Bank();
  ReadAll(bank, 2, Accounts({{"a0", 7}, {"a1", 13}}));
  EXPECT_EQ(DefaultCheckers(bank.h), (std::vector<std::string>{"convergence", "read-levels", "bank"}));
  Builder counter;
  counter.Incr(0, "c", EventType::kOk, 1, 0);
  EXPECT_EQ(DefaultCheckers(counter.h), (std::vector<std::string>{"convergence", "read-levels", "counter"}));
  Builder kv;
  kv.Invoke(0, "put", "k", Value::String("v"));
  kv.Complete(0, EventType::kOk, Value::String("v")).offset = 0;
  EXPECT_EQ(DefaultCheckers(kv.h), (std::vector<std::string>{"session", "convergence", "durability"}));
  // And the bank's checks still fail half a transfer when chosen by default.
  Builder broken = Bank();
  ReadAll(broken, 2, Accounts({{"a0", 7}, {"a1", 10}}));
  auto report = CheckHistory(broken.h, Format::kJsonl, CheckOptions{});
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->Overall(), Verdict::kInvalid);
}

// The same choice when the JSONL reader paired the operations as it read
// them (kvcheck's way): the reader notes whether any is a transfer or an incr
// (History::op_kinds) and the choice takes that instead of a pass over them,
// wherever the transfer or incr comes.
TEST(DefaultChecksTest, APairedReadersHistoryGetsTheSameChecks) {
  auto paired = [](const History& h) {
    std::istringstream in(WriteJsonl(h));
    JsonlReadOptions options;
    options.pair_events = true;
    auto read = ReadJsonl(in, "h.jsonl", options);
    EXPECT_TRUE(read.has_value()) << read.error().ToString();
    return *std::move(read);
  };
  auto names = [](Result<FullReport> report) {
    std::vector<std::string> out;
    EXPECT_TRUE(report.has_value()) << report.error().ToString();
    if (report) {
      for (const auto& r : report->reports) out.push_back(r.checker);
    }
    return out;
  };
  auto puts = [](Builder& b, int n) {
    for (int i = 0; i < n; ++i) {
      b.Invoke(5, "put", "k", Value::String(fmt::format("v{}", i)));
      b.Complete(5, EventType::kOk, Value::String(fmt::format("v{}", i))).offset = i;
    }
  };
  for (int before : {0, 3}) {
    Builder bank = Bank();
    puts(bank, before);  // the transfers after other operations, or first
    ReadAll(bank, 2, Accounts({{"a0", 7}, {"a1", 13}}));
    History h = paired(bank.h);
    ASSERT_TRUE(h.op_kinds.has_value());
    EXPECT_TRUE(h.op_kinds->transfer);
    EXPECT_EQ(names(CheckHistory(h, Format::kJsonl, CheckOptions{})), DefaultCheckers(bank.h));
    EXPECT_EQ(names(CheckHistory(std::move(h), Format::kJsonl, CheckOptions{})),
              (std::vector<std::string>{"convergence", "read-levels", "bank"}));
    Builder counter;
    puts(counter, before);
    counter.Incr(0, "c", EventType::kOk, 1, 0);
    History c = paired(counter.h);
    EXPECT_TRUE(c.op_kinds->incr);
    EXPECT_FALSE(c.op_kinds->transfer);
    EXPECT_EQ(names(CheckHistory(std::move(c), Format::kJsonl, CheckOptions{})),
              (std::vector<std::string>{"convergence", "read-levels", "counter"}));
  }
  Builder kv;
  puts(kv, 2);
  History h = paired(kv.h);
  EXPECT_FALSE(h.op_kinds->transfer);
  EXPECT_FALSE(h.op_kinds->incr);
  EXPECT_EQ(names(CheckHistory(std::move(h), Format::kJsonl, CheckOptions{})),
            (std::vector<std::string>{"session", "convergence", "durability"}));
}

TEST(BankCheckTest, ANegativeBalanceIsCaughtUnlessAllowed) {
  Builder b = Bank();
  ReadAll(b, 2, Accounts({{"a0", -1}, {"a1", 21}}));
  auto r = Check(b.h, "bank");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Kinds(*r), std::vector<std::string>{"negative-balance"});
  EXPECT_EQ(Check(b.h, "bank", BankOptions{.allow_negative = true})->verdict, Verdict::kValid);
}

TEST(BankCheckTest, WithoutAnOpeningDepositOrTotalTheVerdictIsUnknown) {
  Builder b;
  ReadAll(b, 2, Accounts({{"a0", 7}, {"a1", 13}}));
  EXPECT_EQ(Check(b.h, "bank")->verdict, Verdict::kUnknown);
  EXPECT_EQ(Check(b.h, "bank", BankOptions{.total = 20})->verdict, Verdict::kValid);
  EXPECT_EQ(Check(b.h, "bank", BankOptions{.total = 21})->verdict, Verdict::kInvalid);
}

// --- read levels -----------------------------------------------------------

Builder Writes() {
  Builder b;
  for (int64_t i = 0; i < 5; ++i) {
    b.Invoke(0, "put", "k", Value::String(fmt::format("v{}", i)));
    b.Complete(0, EventType::kOk, Value::String(fmt::format("v{}", i))).offset = 10 + i;  // up to 14
  }
  return b;
}

TEST(ReadLevelsCheckTest, ReadsKeepingTheirPromisesPass) {
  Builder b = Writes();
  b.Read(1, "k", Value::String("v4"), "linearizable", 15);
  b.Read(1, "k", Value::String("v2"), "bounded", 13, 2);  // end >= 15, lag 2
  b.Read(1, "k", Value::String("v1"), "at_least", 12, 11);
  b.Read(1, "k", Value::String("v0"), "local", 11);  // local: anything
  auto r = Check(b.h, "read-levels");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->verdict, Verdict::kValid) << r->summary;
  EXPECT_NE(r->summary.find("1 at_least, 1 bounded, 1 linearizable, 1 local"), std::string::npos) << r->summary;
}

TEST(ReadLevelsCheckTest, ReadsBreakingTheirPromisesAreCaught) {
  Builder b = Writes();
  b.Read(1, "k", Value::String("v3"), "linearizable", 14);
  b.Read(1, "k", Value::String("v1"), "bounded", 12, 2);
  b.Read(1, "k", Value::String("v1"), "at_least", 12, 12);
  auto r = Check(b.h, "read-levels");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Kinds(*r), (std::vector<std::string>{"linearizable-position", "bounded-lag", "at-least"}));
  EXPECT_NE(r->violations[1].message.find("the log's end was at least 15"), std::string::npos)
      << r->violations[1].message;
}

TEST(ReadLevelsCheckTest, AWriteAcknowledgedOnlyAfterTheReadBeganDoesNotCount) {
  Builder b;
  b.Invoke(0, "put", "k", Value::String("v"));
  b.Invoke(1, "get", "k").level = "linearizable";
  b.Complete(0, EventType::kOk, Value::String("v")).offset = 7;
  b.Complete(1, EventType::kOk).applied = 0;  // concurrent with the put: may miss it
  EXPECT_EQ(Check(b.h, "read-levels")->verdict, Verdict::kValid);
}

TEST(ReadLevelsCheckTest, AnUnknownLevelOrAMissingBoundIsAnError) {
  Builder b;
  b.Read(1, "k", Value(), "eventual", 0);
  auto r = Check(b.h, "read-levels");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().reason.find("unknown read level \"eventual\""), std::string::npos) << r.error().ToString();
  Builder c;
  c.Read(1, "k", Value(), "bounded", 0);
  auto missing = Check(c.h, "read-levels");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().reason.find("needs its \"bound\""), std::string::npos) << missing.error().ToString();
}

TEST(ReadLevelsCheckTest, LevelAndBoundSurviveJsonl) {
  Builder b = Writes();
  b.Read(1, "k", Value::String("v1"), "bounded", 12, 2);
  const std::string text = WriteJsonl(b.h);
  EXPECT_NE(text.find("\"level\":\"bounded\""), std::string::npos);
  EXPECT_NE(text.find("\"bound\":2"), std::string::npos);
  auto back = ParseJsonl(text, "t");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  auto r = Check(*back, "read-levels");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Kinds(*r), std::vector<std::string>{"bounded-lag"});
}

TEST(TransactionLogTest, RecordsShareAnOffsetOnlyForDifferentKeys) {
  // A transfer's two writes are one log record: both at offset 1.
  const std::string txn = R"({"log":{"offset":0,"key":"a","value":"10"}}
{"log":{"offset":1,"key":"a","value":"7"}}
{"log":{"offset":1,"key":"b","value":"3"}}
{"final":{"replica":"c0","applied":2,"digest":"x"}})";
  auto h = ParseJsonl(txn, "t");
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  EXPECT_EQ(h->log.size(), 3u);
  auto again = ParseJsonl(R"({"log":{"offset":1,"key":"a","value":"7"}}
{"log":{"offset":1,"key":"b","value":"3"}}
{"log":{"offset":1,"key":"a","value":"8"}})",
                          "t");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().line, 3);
  EXPECT_NE(again.error().reason.find("key a repeats"), std::string::npos) << again.error().ToString();
}

TEST(ReadLevelsCheckTest, AnUnknownCheckNamesTheKnownOnes) {
  CheckOptions options;
  options.checks = {"bank-robbery"};
  Builder b = Writes();
  auto r = CheckHistory(b.h, Format::kJsonl, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().reason.find("counter, bank, read-levels"), std::string::npos) << r.error().ToString();
}

}  // namespace
}  // namespace kvlog::checker
