// Client::Watch over the simulated log, with real threads and time.
#include "kv/watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <stop_token>
#include <thread>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/testing/log_doubles.h"
#include "log/sim/broker.h"

namespace kvlog::kv {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::unique_ptr<Client> OpenClient(log::sim::Broker& broker, ClientOptions options = {}) {
  auto client = Client::Open(broker.Connect(), NewMemoryStorage(), std::move(options));
  EXPECT_TRUE(client.has_value()) << client.error().ToString();
  return std::move(*client);
}

WatchOptions KeyWatch(std::string key, WatchStart start = WatchStart::Now()) {
  WatchOptions w;
  w.key = std::move(key);
  w.start = start;
  w.progress_interval = Duration::zero();
  return w;
}

WatchOptions PrefixWatch(std::string prefix, WatchStart start = WatchStart::Now()) {
  WatchOptions w = KeyWatch(std::move(prefix), start);
  w.prefix = true;
  return w;
}

WatchEvent Changes(Version v, std::vector<WatchChange> changes) {
  return WatchEvent{WatchEvent::Type::kChanges, v, std::move(changes)};
}

// Takes events until `n` changes events have come (or a non-change event).
std::vector<WatchEvent> Take(Watcher& w, std::size_t n) {
  std::vector<WatchEvent> out;
  while (out.size() < n) {
    auto e = w.Next(5s);
    EXPECT_TRUE(e.has_value()) << e.error().ToString();
    if (!e) break;
    out.push_back(*e);
    if (e->type != WatchEvent::Type::kChanges) break;
  }
  return out;
}

TEST(Watch, AKeyWatchGetsEveryChangeToThatKeyInOrderWithTombstonesAndVersions) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  auto watcher = client->Watch(KeyWatch("a"));
  ASSERT_TRUE(watcher.has_value()) << watcher.error().ToString();
  auto v1 = client->Put("a", "1");
  ASSERT_TRUE(client->Put("b", "x").has_value());
  ASSERT_TRUE(client->Put("ab", "y").has_value());  // Not the key, though it has the key as a prefix.
  auto v2 = client->Delete("a");
  auto v3 = client->Put("a", "3");
  ASSERT_TRUE(v1 && v2 && v3);
  EXPECT_EQ(Take(**watcher, 3), (std::vector<WatchEvent>{Changes(*v1, {{"a", "1"}}), Changes(*v2, {{"a", std::nullopt}}),
                                                         Changes(*v3, {{"a", "3"}})}));
  // Nothing more arrived.
  auto none = (*watcher)->Next(20ms);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::kTimeout);
}

TEST(Watch, ATransactionsAndAnAtomicBatchsChangesUnderThePrefixComeTogether) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  auto watcher = client->Watch(PrefixWatch("p/"));
  ASSERT_TRUE(watcher.has_value());
  auto batch = client->Batch().Put("p/1", "a").Put("q/1", "b").Delete("p/2").Atomic().Execute();
  ASSERT_TRUE(batch.has_value());
  auto txn = client->Transaction().If(Condition::Absent("p/9")).Put("p/3", "c").Put("p/4", "d").ElsePut("p/5", "e").Commit();
  ASSERT_TRUE(txn.has_value() && txn->succeeded);
  // A failed condition writes its else branch only.
  auto other = client->Transaction().If(Condition::Present("p/9")).Put("p/6", "f").ElseDelete("p/3").Commit();
  ASSERT_TRUE(other.has_value() && !other->succeeded);
  EXPECT_EQ(Take(**watcher, 3),
            (std::vector<WatchEvent>{Changes(*batch, {{"p/1", "a"}, {"p/2", std::nullopt}}),
                                     Changes(txn->offset, {{"p/3", "c"}, {"p/4", "d"}}),
                                     Changes(other->offset, {{"p/3", std::nullopt}})}));
}

