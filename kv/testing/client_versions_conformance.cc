// Conformance: versions, conditional writes, transactions and read levels.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kv/testing/client_conformance.h"

namespace kvlog::kv::testing {
namespace {

using ::testing::HasSubstr;

TEST_P(ClientConformance, AKeysVersionIsTheOffsetOfItsLastWrite) {
  auto client = OpenClient();
  ASSERT_NE(client, nullptr);
  auto first = client->Put("v", "1");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(client->GetEntry("v").value(), (VersionedValue{"1", *first}));
  auto second = client->Put("v", "2");
  ASSERT_TRUE(second.has_value());
  EXPECT_GT(*second, *first);
  EXPECT_EQ(client->GetEntry("v").value(), (VersionedValue{"2", *second}));
  ASSERT_TRUE(client->Delete("v").has_value());
  EXPECT_EQ(client->GetEntry("v").error().code(), ErrorCode::kNotFound);
  auto third = client->Batch().Put("v", "3").Put("w", "4").Execute();
  ASSERT_TRUE(third.has_value());
  auto range = client->Range(KeyConstraint{}, {.versions = true});
  ASSERT_TRUE(range.has_value());
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[0].version, *third - 1);
  EXPECT_EQ((*range)[1], (KeyValue{"w", "4", *third}));
  // Without the option, versions stay out of a range.
  EXPECT_EQ(client->Range(KeyConstraint{})->at(1), (KeyValue{"w", "4"}));
}

TEST_P(ClientConformance, ClientsConvergeOnIdenticalVersions) {
  auto a = OpenClient();
  auto b = OpenClient();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto write = [](Client* c, std::string tag) {
    for (int i = 0; i < 60; ++i) {
      auto key = "k" + std::to_string(i % 7);
      EXPECT_TRUE(c->Put(key, tag + std::to_string(i)).has_value());
      if (i % 11 == 0) {
        EXPECT_TRUE(c->Delete(key).has_value());
      }
    }
  };
  std::thread ta(write, a.get(), "a");
  std::thread tb(write, b.get(), "b");
  ta.join();
  tb.join();
  ASSERT_TRUE(a->Sync().has_value());
  ASSERT_TRUE(b->Sync().has_value());
  auto in_a = a->Range(KeyConstraint{}, {.versions = true});
  auto in_b = b->Range(KeyConstraint{}, {.versions = true});
  ASSERT_TRUE(in_a && in_b);
  EXPECT_FALSE(in_a->empty());
  EXPECT_EQ(*in_a, *in_b);
  for (const KeyValue& kv : *in_a) EXPECT_NE(kv.version, kNoVersion) << kv.key;
  // A client that replays the log from the start gives the same versions.
  auto c = OpenClient();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*c->Range(KeyConstraint{}, {.versions = true}), *in_a);
}

}  // namespace
}  // namespace kvlog::kv::testing
