// kv::Scan (kv/scan.h) over every store: a client on the simulated log
// applies into the store under test, and the scan pages through it.
#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <gmock/gmock.h>

#include "kv/client.h"
#include "kv/scan.h"
#include "kv/testing/storage_conformance.h"
#include "log/sim/broker.h"

namespace kvlog::kv::testing {
namespace {

using ::testing::HasSubstr;

struct Scanned {
  std::vector<KeyValue> pairs;
  std::size_t pages = 0;
  Status status;
};

Scanned ScanAll(const Client& client, KeyConstraint range, ScanOptions options) {
  Scanned out;
  Scan scan(client, std::move(range), options);
  for (; scan.Valid(); scan.Next()) {
    out.pairs.push_back(KeyValue{std::string(scan.key()), std::string(scan.value()), scan.version()});
  }
  out.pages = scan.pages();
  out.status = scan.status();
  return out;
}

std::string Key(int i) {
  return fmt::format("k{:04}", i);
}

}  // namespace

TEST_P(StorageConformance, AScanPagesThroughTheRangeInKeyOrderAsRangeReadsIt) {
  log::sim::Broker broker;
  auto opened = Client::Open(broker.Connect(), std::move(store_), {});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  Client& client = **opened;
  WriteBatch batch = client.Batch();
  for (int i = 0; i < 250; ++i) batch.Put(Key(i), fmt::format("v{}", i));
  ASSERT_TRUE(batch.Execute().has_value());
  // Keys that only a byte-exact resume gets right: a key and its successors
  // with zero bytes, and 0xFF bytes.
  for (std::string key : {std::string("z"), std::string("z\0", 2), std::string("z\0\0", 3), std::string("z\xff")}) {
    ASSERT_TRUE(client.Put(key, "edge").has_value());
  }
  const std::vector<KeyValue> all = *client.Range(KeyConstraint{}, {.versions = true});
  ASSERT_EQ(all.size(), 254u);

  for (std::size_t page_size : {std::size_t{1}, std::size_t{7}, std::size_t{254}, std::size_t{1000}}) {
    Scanned forward = ScanAll(client, KeyConstraint{}, {.page_size = page_size, .versions = true});
    ASSERT_TRUE(forward.status.has_value()) << forward.status.error().ToString();
    EXPECT_EQ(forward.pairs, all) << "page_size " << page_size;
    // Pages of page_size, plus at most one that finds the end.
    EXPECT_GE(forward.pages, (all.size() + page_size - 1) / page_size);
    EXPECT_LE(forward.pages, all.size() / page_size + 1);

    Scanned reverse = ScanAll(client, KeyConstraint{}, {.page_size = page_size, .versions = true, .reverse = true});
    ASSERT_TRUE(reverse.status.has_value());
    EXPECT_EQ(reverse.pairs, std::vector<KeyValue>(all.rbegin(), all.rend())) << "page_size " << page_size;
  }
  // A bounded range, a limit, and a prefix.
  Scanned bounded = ScanAll(client, KeyConstraint{Key(10), Key(30)}, {.page_size = 6});
  ASSERT_EQ(bounded.pairs.size(), 20u);
  EXPECT_EQ(bounded.pairs.front().key, Key(10));
  EXPECT_EQ(bounded.pairs.back().key, Key(29));
  EXPECT_EQ(bounded.pairs.back().version, kNoVersion);  // Not asked for.
  Scanned limited = ScanAll(client, KeyConstraint{}, {.page_size = 4, .limit = 10});
  ASSERT_EQ(limited.pairs.size(), 10u);
  EXPECT_EQ(limited.pairs.back().key, Key(9));
  EXPECT_EQ(limited.pages, 3u);  // 4 + 4 + 2: never more than the limit is read.
  Scanned limited_reverse = ScanAll(client, Prefix("k"), {.page_size = 3, .limit = 5, .reverse = true});
  ASSERT_EQ(limited_reverse.pairs.size(), 5u);
  EXPECT_EQ(limited_reverse.pairs.front().key, Key(249));
  EXPECT_EQ(limited_reverse.pairs.back().key, Key(245));
  Scanned edge = ScanAll(client, Prefix("z"), {.page_size = 1});
  ASSERT_EQ(edge.pairs.size(), 4u);
  EXPECT_EQ(edge.pairs[1].key, std::string("z\0", 2));
  EXPECT_EQ(edge.pairs[3].key, "z\xff");
}

TEST_P(StorageConformance, AScanIsAPageAtATimeAndSaysWhyItStopped) {
  log::sim::Broker broker;
  auto opened = Client::Open(broker.Connect(), std::move(store_), {});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  Client& client = **opened;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.Put(Key(i * 10), "v").has_value());

  Scan scan(client, KeyConstraint{}, {.page_size = 3});
  ASSERT_TRUE(scan.Valid());
  const log::Offset first_position = scan.position();
  EXPECT_GT(first_position, 0);
  // Written while the scan is in its first page: a key behind it is never
  // seen, a key ahead of it is (the next page reads it), a deleted key ahead
  // is gone.
  ASSERT_TRUE(client.Put(Key(5), "behind").has_value());
  ASSERT_TRUE(client.Put(Key(55), "ahead").has_value());
  ASSERT_TRUE(client.Delete(Key(90)).has_value());
  std::vector<std::string> keys;
  for (; scan.Valid(); scan.Next()) keys.emplace_back(scan.key());
  ASSERT_TRUE(scan.status().has_value());
  EXPECT_EQ(keys, (std::vector<std::string>{Key(0), Key(10), Key(20), Key(30), Key(40), Key(50), Key(55), Key(60),
                                            Key(70), Key(80)}));
  EXPECT_GT(scan.position(), first_position);

  // Bad options and ranges are refused, naming the limit.
  Scan zero(client, KeyConstraint{}, {.page_size = 0});
  EXPECT_FALSE(zero.Valid());
  ASSERT_FALSE(zero.status().has_value());
  EXPECT_EQ(zero.status().error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(zero.status().error().message(), HasSubstr("page_size 0 is outside 1..1000000"));
  Scan backwards(client, KeyConstraint{"b", "a"}, {});
  ASSERT_FALSE(backwards.status().has_value());
  EXPECT_EQ(backwards.status().error().code(), ErrorCode::kInvalidArgument);

  // A client closed mid-scan ends it with kClosed.
  Scan interrupted(client, KeyConstraint{}, {.page_size = 2});
  ASSERT_TRUE(interrupted.Valid());
  client.Close();
  std::size_t seen = 0;
  for (; interrupted.Valid(); interrupted.Next()) ++seen;
  EXPECT_EQ(seen, 2u);
  ASSERT_FALSE(interrupted.status().has_value());
  EXPECT_EQ(interrupted.status().error().code(), ErrorCode::kClosed);
}

}  // namespace kvlog::kv::testing
