// Client::Stats, PrometheusText, Exists, Count and Keys over the simulated log.
#include "kv/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "log/sim/broker.h"

namespace kvlog::kv {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::unique_ptr<Client> OpenClient(log::sim::Broker& broker, std::string id) {
  ClientOptions options;
  options.client_id = std::move(id);
  options.logger = nullptr;
  auto client = Client::Open(broker.Connect(), NewMemoryStorage(), options);
  EXPECT_TRUE(client.has_value()) << client.error().ToString();
  return std::move(*client);
}

TEST(Stats, CountsWhatTheClientDidAndWhereItStands) {
  log::sim::Broker broker;
  auto c = OpenClient(broker, "s");
  ASSERT_TRUE(c->Put("a", "12345").has_value());
  ASSERT_TRUE(c->Put("b", "x").has_value());
  ASSERT_TRUE(c->Delete("b").has_value());
  ASSERT_TRUE(c->Batch().Put("c", "1").Put("d", "2").Execute().has_value());
  auto failed = c->PutIfAbsent("a", "again");
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), ErrorCode::kConflict);
  auto txn = c->Transaction().If(Condition::Absent("a")).Put("e", "1").ElseDelete("c").Commit();
  ASSERT_TRUE(txn.has_value() && !txn->succeeded);
  EXPECT_TRUE(c->Get("a").has_value());
  EXPECT_FALSE(c->Get("zz").has_value());
  EXPECT_TRUE(c->GetEntry("d").has_value());
  std::vector<std::string_view> keys{"a", "b", "c"};
  std::vector<std::optional<std::string>> values;
  ASSERT_TRUE(c->MultiGet(keys, &values).has_value());  // a hit; b, c (deleted by the txn) miss

  auto s = c->Stats({.end_offset = true});
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->client_id, "s");
  EXPECT_EQ(s->applied_position, c->AppliedPosition());
  EXPECT_EQ(s->end_offset, std::optional<log::Offset>(7));  // 4 plain records, 1 batch of 2... 7 records in all
  EXPECT_EQ(s->lag_records, std::optional<int64_t>(0));
  EXPECT_EQ(s->records_applied, 7u);
  EXPECT_EQ(s->puts, 4u);     // a, b, c, d
  EXPECT_EQ(s->deletes, 1u);  // b
  EXPECT_EQ(s->commands, 2u);
  EXPECT_EQ(s->conditional_failures, 2u);
  EXPECT_EQ(s->sets_applied, 4u);
  EXPECT_EQ(s->deletes_applied, 2u);  // b, and c by the txn's else branch
  EXPECT_EQ(s->bytes_applied, (1u + 5) + (1 + 1) + 1 + (1 + 1) + (1 + 1) + 1);
  EXPECT_EQ(s->gets, 6u);
  EXPECT_EQ(s->hits, 3u);
  EXPECT_EQ(s->misses, 3u);
  EXPECT_EQ(s->keys, 2u);  // a, d
  EXPECT_EQ(s->writes_in_flight, 0u);
  EXPECT_EQ(s->corrupt_records, 0u);
  EXPECT_EQ(s->oldest_watch_start, -1);
  EXPECT_EQ(s->watch_history_events, 7u - 1);  // The failed PutIfAbsent changed nothing.
  // Without the end offset, no request and no lag.
  auto local = c->Stats();
  ASSERT_TRUE(local.has_value());
  EXPECT_FALSE(local->end_offset.has_value());
}

TEST(Stats, CorruptRecordsAndWatchersWithTheirLag) {
  log::sim::BrokerFaults faults;
  faults.corrupt_probability = 1.0;
  log::sim::Broker broker(Runtime::Real(), faults, 1);
  auto c = OpenClient(broker, "s");
  WatchOptions w;
  w.key = "k";
  w.buffer_events = 1;
  auto watcher = c->Watch(w);
  ASSERT_TRUE(watcher.has_value());
  auto put = c->Put("k", "1");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), ErrorCode::kCorrupt);
  auto s = c->Stats();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->corrupt_records, 1u);
  ASSERT_EQ(s->watchers.size(), 1u);
  EXPECT_EQ(s->watchers[0].lag, 0);
  EXPECT_FALSE(s->watchers[0].ended);
}

