// Conformance: versions, conditional writes, transactions and read levels.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kv/testing/client_conformance.h"

namespace kvlog::kv::testing {
namespace {

using ::testing::HasSubstr;

TEST_P(ClientConformance, AKeysVersionIsTheOffsetOfItsLastWrite) {
  RunCase([&] {
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
  });
}

TEST_P(ClientConformance, ClientsConvergeOnIdenticalVersions) {
  RunCase([&] {
    auto a = OpenClient();
    auto b = OpenClient();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    WriteConcurrently(*a, *b, 60, 7, 11);
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
  });
}

TEST_P(ClientConformance, PutIfWritesOnlyAtTheExpectedVersion) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    auto created = client->PutIfAbsent("acct", "10");
    ASSERT_TRUE(created.has_value()) << created.error().ToString();
    EXPECT_EQ(client->GetEntry("acct").value(), (VersionedValue{"10", *created}));

    auto again = client->PutIfAbsent("acct", "99");
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
    EXPECT_THAT(again.error().message(), HasSubstr("put-if-absent"));
    EXPECT_THAT(again.error().message(), HasSubstr(fmt::format("'acct' is version {}", *created)));

    auto updated = client->PutIf("acct", "20", *created);
    ASSERT_TRUE(updated.has_value()) << updated.error().ToString();
    auto stale = client->PutIf("acct", "30", *created);
    ASSERT_FALSE(stale.has_value());
    EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
    EXPECT_THAT(stale.error().message(),
                HasSubstr(fmt::format("is version {}, expected version {}", *updated, *created)));
    EXPECT_EQ(client->GetEntry("acct").value(), (VersionedValue{"20", *updated}));

    auto not_deleted = client->DeleteIf("acct", *created);
    EXPECT_EQ(not_deleted.error().code(), ErrorCode::kConflict);
    ASSERT_TRUE(client->DeleteIf("acct", *updated).has_value());
    EXPECT_EQ(client->Get("acct").error().code(), ErrorCode::kNotFound);
    auto gone = client->PutIf("acct", "40", *updated);
    EXPECT_EQ(gone.error().code(), ErrorCode::kConflict);
    EXPECT_THAT(gone.error().message(), HasSubstr("is absent"));
    // A key deleted and written again starts over with a new version.
    EXPECT_TRUE(client->PutIfAbsent("acct", "50").has_value());