TEST(Watch, FromTheStartReplaysTheHistoryAndAfterAVersionGivesExactlyTheContinuation) {
  log::sim::Broker broker;
  auto writer = OpenClient(broker);
  std::vector<Version> versions;
  for (int i = 0; i < 6; ++i) versions.push_back(*writer->Put("k", std::to_string(i)));
  // A new client: its window holds its start-up replay.
  auto reader = OpenClient(broker);
  auto all = reader->Watch(KeyWatch("k", WatchStart::FromStart()));
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  auto events = Take(**all, 6);
  ASSERT_EQ(events.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(events[i], Changes(versions[i], {{"k", std::to_string(i)}}));
  auto rest = reader->Watch(KeyWatch("k", WatchStart::After(versions[3])));
  ASSERT_TRUE(rest.has_value());
  auto more = writer->Put("k", "6");
  auto continuation = Take(**rest, 3);
  EXPECT_EQ(continuation, (std::vector<WatchEvent>{Changes(versions[4], {{"k", "4"}}), Changes(versions[5], {{"k", "5"}}),
                                                   Changes(*more, {{"k", "6"}})}));
  // The first watcher goes on live too, without a duplicate.
  EXPECT_EQ(Take(**all, 1), (std::vector<WatchEvent>{Changes(*more, {{"k", "6"}})}));
}

TEST(Watch, AStartOlderThanTheHistoryWindowIsKCompactedNamingTheOldestStart) {
  log::sim::Broker broker;
  ClientOptions options;
  options.watch_history_events = 3;
  auto client = OpenClient(broker, options);
  std::vector<Version> versions;
  for (int i = 0; i < 6; ++i) versions.push_back(*client->Put(fmt::format("k{}", i), "v"));
  // The window holds the last three records: the oldest start is after versions[2].
  for (WatchStart start : {WatchStart::FromStart(), WatchStart::After(versions[0]), WatchStart::After(versions[1])}) {
    auto refused = client->Watch(PrefixWatch("k", start));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), ErrorCode::kCompacted);
    EXPECT_THAT(refused.error().message(), HasSubstr(fmt::format("After({})", versions[2])));
    EXPECT_THAT(refused.error().message(), HasSubstr("watch_history_events = 3"));
  }
  auto oldest = client->Watch(PrefixWatch("k", WatchStart::After(versions[2])));
  ASSERT_TRUE(oldest.has_value()) << oldest.error().ToString();
  auto events = Take(**oldest, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].version, versions[3]);
  EXPECT_EQ(events[2].version, versions[5]);

  // With no window at all, only now (or later) can be watched.
  ClientOptions none;
  none.watch_history_events = 0;
  auto bare = OpenClient(broker, none);
  auto refused = bare->Watch(PrefixWatch("k", WatchStart::FromStart()));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kCompacted);
  auto now = bare->Watch(PrefixWatch("k"));
  ASSERT_TRUE(now.has_value());
  auto v = bare->Put("k9", "z");
  EXPECT_EQ(Take(**now, 1), (std::vector<WatchEvent>{Changes(*v, {{"k9", "z"}})}));
}

TEST(Watch, ASlowConsumerFallsBehindExplicitlyAndResumesWhereItSays) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  WatchOptions options = KeyWatch("k");
  options.buffer_events = 2;
  auto slow = client->Watch(options);
  ASSERT_TRUE(slow.has_value());
  std::vector<Version> versions;
  // The writes are not held up by the full buffer.
  for (int i = 0; i < 5; ++i) {
    auto v = client->Put("k", std::to_string(i), {.timeout = 5s});
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    versions.push_back(*v);
  }
  EXPECT_EQ((*slow)->Buffered(), 2u);
  auto events = Take(**slow, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], Changes(versions[0], {{"k", "0"}}));
  EXPECT_EQ(events[1], Changes(versions[1], {{"k", "1"}}));
  EXPECT_EQ(events[2].type, WatchEvent::Type::kFellBehind);
  EXPECT_EQ(events[2].version, versions[2] - 1);
  auto ended = (*slow)->Next(0ms);
  ASSERT_FALSE(ended.has_value());
  EXPECT_EQ(ended.error().code(), ErrorCode::kClosed);

  // Resuming after the version it named gives the rest, nothing twice,
  // nothing skipped; catching up from the window is paced by the consumer.
  options.start = WatchStart::After(events[2].version);
  auto resumed = client->Watch(options);
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  auto rest = Take(**resumed, 3);
  ASSERT_EQ(rest.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rest[i], Changes(versions[2 + i], {{"k", std::to_string(2 + i)}}));
}

