// A log with cas records: only a record whose condition held changes its key,
// so a nil read after a failed cas is consistent and after a held one is not.
#include <gtest/gtest.h>

#include "checker/check.h"

namespace kvlog::checker {
namespace {

History CasHistory(std::optional<std::string> cas_expected) {
  History h;
  h.has_log = true;
  auto event = [&](int64_t p, EventType t, std::string f, Value v) {
    Event e;
    e.process = p;
    e.type = t;
    e.f = std::move(f);
    e.key = "k";
    e.value = std::move(v);
    return e;
  };
  // p0: put a (offset 0), delete (offset 1), then p1's cas [a b] at offset 2;
  // p0 reads nil at position 3.
  h.events.push_back(event(0, EventType::kInvoke, "put", Value::String("a")));
  Event put = event(0, EventType::kOk, "put", Value::String("a"));
  put.offset = 0;
  h.events.push_back(put);
  h.events.push_back(event(0, EventType::kInvoke, "delete", Value()));
  Event del = event(0, EventType::kOk, "delete", Value());
  del.offset = 1;
  h.events.push_back(del);
  h.events.push_back(event(1, EventType::kInvoke, "cas", Value::List({Value::String("a"), Value::String("b")})));
  Event cas = event(1, EventType::kOk, "cas", Value::List({Value::String("a"), Value::String("b")}));
  cas.result = false;
  h.events.push_back(cas);
  h.events.push_back(event(0, EventType::kInvoke, "get", Value()));
  Event get = event(0, EventType::kOk, "get", Value());
  get.applied = 3;
  h.events.push_back(get);
  h.log = {LogRecord{.offset = 0, .key = "k", .value = "a"}, LogRecord{.offset = 1, .key = "k", .f = "delete"},
           LogRecord{.offset = 2, .key = "k", .value = "b", .expected = cas_expected, .f = "cas"}};
  return h;
}

std::vector<std::string> SessionViolations(const History& h) {
  CheckOptions options;
  options.checks = {"session"};
  auto report = CheckHistory(h, Format::kJsonl, options);
  EXPECT_TRUE(report.has_value()) << report.error().ToString();
  std::vector<std::string> kinds;
  if (report) {
    for (const auto& r : report->reports) {
      for (const auto& v : r.violations) kinds.push_back(v.kind);
    }
  }
  return kinds;
}

TEST(CasLogTest, ANilReadAfterAFailedCasIsConsistent) {
  // cas expected "a", but the key was deleted: it changed nothing.
  EXPECT_EQ(SessionViolations(CasHistory("a")), std::vector<std::string>{});
}

TEST(CasLogTest, ANilReadAfterACasThatHeldIsInconsistent) {
  // cas on absence held at offset 2: the key holds b, so nil is wrong.
  EXPECT_EQ(SessionViolations(CasHistory(std::nullopt)), std::vector<std::string>{"read-inconsistent"});
}

}  // namespace
}  // namespace kvlog::checker