    // Bad input is refused before anything is appended.
    EXPECT_EQ(client->PutIf("acct", "v", -1).error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(client->PutIfAbsent("", "v").error().code(), ErrorCode::kInvalidArgument);
    ClientOptions small;
    small.limits.max_value_bytes = 8;
    auto limited = OpenClient(small);
    ASSERT_NE(limited, nullptr);
    auto too_big = limited->PutIfAbsent("k", "0123456789");
    EXPECT_EQ(too_big.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(too_big.error().message(), HasSubstr("max_value_bytes"));
  });
}

TEST_P(ClientConformance, EveryReplicaDecidesConditionsAlikeAndHooksSeeOnlyAppliedWrites) {
  RunCase([&] {
    auto mu = runtime().NewMutex();
    std::vector<std::string> hooked;
    ClientOptions watched;
    watched.on_set = [&](std::string_view k, std::string_view v, log::Offset) {
      std::lock_guard lock(*mu);
      hooked.push_back(std::string(k) + "=" + std::string(v));
    };
    auto a = OpenClient(watched);
    auto b = OpenClient();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    // Both race to create each key: exactly one wins every key, and both
    // clients agree on who.
    std::map<std::string, std::string> winners;
    auto winners_mu = runtime().NewMutex();
    auto race = [&](Client* c, std::string tag) {
      for (int i = 0; i < 20; ++i) {
        auto key = fmt::format("lock{}", i);
        auto r = c->PutIfAbsent(key, tag);
        if (r) {
          std::lock_guard lock(*winners_mu);
          EXPECT_TRUE(winners.emplace(key, tag).second) << key << " won twice";
        } else {
          EXPECT_EQ(r.error().code(), ErrorCode::kConflict) << r.error().ToString();
        }
      }
    };
    auto ta = Spawn("racer a", [&] { race(a.get(), "a"); });
    auto tb = Spawn("racer b", [&] { race(b.get(), "b"); });
    ta->Join();
    tb->Join();
    ASSERT_EQ(winners.size(), 20u);
    ASSERT_TRUE(a->Sync().has_value());
    ASSERT_TRUE(b->Sync().has_value());
    for (const auto& [key, tag] : winners) {
      EXPECT_EQ(a->Get(key).value_or("?"), tag) << key;
      EXPECT_EQ(b->Get(key).value_or("?"), tag) << key;
    }
    EXPECT_EQ(*a->Range(KeyConstraint{}, {.versions = true}), *b->Range(KeyConstraint{}, {.versions = true}));
    auto c = OpenClient();  // Replaying decides the same.
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(*c->Range(KeyConstraint{}, {.versions = true}), *a->Range(KeyConstraint{}, {.versions = true}));
    std::lock_guard lock(*mu);
    EXPECT_EQ(hooked.size(), 20u);  // 40 attempts, 20 applied.
  });
}

TEST_P(ClientConformance, UpdateIsAnAtomicReadModifyWrite) {
  RunCase([&] {
    auto a = OpenClient();
    auto b = OpenClient();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    auto increment = [](const std::optional<std::string>& current) -> Result<std::string> {
      return std::to_string((current ? std::stoi(*current) : 0) + 1);
    };
    std::atomic<int> acknowledged{0};
    std::atomic<int> gave_up{0};
    auto work = [&](Client* c) {
      for (int i = 0; i < 25; ++i) {
        auto r = c->Update("counter", increment);
        if (r) {
          ++acknowledged;
        } else if (r.error().code() == ErrorCode::kConflict) {
          ++gave_up;  // Every attempt lost the race: a documented outcome under contention.
        } else {
          ADD_FAILURE() << r.error().ToString();
        }
      }
    };
    std::vector<std::unique_ptr<Task>> tasks;
    for (Client* c : {a.get(), b.get(), a.get(), b.get()}) tasks.push_back(Spawn("updater", [&work, c] { work(c); }));
    for (auto& task : tasks) task->Join();
    ASSERT_TRUE(a->Sync().has_value());
    // Atomic: every acknowledged increment counted once, and nothing else.
    EXPECT_EQ(a->Get("counter").value_or(""), std::to_string(acknowledged.load()));
    EXPECT_EQ(acknowledged.load() + gave_up.load(), 100);
    EXPECT_GT(acknowledged.load(), 25);  // Contention makes some give up, not most.

    // fn's error is returned as is and nothing is written.
    const auto before = a->GetEntry("counter").value();
    auto refused = a->Update("counter", [](const std::optional<std::string>&) -> Result<std::string> {
      return MakeError(ErrorCode::kInvalidArgument, "fn: no thanks");
    });
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error(), Error(ErrorCode::kInvalidArgument, "fn: no thanks"));
    ASSERT_TRUE(a->Sync().has_value());
    EXPECT_EQ(a->GetEntry("counter").value(), before);
    // A missing key is created.
    auto created = a->Update("fresh", increment);
    ASSERT_TRUE(created.has_value());
    EXPECT_EQ(a->GetEntry("fresh").value(), (VersionedValue{"1", *created}));
  });
}

