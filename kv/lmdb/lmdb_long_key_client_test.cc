// A replica on the LMDB store applies records whose keys are longer than
// LMDB's 511 bytes (kvlog's writers take 16 KiB) and converges with an
// in-memory replica of the same log: the same state, the same digest, across
// a restart of the LMDB replica. Before long keys were stored under a
// stand-in, such a record aborted the LMDB replica every time it met it.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include "kv/client.h"
#include "kv/testing/scratch_dir.h"
#include "kv/lmdb/lmdb_storage.h"
#include "kv/memory_storage.h"
#include "log/sim/broker.h"

namespace kvlog::kv::lmdb {
namespace {

namespace fs = std::filesystem;

using testing::NewScratchDir;

std::unique_ptr<Client> OpenReplica(log::sim::Broker& broker, std::unique_ptr<Storage> store) {
  auto client = Client::Open(broker.Connect(), std::move(store), {});
  EXPECT_TRUE(client.has_value()) << client.error().ToString();
  if (!client) return nullptr;
  EXPECT_TRUE((*client)->Sync().has_value());
  return std::move(*client);
}

std::unique_ptr<Client> OpenLmdbReplica(log::sim::Broker& broker, const std::string& dir) {
  auto store = OpenLmdbStorage({.path = dir});
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  if (!store) return nullptr;
  return OpenReplica(broker, std::unique_ptr<Storage>(std::move(*store)));
}

std::vector<KeyValue> State(Client& client) {
  auto all = client.Range(KeyConstraint{}, {.versions = true});
  EXPECT_TRUE(all.has_value());
  return all ? std::move(*all) : std::vector<KeyValue>{};
}

// XXH3-64 over every key, value and version in key order.
uint64_t Digest(const std::vector<KeyValue>& state) {
  std::string bytes;
  for (const KeyValue& kv : state) bytes += fmt::format("{}:{}|{}:{}|{};", kv.key.size(), kv.key, kv.value.size(), kv.value, kv.version);
  return XXH3_64bits(bytes.data(), bytes.size());
}

TEST(LmdbLongKeyClientTest, ARecordWithA2KiBKeyIsAppliedAsTheInMemoryReplicaAppliesIt) {
  log::sim::Broker broker;
  const std::string long_a(2048, 'a');
  const std::string long_b = std::string(2047, 'a') + "b";  // Shares its first 2047 bytes with long_a.
  const std::string longest(16 * 1024, 'z');
  {
    auto writer = Client::Open(broker.Connect(), NewMemoryStorage(), {});
    ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
    ASSERT_TRUE((*writer)->Put("short", "1").has_value());
    ASSERT_TRUE((*writer)->Put(long_a, "2 KiB key").has_value());
    ASSERT_TRUE((*writer)->Put(long_b, "b").has_value());
    ASSERT_TRUE((*writer)->Put(longest, "16 KiB key").has_value());
    ASSERT_TRUE((*writer)->Delete(long_b).has_value());
    ASSERT_TRUE((*writer)->Put(long_a, "rewritten").has_value());
  }
  const std::string dir = NewScratchDir("long-key-replica");
  std::vector<KeyValue> memory_state;
  {
    auto memory = OpenReplica(broker, NewMemoryStorage());
    ASSERT_NE(memory, nullptr);
    memory_state = State(*memory);
  }
  ASSERT_EQ(memory_state.size(), 3u);
  EXPECT_EQ(memory_state[0].key, long_a);
  EXPECT_EQ(memory_state[0].value, "rewritten");
  {
    auto replica = OpenLmdbReplica(broker, dir);
    ASSERT_NE(replica, nullptr);
    EXPECT_EQ(State(*replica), memory_state);
    EXPECT_EQ(Digest(State(*replica)), Digest(memory_state));
    EXPECT_EQ(*replica->Get(long_a), "rewritten");
  }
  // More long-key records while the LMDB replica is down; it resumes from
  // its position and converges again.
  {
    auto writer = Client::Open(broker.Connect(), NewMemoryStorage(), {});
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE((*writer)->Put(long_b, "back").has_value());
    ASSERT_TRUE((*writer)->Delete(longest).has_value());
  }
  auto memory = OpenReplica(broker, NewMemoryStorage());
  auto replica = OpenLmdbReplica(broker, dir);
  ASSERT_NE(memory, nullptr);
  ASSERT_NE(replica, nullptr);
  memory_state = State(*memory);
  EXPECT_EQ(memory_state.size(), 3u);
  EXPECT_EQ(State(*replica), memory_state);
  EXPECT_EQ(Digest(State(*replica)), Digest(memory_state));
}

}  // namespace
}  // namespace kvlog::kv::lmdb