TEST(Watch, AQuietWatcherGetsProgressAtTheAppliedPosition) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  WatchOptions options = KeyWatch("quiet");
  options.progress_interval = 20ms;
  auto watcher = client->Watch(options);
  ASSERT_TRUE(watcher.has_value());
  ASSERT_TRUE(client->Put("other", "1").has_value());
  ASSERT_TRUE(client->Put("other", "2").has_value());
  const auto start = std::chrono::steady_clock::now();
  auto e = (*watcher)->Next(5s);
  ASSERT_TRUE(e.has_value()) << e.error().ToString();
  EXPECT_EQ(e->type, WatchEvent::Type::kProgress);
  EXPECT_EQ(e->version, client->AppliedPosition());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // Without a progress interval, a quiet watcher just times out.
  auto silent = client->Watch(KeyWatch("quiet"));
  auto none = (*silent)->Next(30ms);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), ErrorCode::kTimeout);
}

TEST(Watch, CancelAndCloseEndABlockedNext) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  auto watcher = client->Watch(KeyWatch("k"));
  ASSERT_TRUE(watcher.has_value());
  std::thread canceller([&] {
    std::this_thread::sleep_for(20ms);
    (*watcher)->Cancel();
  });
  auto cancelled = (*watcher)->Next(10s);
  canceller.join();
  ASSERT_FALSE(cancelled.has_value());
  EXPECT_EQ(cancelled.error().code(), ErrorCode::kClosed);
  EXPECT_THAT(cancelled.error().message(), HasSubstr("cancelled"));

  auto second = client->Watch(KeyWatch("k"));
  ASSERT_TRUE(second.has_value());
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    client->Close();
  });
  auto closed = (*second)->Next(10s);
  closer.join();
  ASSERT_FALSE(closed.has_value());
  EXPECT_EQ(closed.error().code(), ErrorCode::kClosed);
  auto refused = client->Watch(KeyWatch("k"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kClosed);
}

TEST(Watch, RecordsDeletedBelowTheApplierEndEveryWatcherWithDataLoss) {
  log::sim::Broker broker;
  testing::LogControls controls;
  ClientOptions options;
  options.logger = nullptr;
  auto opened = Client::Open(testing::ControlledLog(broker.Connect(), controls), NewMemoryStorage(), options);
  ASSERT_TRUE(opened.has_value());
  Client& client = **opened;
  auto watcher = client.Watch(PrefixWatch(""));
  ASSERT_TRUE(watcher.has_value());
  controls.stall_reader = true;
  for (const int before = controls.stalled_polls.load(); controls.stalled_polls.load() == before;) {
    std::this_thread::sleep_for(1ms);
  }
  auto other = OpenClient(broker);
  ASSERT_TRUE(other->Put("a", "1").has_value());
  ASSERT_TRUE(other->Put("b", "2").has_value());
  ASSERT_TRUE(other->Put("c", "3").has_value());
  broker.DeleteRecordsBefore(2);  // a and b are gone before this client read them.
  controls.stall_reader = false;
  auto lost = (*watcher)->Next(5s);
  ASSERT_FALSE(lost.has_value());
  EXPECT_EQ(lost.error().code(), ErrorCode::kDataLoss);
  EXPECT_THAT(lost.error().message(), HasSubstr("lost records"));
  // The window restarts past the loss: the log's start is no longer covered.
  ASSERT_TRUE(client.Sync().has_value());
  auto from_start = client.Watch(PrefixWatch("", WatchStart::FromStart()));
  ASSERT_FALSE(from_start.has_value());
  EXPECT_EQ(from_start.error().code(), ErrorCode::kCompacted);
}