TEST_P(ClientConformance, UpdateGivesUpWithConflictAfterItsAttempts) {
  RunCase([&] {
    ClientOptions options;
    options.update_max_attempts = 3;
    auto client = OpenClient(options);
    auto other = OpenClient();
    ASSERT_NE(client, nullptr);
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(client->Put("hot", "0").has_value());
    int calls = 0;
    // Another writer changes the key inside every attempt.
    auto r = client->Update("hot", [&](const std::optional<std::string>&) -> Result<std::string> {
      ++calls;
      EXPECT_TRUE(other->Put("hot", fmt::format("other{}", calls)).has_value());
      return std::string("mine");
    });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
    EXPECT_THAT(r.error().message(), HasSubstr("update_max_attempts"));
    EXPECT_EQ(calls, 3);
    ASSERT_TRUE(client->Sync().has_value());
    EXPECT_EQ(client->Get("hot").value_or(""), "other3");
  });
}

TEST_P(ClientConformance, AValueThatLooksLikeACommandIsStoredAsIs) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    const std::string tricky = std::string(internal::kCommandMagic) + "not really a command";
    auto put = client->Put("t", tricky);
    ASSERT_TRUE(put.has_value()) << put.error().ToString();
    ASSERT_TRUE(client->Batch().Put("u", tricky).Put("v", "plain").Execute().has_value());
    EXPECT_EQ(client->GetEntry("t").value(), (VersionedValue{tricky, *put}));
    EXPECT_EQ(client->Get("u").value_or(""), tricky);
    auto replay = OpenClient();
    ASSERT_NE(replay, nullptr);
    EXPECT_EQ(replay->Get("t").value_or(""), tricky);
    EXPECT_EQ(replay->Get("v").value_or(""), "plain");
    EXPECT_EQ(client->corrupt_records(), 0u);
  });
}