TEST(Stats, AWatcherThatFellBehindShowsItsLag) {
  log::sim::Broker broker;
  auto c = OpenClient(broker, "s");
  WatchOptions w;
  w.key = "k";
  w.buffer_events = 1;
  auto watcher = c->Watch(w);
  ASSERT_TRUE(watcher.has_value());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(c->Put("k", std::to_string(i)).has_value());
  auto s = c->Stats();
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->watchers.size(), 1u);
  EXPECT_EQ(s->watchers[0].buffered, 1u);
  EXPECT_TRUE(s->watchers[0].ended);
  EXPECT_EQ(s->watchers[0].lag, 3);  // Stopped at the second put (offset 1); the applier is at 4.
  const std::string text = PrometheusText(*s);
  EXPECT_THAT(text, HasSubstr("kvlog_watcher_lag_records{client=\"s\",watcher=\"1\",key=\"k\",prefix=\"false\"} 3\n"));
}

TEST(Stats, PrometheusTextHasHelpTypeAndEscapedLabels) {
  ClientStats s;
  s.client_id = "a\"b\\c\nd";
  s.applied_position = 42;
  s.gets = 5;
  s.hits = 4;
  s.misses = 1;
  s.end_offset = 50;
  s.lag_records = 8;
  const std::string text = PrometheusText(s);
  EXPECT_THAT(text, HasSubstr("# HELP kvlog_applied_position "));
  EXPECT_THAT(text, HasSubstr("# TYPE kvlog_applied_position gauge\n"));
  EXPECT_THAT(text, HasSubstr("kvlog_applied_position{client=\"a\\\"b\\\\c\\nd\"} 42\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE kvlog_gets_total counter\n"));
  EXPECT_THAT(text, HasSubstr("kvlog_get_misses_total{client=\"a\\\"b\\\\c\\nd\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kvlog_lag_records{client=\"a\\\"b\\\\c\\nd\"} 8\n"));
  // Every line is a comment or a sample "name{labels} value".
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "the text ends with a newline";
    const std::string line = text.substr(start, end - start);
    EXPECT_TRUE(line.starts_with("# HELP kvlog_") || line.starts_with("# TYPE kvlog_") || line.starts_with("kvlog_"))
        << line;
    start = end + 1;
  }
  // No end offset asked: no lag family.
  s.end_offset.reset();
  s.lag_records.reset();
  EXPECT_THAT(PrometheusText(s), ::testing::Not(HasSubstr("kvlog_lag_records")));
}

TEST(SmallReads, ExistsCountKeysAndReverseRange) {
  log::sim::Broker broker;
  auto c = OpenClient(broker, "s");
  for (std::string k : {"user/1", "user/2", "user/3", "team/1"}) ASSERT_TRUE(c->Put(k, "v").has_value());
  ASSERT_TRUE(c->Delete("user/2").has_value());
  EXPECT_EQ(c->Exists("user/1"), true);
  EXPECT_EQ(c->Exists("user/2"), false);
  EXPECT_EQ(c->Count(), 3u);
  EXPECT_EQ(c->Count("user/"), 2u);
  EXPECT_EQ(c->Count("nobody/"), 0u);
  EXPECT_EQ(c->Keys("user/"), (std::vector<std::string>{"user/1", "user/3"}));
  EXPECT_EQ(c->Keys("", 2), (std::vector<std::string>{"team/1", "user/1"}));
  QueryOptions reverse;
  reverse.reverse = true;
  auto backwards = c->Prefix("", reverse);
  ASSERT_TRUE(backwards.has_value());
  ASSERT_EQ(backwards->size(), 3u);
  EXPECT_EQ((*backwards)[0].key, "user/3");
  EXPECT_EQ((*backwards)[2].key, "team/1");
  reverse.limit = 2;
  auto last_two = c->Prefix("user/", reverse);
  ASSERT_TRUE(last_two.has_value());
  ASSERT_EQ(last_two->size(), 2u);
  EXPECT_EQ((*last_two)[0].key, "user/3");
  EXPECT_EQ((*last_two)[1].key, "user/1");
  ReadInfo info;
  reverse.limit = 1;
  auto positioned = c->Range(KeyConstraint{}, reverse, &info);
  ASSERT_TRUE(positioned.has_value());
  EXPECT_EQ((*positioned)[0].key, "user/3");
  EXPECT_EQ(info.position, c->AppliedPosition());
  auto empty = c->Exists("");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  c->Close();
  EXPECT_EQ(c->Count().error().code(), ErrorCode::kClosed);
  EXPECT_EQ(c->Keys().error().code(), ErrorCode::kClosed);
}

}  // namespace
}  // namespace kvlog::kv