TEST(Watch, BadOptionsAreRefusedNamingWhatWasWrong) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  WatchOptions empty;
  auto r = client->Watch(empty);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("key is empty"));
  WatchOptions zero = KeyWatch("k");
  zero.buffer_events = 0;
  r = client->Watch(zero);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("buffer_events"));
  r = client->Watch(KeyWatch("k", WatchStart::After(-5)));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("-5"));
  // The empty prefix watches every key.
  r = client->Watch(PrefixWatch(""));
  EXPECT_TRUE(r.has_value());
}

TEST(Watch, ManyWatchersEachGetTheirOwnKeys) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < 20; ++i) watchers.push_back(std::move(*client->Watch(KeyWatch(fmt::format("k{}", i)))));
  std::vector<Version> versions;
  for (int i = 0; i < 20; ++i) versions.push_back(*client->Put(fmt::format("k{}", i), "v"));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Take(*watchers[i], 1), (std::vector<WatchEvent>{Changes(versions[i], {{fmt::format("k{}", i), "v"}})}));
  }
}

// The watcher index (exact keys by hash, prefixes by length): each watcher
// gets exactly the changes a scan with WatcherState::Matches would give it.
// The reference below filters the log's records directly.
struct Written {
  Version version;
  std::vector<WatchChange> changes;
};

std::vector<WatchEvent> Expected(const std::vector<Written>& log, const std::string& key, bool prefix) {
  std::vector<WatchEvent> out;
  for (const Written& r : log) {
    std::vector<WatchChange> mine;
    for (const WatchChange& c : r.changes) {
      if (prefix ? c.key.starts_with(key) : c.key == key) mine.push_back(c);
    }
    if (!mine.empty()) out.push_back(Changes(r.version, std::move(mine)));
  }
  return out;
}

// Takes every event until the watcher has been quiet for a moment.
std::vector<WatchEvent> Drain(Watcher& w) {
  std::vector<WatchEvent> out;
  while (true) {
    auto e = w.Next(50ms);
    if (!e) {
      EXPECT_EQ(e.error().code(), ErrorCode::kTimeout) << e.error().ToString();
      break;
    }
    out.push_back(*e);
  }
  return out;
}