TEST_P(ClientConformance, ATransactionTakesOneBranchAsOneRecord) {
  RunCase([&] {
    auto mu = runtime().NewMutex();
    std::vector<std::pair<std::string, log::Offset>> hooked;
    ClientOptions options;
    options.on_set = [&](std::string_view k, std::string_view v, log::Offset o) {
      std::lock_guard lock(*mu);
      hooked.emplace_back(std::string(k) + "=" + std::string(v), o);
    };
    options.on_delete = [&](std::string_view k, log::Offset o) {
      std::lock_guard lock(*mu);
      hooked.emplace_back("-" + std::string(k), o);
    };
    LogControls controls;
    auto client = OpenControlledClient(controls, options);
    ASSERT_NE(client, nullptr);
    auto a = client->Put("a", "100");
    auto b = client->Put("b", "100");
    ASSERT_TRUE(a && b);
    const int appends = controls.appends.load();

    auto moved = client->Transaction()
                     .If(Condition::VersionIs("a", *a))
                     .If(Condition::VersionIs("b", *b))
                     .If(Condition::Absent("audit"))
                     .Put("a", "90")
                     .Put("b", "110")
                     .Delete("gone")
                     .ElsePut("failed", "1")
                     .Commit();
    ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
    EXPECT_TRUE(moved->succeeded);
    EXPECT_EQ(controls.appends.load(), appends + 1);
    EXPECT_EQ(controls.records_appended.load(), appends + 1);
    EXPECT_EQ(client->GetEntry("a").value(), (VersionedValue{"90", moved->offset}));
    EXPECT_EQ(client->GetEntry("b").value(), (VersionedValue{"110", moved->offset}));
    EXPECT_EQ(client->Get("failed").error().code(), ErrorCode::kNotFound);

    // The same conditions again are stale: the Else branch runs instead.
    auto stale = client->Transaction()
                     .If(Condition::VersionIs("a", *a))
                     .If(Condition::VersionIs("b", *b))
                     .Put("a", "0")
                     .ElsePut("failed", "1")
                     .ElseDelete("b")
                     .Commit();
    ASSERT_TRUE(stale.has_value()) << stale.error().ToString();
    EXPECT_FALSE(stale->succeeded);
    EXPECT_EQ(client->Get("a").value_or(""), "90");
    EXPECT_EQ(client->GetEntry("failed").value(), (VersionedValue{"1", stale->offset}));
    EXPECT_EQ(client->Get("b").error().code(), ErrorCode::kNotFound);
    {
      std::lock_guard lock(*mu);
      const std::vector<std::pair<std::string, log::Offset>> expected = {
          {"a=100", *a},           {"b=100", *b},           {"a=90", moved->offset},
          {"b=110", moved->offset}, {"-gone", moved->offset}, {"failed=1", stale->offset},
          {"-b", stale->offset}};
      EXPECT_EQ(hooked, expected);
    }
    // A replaying replica takes the same branches.
    auto replay = OpenClient();
    ASSERT_NE(replay, nullptr);
    EXPECT_EQ(*replay->Range(KeyConstraint{}, {.versions = true}), *client->Range(KeyConstraint{}, {.versions = true}));

    // Bad transactions are refused before anything is appended.
    EXPECT_EQ(client->Transaction().If(Condition::Present("a")).Commit().error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(client->Transaction().Put("", "x").Commit().error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(client->Transaction().If(Condition::VersionIs("a", -5)).Put("a", "x").Commit().error().code(),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(controls.appends.load(), appends + 2);
  });
}

TEST_P(ClientConformance, ATransactionOverOneRecordsLimitIsRefusedNamingTheLimit) {
  RunCase([&] {
    ClientOptions options;
    options.limits.max_value_bytes = 1000;
    options.limits.max_batch_records = 50;
    auto client = OpenClient(options);
    ASSERT_NE(client, nullptr);
    auto txn = client->Transaction();
    for (int i = 0; i < 20; ++i) txn.Put(fmt::format("k{}", i), std::string(100, 'v'));  // Each value fits.
    auto big = txn.Commit();
    ASSERT_FALSE(big.has_value());
    EXPECT_EQ(big.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(big.error().message(), HasSubstr("one record"));
    EXPECT_THAT(big.error().message(), HasSubstr("max_value_bytes) is 1000"));
    auto batch = client->Batch().Atomic();
    for (int i = 0; i < 51; ++i) batch.Put(fmt::format("k{}", i), "v");
    auto many = batch.Execute();
    ASSERT_FALSE(many.has_value());
    EXPECT_THAT(many.error().message(), HasSubstr("max_batch_records"));
    EXPECT_EQ(client->Range(KeyConstraint{})->size(), 0u);
  });
}

TEST_P(ClientConformance, AnAtomicBatchIsOneRecordAndReadersNeverSeeHalfOfIt) {
  RunCase([&] {
    LogControls controls;
    auto writer = OpenControlledClient(controls);
    auto reader = OpenClient();
    ASSERT_NE(writer, nullptr);
    ASSERT_NE(reader, nullptr);
    constexpr int kAccounts = 8;
    auto init = writer->Batch().Atomic();
    for (int i = 0; i < kAccounts; ++i) init.Put(fmt::format("acct/{}", i), "100");
    auto first = init.Execute();
    ASSERT_TRUE(first.has_value()) << first.error().ToString();
    EXPECT_EQ(controls.records_appended.load(), 1);
    EXPECT_EQ(writer->GetEntry("acct/7").value().version, *first);
    ASSERT_TRUE(reader->WaitApplied(*first).has_value());

    // Transfers as transactions; a reader's range reads must always total 800.
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    auto watcher = Spawn("watcher", [&] {
      while (!done.load()) {
        auto all = reader->Prefix("acct/");
        ASSERT_TRUE(all.has_value());
        int total = 0;
        for (const auto& kv : *all) total += std::stoi(kv.value);
        ASSERT_EQ(total, 100 * kAccounts) << "a reader saw part of a transfer";
        ++reads;
        Pause();
      }
    });
    int succeeded = 0;
    for (int i = 0; i < 60; ++i) {
      const std::string from = fmt::format("acct/{}", i % kAccounts);
      const std::string to = fmt::format("acct/{}", (i * 3 + 1) % kAccounts);
      if (from == to) continue;
      auto f = writer->GetEntry(from).value();
      auto t = writer->GetEntry(to).value();
      auto r = writer->Transaction()
                   .If(Condition::VersionIs(from, f.version))
                   .If(Condition::VersionIs(to, t.version))
                   .Put(from, std::to_string(std::stoi(f.value) - 7))
                   .Put(to, std::to_string(std::stoi(t.value) + 7))
                   .Commit();
      ASSERT_TRUE(r.has_value()) << r.error().ToString();
      succeeded += r->succeeded;
    }
    done = true;
    watcher->Join();
    EXPECT_GT(succeeded, 40);
    EXPECT_GT(reads.load(), 0);
    ASSERT_TRUE(reader->Sync().has_value());
    EXPECT_EQ(*reader->Range(KeyConstraint{}, {.versions = true}), *writer->Range(KeyConstraint{}, {.versions = true}));
  });
}

TEST_P(ClientConformance, EachReadLevelKeepsItsPromiseOnALaggingReplica) {
  RunCase([&] {
    LogControls controls;
    auto lagging = OpenControlledClient(controls);
    auto writer = OpenClient();
    ASSERT_NE(lagging, nullptr);
    ASSERT_NE(writer, nullptr);
    controls.stall_reader = true;
    auto put = writer->Put("k", "1");
    ASSERT_TRUE(put.has_value());
    const ReadOptions quick{.timeout = std::chrono::milliseconds(300)};
    auto at = [&](ReadLevel level) { return ReadOptions{level, quick.timeout}; };

    // Local: at once, and stale.
    EXPECT_EQ(lagging->Get("k", at(ReadLevel::Local())).error().code(), ErrorCode::kNotFound);
    // One record behind is within a bound of 1, not of 0.
    EXPECT_EQ(lagging->Get("k", at(ReadLevel::Bounded(1))).error().code(), ErrorCode::kNotFound);
    auto bounded = lagging->Get("k", at(ReadLevel::Bounded(0)));
    EXPECT_EQ(bounded.error().code(), ErrorCode::kTimeout);
    EXPECT_THAT(bounded.error().message(), HasSubstr("bounded(0)"));
    // The writer's position token and a linearizable read both wait, in vain.
    auto token = lagging->Get("k", at(ReadLevel::AtLeast(*put)));
    EXPECT_EQ(token.error().code(), ErrorCode::kTimeout);
    EXPECT_THAT(token.error().message(), HasSubstr(fmt::format("at-least({})", *put)));
    EXPECT_EQ(lagging->Get("k", at(ReadLevel::Linearizable())).error().code(), ErrorCode::kTimeout);

    // A linearizable read started while stalled returns the write once the
    // replica catches up.
    auto release = Spawn("release", [&] {
      SleepFor(std::chrono::milliseconds(100));
      controls.stall_reader = false;
    });
    auto linear = lagging->GetEntry("k", ReadOptions{ReadLevel::Linearizable(), std::chrono::seconds(30)});
    release->Join();
    ASSERT_TRUE(linear.has_value()) << linear.error().ToString();
    EXPECT_EQ(*linear, (VersionedValue{"1", *put}));
    EXPECT_EQ(lagging->Get("k", at(ReadLevel::AtLeast(*put))).value_or(""), "1");
    auto range = lagging->Range(KeyConstraint{}, {.versions = true}, ReadOptions{ReadLevel::Linearizable()});
    ASSERT_TRUE(range.has_value());
    EXPECT_EQ(*range, (std::vector<KeyValue>{{"k", "1", *put}}));

    EXPECT_EQ(lagging->Get("k", at(ReadLevel::Bounded(-1))).error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(lagging->Get("k", at(ReadLevel::AtLeast(-3))).error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(ReadLevelName(ReadLevel::Bounded(5)), "bounded(5)");
    EXPECT_EQ(ReadLevelName(ReadLevel::Linearizable()), "linearizable");
  });
}

}  // namespace
}  // namespace kvlog::kv::testing