TEST(WatchIndex, ExactPrefixOverlappingAndEmptyPrefixWatchersGetExactlyTheirChanges) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  struct Spec {
    std::string key;
    bool prefix;
  };
  // Two watchers of one key, a key that is another's prefix, nested and
  // overlapping prefixes, a prefix equal to a key, the empty prefix.
  const std::vector<Spec> specs = {{"a", false},  {"a", false},  {"ab", false}, {"a", true},   {"ab", true},
                                   {"abc", true}, {"abc", true}, {"b", true},   {"", true},    {"zz", false},
                                   {"abcd", true}, {"", true}};
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (const Spec& spec : specs) {
    auto w = client->Watch(spec.prefix ? PrefixWatch(spec.key) : KeyWatch(spec.key));
    ASSERT_TRUE(w.has_value()) << w.error().ToString();
    watchers.push_back(std::move(*w));
  }
  std::vector<Written> log;
  for (const std::string key : {"a", "ab", "abc", "abcd", "abcde", "abd", "b", "ba", "c", "\xff"}) {
    auto v = client->Put(key, "v-" + key);
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    log.push_back({*v, {{key, "v-" + key}}});
  }
  // One record with several changes: each watcher gets its share in one event.
  auto batch = client->Batch().Put("abc", "1").Put("b", "2").Delete("a").Put("abcd", "3").Put("q", "4").Atomic().Execute();
  ASSERT_TRUE(batch.has_value()) << batch.error().ToString();
  log.push_back({*batch, {{"abc", "1"}, {"b", "2"}, {"a", std::nullopt}, {"abcd", "3"}, {"q", "4"}}});
  for (std::size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE((specs[i].prefix ? "prefix '" : "key '") + specs[i].key + "'");
    EXPECT_EQ(Drain(*watchers[i]), Expected(log, specs[i].key, specs[i].prefix));
  }
  // Spot checks of the reference itself.
  EXPECT_EQ(Expected(log, "zz", false).size(), 0u);
  EXPECT_EQ(Expected(log, "", true).size(), log.size());
  EXPECT_EQ(Expected(log, "abc", true).back(), Changes(*batch, {{"abc", "1"}, {"abcd", "3"}}));

  // Dropping one of two watchers of a key (and of a prefix) leaves the other
  // indexed; dropping the only watcher of a prefix length leaves the rest.
  watchers[0].reset();
  watchers[5].reset();
  watchers[10].reset();
  std::vector<Written> more;
  for (const std::string key : {"a", "abc", "abcd"}) more.push_back({*client->Put(key, "w-" + key), {{key, "w-" + key}}});
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!watchers[i]) continue;
    SCOPED_TRACE((specs[i].prefix ? "prefix '" : "key '") + specs[i].key + "' after drops");
    EXPECT_EQ(Drain(*watchers[i]), Expected(more, specs[i].key, specs[i].prefix));
  }
}

TEST(WatchIndex, RandomWatchersAndWritesMatchAScanOfTheLog) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  std::mt19937 rng(16);
  auto random_key = [&](std::size_t max_len) {
    std::string k;
    const std::size_t len = rng() % (max_len + 1);
    for (std::size_t i = 0; i < len; ++i) k.push_back("ab/"[rng() % 3]);
    return k;
  };
  struct Spec {
    std::string key;
    bool prefix;
  };
  std::vector<Spec> specs;
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < 60; ++i) {
    Spec spec{random_key(4), rng() % 2 == 0};
    if (spec.key.empty() && !spec.prefix) spec.key = "a";
    auto w = client->Watch(spec.prefix ? PrefixWatch(spec.key) : KeyWatch(spec.key));
    ASSERT_TRUE(w.has_value());
    specs.push_back(spec);
    watchers.push_back(std::move(*w));
  }
  std::vector<Written> log;
  for (int r = 0; r < 40; ++r) {
    std::string key = random_key(5);
    if (key.empty()) key = "b";
    if (r % 4 == 3) {
      std::string k2 = key + "/" + random_key(2);
      auto v = client->Batch().Put(key, fmt::format("x{}", r)).Delete(k2).Atomic().Execute();
      ASSERT_TRUE(v.has_value());
      log.push_back({*v, {{key, fmt::format("x{}", r)}, {k2, std::nullopt}}});
    } else {
      auto v = client->Put(key, fmt::format("x{}", r));
      ASSERT_TRUE(v.has_value());
      log.push_back({*v, {{key, fmt::format("x{}", r)}}});
    }
  }
  std::size_t nonempty = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE((specs[i].prefix ? "prefix '" : "key '") + specs[i].key + "'");
    auto expected = Expected(log, specs[i].key, specs[i].prefix);
    nonempty += !expected.empty();
    EXPECT_EQ(Drain(*watchers[i]), expected);
  }
  EXPECT_GT(nonempty, specs.size() / 3);  // The draw exercises the index, not only empty streams.
}

TEST(WatchIndex, CancellingAndDroppingWatchersWhileTheApplierPublishesLeavesTheOthersWhole) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  constexpr int kWatchers = 200;
  constexpr int kRounds = 30;
  constexpr int kKeys = 20;
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    WatchOptions o = i % 3 == 0 ? PrefixWatch(i % 2 == 0 ? "" : "k1") : KeyWatch(fmt::format("k{}", i % kKeys));
    o.buffer_events = 4096;
    watchers.push_back(std::move(*client->Watch(o)));
  }
  // The odd watchers are cancelled (and every fourth of them destroyed) by
  // another thread while the writer's batches are being published.
  std::atomic<bool> go{false};
  std::thread canceller([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 1; i < kWatchers; i += 2) {
      if (i % 4 == 1) {
        watchers[i].reset();
      } else {
        watchers[i]->Cancel();
      }
      std::this_thread::sleep_for(100us);
    }
  });
  std::vector<Written> log;
  for (int r = 0; r < kRounds; ++r) {
    if (r == 2) go = true;
    WriteBatch batch = client->Batch();
    for (int k = 0; k < kKeys; ++k) batch.Put(fmt::format("k{}", k), std::to_string(r));
    auto v = batch.Execute();
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
  }
  canceller.join();
  // What was written, as the log holds it: one record per Put.
  auto reader = OpenClient(broker);
  auto all = reader->Watch(PrefixWatch("", WatchStart::FromStart()));
  ASSERT_TRUE(all.has_value());
  for (const WatchEvent& e : Drain(**all)) log.push_back({e.version, e.changes});
  std::size_t changes = 0;
  for (const Written& r : log) changes += r.changes.size();
  ASSERT_EQ(changes, static_cast<std::size_t>(kRounds * kKeys));
  for (int i = 0; i < kWatchers; i += 2) {
    SCOPED_TRACE(fmt::format("watcher {}", i));
    auto& o = watchers[i];
    const bool prefix = i % 3 == 0;
    const std::string key = prefix ? (i % 2 == 0 ? "" : "k1") : fmt::format("k{}", i % kKeys);
    EXPECT_EQ(Drain(*o), Expected(log, key, prefix));
  }
  for (int i = 1; i < kWatchers; i += 2) {
    if (!watchers[i]) continue;
    auto e = watchers[i]->Next(1ms);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code(), ErrorCode::kClosed);
  }
  // Stats lists the watchers still held, none of them behind.
  auto stats = client->Stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->watchers.size(), static_cast<std::size_t>(kWatchers - kWatchers / 4));
  for (const WatcherStats& s : stats->watchers) {
    if (!s.ended) {
      EXPECT_EQ(s.lag, 0) << "watcher " << s.id;
    }
  }
}

TEST(Watch, AStopTokenCancelsOneBlockedNextAndTheWatchGoesOn) {
  log::sim::Broker broker;
  auto client = OpenClient(broker);
  auto watcher = client->Watch(KeyWatch("a"));
  ASSERT_TRUE(watcher.has_value()) << watcher.error().ToString();
  // Requested before: fails at once.
  std::stop_source before;
  before.request_stop();
  auto refused = (*watcher)->Next(10s, before.get_token());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kCancelled);
  // Requested while Next blocks: wakes it well before its timeout.
  std::stop_source during;
  std::atomic<bool> returned{false};
  Result<WatchEvent> blocked = WatchEvent{};
  std::thread consumer([&] {
    blocked = (*watcher)->Next(std::chrono::minutes(5), during.get_token());
    returned = true;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(returned.load());
  const auto stopped_at = std::chrono::steady_clock::now();
  during.request_stop();
  consumer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 5s);
  ASSERT_FALSE(blocked.has_value());
  EXPECT_EQ(blocked.error().code(), ErrorCode::kCancelled);
  EXPECT_THAT(blocked.error().message(), HasSubstr("the watch goes on"));
  // The watch goes on: the next change arrives.
  auto v = client->Put("a", "1");
  ASSERT_TRUE(v.has_value());
  std::stop_source after;
  auto next = (*watcher)->Next(5s, after.get_token());
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_EQ(*next, Changes(*v, {{"a", "1"}}));
  after.request_stop();  // After it returned: no effect.
  EXPECT_EQ((*watcher)->Buffered(), 0u);
}

}  // namespace
}  // namespace kvlog::kv
