#include "kv/testing/client_conformance.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kv/testing/log_doubles.h"

namespace kvlog::kv::testing {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string BackendParamName(const ::testing::TestParamInfo<BackendParam>& info) { return info.param.name; }

void ClientConformance::RunCase(const std::function<void()>& body) {
  auto in_runtime = [&](Runtime& runtime) {
    runtime_ = &runtime;
    backend_ = GetParam().make(runtime);
    body();
    backend_.reset();  // On the runtime that made it.
  };
  if (GetParam().run) {
    GetParam().run(in_runtime);
  } else {
    in_runtime(Runtime::Real());
  }
  runtime_ = nullptr;
}

void ClientConformance::WriteConcurrently(Client& a, Client& b, int writes, int keys, int delete_every) {
  auto write = [&](Client& c, const std::string& tag) {
    for (int i = 0; i < writes; ++i) {
      auto key = fmt::format("k{}", i % keys);
      EXPECT_TRUE(c.Put(key, fmt::format("{}{}", tag, i)).has_value());
      if (i % delete_every == 0) {
        EXPECT_TRUE(c.Delete(key).has_value());
      }
    }
  };
  auto ta = Spawn("writer a", [&] { write(a, "a"); });
  auto tb = Spawn("writer b", [&] { write(b, "b"); });
  ta->Join();
  tb->Join();
  EXPECT_TRUE(a.Sync().has_value());
  EXPECT_TRUE(b.Sync().has_value());
}

void ClientConformance::AwaitWritesWaitedAtLimit(Client& client, uint64_t n) {
  for (int i = 0; i < 100'000; ++i) {
    auto stats = client.Stats();
    if (stats && stats->writes_waited_at_limit >= n) return;
    Pause();
  }
}

std::unique_ptr<Client> ClientConformance::OpenClient(ClientOptions options) {
  return OpenClient(backend_->Connect(), std::move(options));
}

std::unique_ptr<Client> ClientConformance::OpenControlledClient(LogControls& controls, ClientOptions options) {
  return OpenClient(ControlledLog(backend_->Connect(), controls, runtime()), std::move(options));
}

std::unique_ptr<Client> ClientConformance::OpenClientWithOneWriteSlot(LogControls& controls, bool wait_for_write_slot) {
  ClientOptions options;
  options.max_writes_in_flight = 1;
  options.wait_for_write_slot = wait_for_write_slot;
  auto client = OpenControlledClient(controls, std::move(options));
  controls.hold_acks = true;  // The first write keeps the one slot until the test releases acks.
  return client;
}

std::unique_ptr<Client> ClientConformance::OpenClient(std::unique_ptr<log::Log> log, ClientOptions options) {
  options.runtime = &runtime();
  auto client = Client::Open(std::move(log), NewMemoryStorage(), std::move(options));
  EXPECT_TRUE(client.has_value()) << client.error().ToString();
  if (!client) return nullptr;
  return std::move(*client);
}

namespace {

std::vector<std::string> Keys(const std::vector<KeyValue>& kvs) {
  std::vector<std::string> keys;
  for (const auto& kv : kvs) keys.push_back(kv.key);
  return keys;
}

// Collects asynchronous outcomes; Wait blocks (through the runtime) until
// `n` have arrived.
class Outcomes {
 public:
  explicit Outcomes(Runtime& runtime) : runtime_(runtime), mu_(runtime.NewMutex()), cv_(runtime.NewCondVar()) {}

  WriteCallback Callback(std::size_t index) {
    return [this, index](Result<log::Offset> r) {
      std::lock_guard lock(*mu_);
      results_[index].push_back(std::move(r));
      ++count_;
      cv_->NotifyAll();
    };
  }
  bool Wait(std::size_t n, Duration timeout = 30s) {
    std::unique_lock lock(*mu_);
    return cv_->WaitUntil(lock, runtime_.Now() + timeout, [&] { return count_ >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(*mu_);
    return count_;
  }
  // Every outcome of write `index` (exactly one is expected).
  std::vector<Result<log::Offset>> of(std::size_t index) {
    std::lock_guard lock(*mu_);
    return results_[index];
  }

 private:
  Runtime& runtime_;
  std::unique_ptr<Mutex> mu_;
  std::unique_ptr<CondVar> cv_;
  std::size_t count_ = 0;
  std::map<std::size_t, std::vector<Result<log::Offset>>> results_;
};

}  // namespace

TEST_P(ClientConformance, OpensOnAnEmptyLogAndFindsNothing) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    auto got = client->Get("missing");
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
    EXPECT_TRUE(client->Range(KeyConstraint{})->empty());
  });
}

TEST_P(ClientConformance, PutIsReadableAtOnceAndDeleteRemoves) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    auto offset = client->Put("k", "v1");
    ASSERT_TRUE(offset.has_value()) << offset.error().ToString();
    EXPECT_GT(client->AppliedPosition(), *offset);
    EXPECT_EQ(client->Get("k").value_or("<missing>"), "v1");

    std::string buffer = "a longer value left in the caller's buffer";
    ASSERT_TRUE(client->Get("k", &buffer).has_value());
    EXPECT_EQ(buffer, "v1");
    EXPECT_EQ(client->Get("missing", &buffer).error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(client->Get("", &buffer).error().code(), ErrorCode::kInvalidArgument);
    std::vector<std::optional<std::string>> values = {"stale", std::nullopt, "stale", "extra"};
    const std::vector<std::string_view> keys = {"missing", "k", "k"};
    ASSERT_TRUE(client->MultiGet(keys, &values).has_value());
    EXPECT_EQ(values, (std::vector<std::optional<std::string>>{std::nullopt, "v1", "v1"}));
    const std::vector<std::string_view> with_empty = {"k", ""};
    EXPECT_THAT(client->MultiGet(with_empty, &values).error().message(), HasSubstr("key 1 is empty"));

    auto second = client->Put("k", "v2");
    ASSERT_TRUE(second.has_value());
    EXPECT_GT(*second, *offset);
    EXPECT_EQ(client->Get("k").value_or("<missing>"), "v2");

    ASSERT_TRUE(client->Delete("k").has_value());
    EXPECT_EQ(client->Get("k").error().code(), ErrorCode::kNotFound);
  });
}

TEST_P(ClientConformance, KeysAndValuesAreArbitraryBytes) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    const std::string key("\0k\xff\n", 4);
    const std::string value("\0\x01\xfe", 3);
    ASSERT_TRUE(client->Put(key, value).has_value());
    EXPECT_EQ(client->Get(key).value_or(""), value);
    ASSERT_TRUE(client->Put("empty-value", "").has_value());
    EXPECT_EQ(client->Get("empty-value").value_or("<missing>"), "");
  });
}

TEST_P(ClientConformance, RangeIsInKeyOrderAndHonoursLimit) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    auto batch = client->Batch();
    for (std::string k : {"d", "b", "a", "e", "c"}) batch.Put(k, "v" + k);
    ASSERT_TRUE(batch.Execute().has_value());

    EXPECT_EQ(Keys(*client->Range(KeyConstraint{"b", "e"})), (std::vector<std::string>{"b", "c", "d"}));
    EXPECT_EQ(Keys(*client->Range(KeyConstraint{"b", std::nullopt})), (std::vector<std::string>{"b", "c", "d", "e"}));
    EXPECT_EQ(Keys(*client->Range(KeyConstraint{}, QueryOptions{2})), (std::vector<std::string>{"a", "b"}));
    auto all = *client->Range(KeyConstraint{});
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[2], (KeyValue{"c", "vc"}));
    auto backwards = client->Range(KeyConstraint{"e", "b"});
    ASSERT_FALSE(backwards.has_value());
    EXPECT_EQ(backwards.error().code(), ErrorCode::kInvalidArgument);
  });
}

TEST_P(ClientConformance, PrefixHandlesFFBytesAndTheEmptyPrefix) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    const std::vector<std::string> keys = {"a",  "ab",     "ab\xff",     "ab\xff\xff", "ac",
                                           "b",  "\xff", "\xff\xff", "\xff\x01"};
    auto batch = client->Batch();
    for (const auto& k : keys) batch.Put(k, "v");
    ASSERT_TRUE(batch.Execute().has_value());

    EXPECT_EQ(Keys(*client->Prefix("ab")), (std::vector<std::string>{"ab", "ab\xff", "ab\xff\xff"}));
    EXPECT_EQ(Keys(*client->Prefix("ab\xff")), (std::vector<std::string>{"ab\xff", "ab\xff\xff"}));
    EXPECT_EQ(Keys(*client->Prefix("\xff")), (std::vector<std::string>{"\xff", "\xff\x01", "\xff\xff"}));
    EXPECT_EQ(Keys(*client->Prefix("\xff\xff")), (std::vector<std::string>{"\xff\xff"}));
    EXPECT_EQ(client->Prefix("")->size(), keys.size());
    EXPECT_TRUE(client->Prefix("zz")->empty());
    EXPECT_EQ(Keys(*client->Prefix("a", QueryOptions{1})), (std::vector<std::string>{"a"}));
  });
}

TEST_P(ClientConformance, ALaterClientReplaysEverythingAndItsHooksSeeEveryRecordInOrder) {
  RunCase([&] {
    auto writer = OpenClient();
    ASSERT_NE(writer, nullptr);
    int records = 0;
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(writer->Put(fmt::format("key/{}", i % 20), fmt::format("value-{}", i)).has_value());
      ++records;
      if (i % 7 == 0) {
        ASSERT_TRUE(writer->Delete(fmt::format("key/{}", i % 20)).has_value());
        ++records;
      }
    }

    std::vector<std::pair<std::string, log::Offset>> seen;  // Only the applier writes, before Open returns.
    ClientOptions options;
    options.on_set = [&](std::string_view k, std::string_view v, log::Offset o) {
      seen.emplace_back("set " + std::string(k) + "=" + std::string(v), o);
    };
    options.on_delete = [&](std::string_view k, log::Offset o) { seen.emplace_back("del " + std::string(k), o); };
    auto reader = OpenClient(std::move(options));
    ASSERT_NE(reader, nullptr);

    // Open returned after replaying the log as it stood: no Sync needed.
    EXPECT_EQ(*reader->Range(KeyConstraint{}), *writer->Range(KeyConstraint{}));
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(records));
    for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1].second, seen[i].second);
    EXPECT_EQ(seen.front().first, "set key/0=value-0");
    EXPECT_EQ(seen[1].first, "del key/0");
  });
}

TEST_P(ClientConformance, ClientsWritingConcurrentlyConverge) {
  RunCase([&] {
    auto a = OpenClient();
    auto b = OpenClient();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    WriteConcurrently(*a, *b, 100, 10, 9);
    EXPECT_EQ(a->AppliedPosition(), b->AppliedPosition());
    EXPECT_EQ(*a->Range(KeyConstraint{}), *b->Range(KeyConstraint{}));
  });
}

TEST_P(ClientConformance, BatchAppendsOnceAndWaitsForItsHighestOffset) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    auto batch = client->Batch();
    for (int i = 0; i < 50; ++i) batch.Put(fmt::format("b{}", i), std::to_string(i));
    batch.Delete("b7");
    EXPECT_EQ(batch.size(), 51u);
    auto highest = batch.Execute();
    ASSERT_TRUE(highest.has_value()) << highest.error().ToString();
    EXPECT_EQ(controls.appends.load(), 1);
    EXPECT_EQ(controls.records_appended.load(), 51);
    EXPECT_GT(client->AppliedPosition(), *highest);
    EXPECT_EQ(client->Prefix("b")->size(), 49u);
    EXPECT_EQ(client->Get("b49").value_or(""), "49");
    EXPECT_EQ(client->Batch().Execute().value_or(0), log::kNoOffset);
  });
}

TEST_P(ClientConformance, LiveHooksFireOncePerAppliedRecord) {
  RunCase([&] {
    auto mu = runtime().NewMutex();
    std::map<log::Offset, std::string> seen;
    int duplicates = 0;
    ClientOptions options;
    options.on_set = [&](std::string_view k, std::string_view v, log::Offset o) {
      std::lock_guard lock(*mu);
      duplicates += !seen.emplace(o, std::string(k) + "=" + std::string(v)).second;
    };
    options.on_delete = [&](std::string_view k, log::Offset o) {
      std::lock_guard lock(*mu);
      duplicates += !seen.emplace(o, std::string(k) + " deleted").second;
    };
    auto client = OpenClient(std::move(options));
    ASSERT_NE(client, nullptr);
    auto put = client->Put("x", "1");
    auto del = client->Delete("x");
    ASSERT_TRUE(put && del);
    std::lock_guard lock(*mu);
    EXPECT_EQ(duplicates, 0);
    EXPECT_EQ(seen[*put], "x=1");
    EXPECT_EQ(seen[*del], "x deleted");
    EXPECT_EQ(seen.size(), 2u);
  });
}

TEST_P(ClientConformance, RecordsNameTheirWriterAndTheCallThatWroteThem) {
  RunCase([&] {
    ClientOptions options;
    options.client_id = "writer-7";
    auto writer = OpenClient(options);
    ASSERT_NE(writer, nullptr);
    ASSERT_TRUE(writer->Put("k", "v", CallOptions{.op_id = "op-1"}).has_value());
    ASSERT_TRUE(writer->Batch().Put("a", "1").Delete("b").Execute(CallOptions{.op_id = "op-2"}).has_value());
    ASSERT_TRUE(writer->Put("plain", "v").has_value());

    auto log = backend_->Connect();
    auto end = log->EndOffset(std::chrono::seconds(30));
    ASSERT_TRUE(end.has_value());
    auto reader = log->OpenReader(0);
    ASSERT_TRUE(reader.has_value());
    std::vector<log::Record> records;
    for (int polls = 0; (*reader)->Position() < *end && polls < 1000; ++polls) {
      auto entries = (*reader)->Poll(100, std::chrono::milliseconds(100));
      ASSERT_TRUE(entries.has_value());
      for (auto& e : *entries) records.push_back(*e.record);
    }
    ASSERT_EQ(records.size(), 4u);
    for (const auto& r : records) EXPECT_EQ(*r.FindHeader(kWriterHeader), "writer-7");
    EXPECT_EQ(*records[0].FindHeader(kOpHeader), "op-1");
    EXPECT_EQ(*records[1].FindHeader(kOpHeader), "op-2");
    EXPECT_EQ(*records[2].FindHeader(kOpHeader), "op-2");
    EXPECT_EQ(records[3].FindHeader(kOpHeader), nullptr);
    EXPECT_NE(*records[0].FindHeader(kSeqHeader), *records[3].FindHeader(kSeqHeader));
  });
}

TEST_P(ClientConformance, CloseIsIdempotentAndEveryLaterCallIsClosed) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->Put("k", "v").has_value());
    client->Close();
    client->Close();
    EXPECT_EQ(client->Put("k", "v").error().code(), ErrorCode::kClosed);
    EXPECT_EQ(client->Delete("k").error().code(), ErrorCode::kClosed);
    EXPECT_EQ(client->Get("k").error().code(), ErrorCode::kClosed);
    std::vector<std::optional<std::string>> values;
    const std::vector<std::string_view> keys = {"k"};
    EXPECT_EQ(client->MultiGet(keys, &values).error().code(), ErrorCode::kClosed);
    EXPECT_EQ(client->Range(KeyConstraint{}).error().code(), ErrorCode::kClosed);
    EXPECT_EQ(client->Batch().Put("a", "b").Execute().error().code(), ErrorCode::kClosed);
    EXPECT_EQ(client->Sync().error().code(), ErrorCode::kClosed);
  });
}

TEST_P(ClientConformance, CloseEndsABlockedPutWithClosed) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    controls.hold_acks = true;
    std::atomic<bool> returned{false};
    Result<log::Offset> result = log::kNoOffset;
    auto writer = Spawn("writer", [&] {
      result = client->Put("k", "v", CallOptions{std::chrono::minutes(5)});
      returned = true;
    });
    while (controls.appends.load() == 0) SleepFor(1ms);
    SleepFor(20ms);
    EXPECT_FALSE(returned.load());
    client->Close();
    writer->Join();
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), ErrorCode::kClosed);
  });
}

TEST_P(ClientConformance, AWriteWhoseAckIsLateTimesOutAndTheClientStaysUsable) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    controls.hold_acks = true;
    auto late = client->Put("late", "1", CallOptions{50ms});
    ASSERT_FALSE(late.has_value());
    EXPECT_EQ(late.error().code(), ErrorCode::kTimeout);
    EXPECT_THAT(late.error().message(), HasSubstr("50 ms"));

    controls.hold_acks = false;
    controls.ReleaseAcks();
    ASSERT_TRUE(client->Put("next", "2").has_value());
    // The timed-out write had committed: its outcome was unknown, not failed.
    EXPECT_EQ(client->Get("late").value_or("<missing>"), "1");
  });
}

TEST_P(ClientConformance, AWriteNotYetAppliedTimesOutAndTheClientRecovers) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    controls.stall_reader = true;
    auto stalled = client->Put("k", "1", CallOptions{50ms});
    ASSERT_FALSE(stalled.has_value());
    EXPECT_EQ(stalled.error().code(), ErrorCode::kTimeout);
    EXPECT_THAT(stalled.error().message(), HasSubstr("applied position"));
    controls.stall_reader = false;
    ASSERT_TRUE(client->Put("k", "2").has_value());
    EXPECT_EQ(client->Get("k").value_or(""), "2");
  });
}

// Issue 11: the log acknowledges a write at an offset that holds another
// client's record (as after an acks=1 failover): the write fails with
// kDataLoss and is counted, and the writer stays usable.
TEST_P(ClientConformance, AWriteAcknowledgedWhereAnotherRecordIsFailsWithDataLoss) {
  RunCase([&] {
    auto other = OpenClient();
    ASSERT_NE(other, nullptr);
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    auto theirs = other->Put("k", "theirs");
    ASSERT_TRUE(theirs.has_value());
    ASSERT_TRUE(client->WaitApplied(*theirs).has_value());

    controls.ack_offset_shift = -1;  // Our record lands after theirs; the ack names theirs.
    auto mine = client->Put("k", "mine", CallOptions{.op_id = "op-1"});
    ASSERT_FALSE(mine.has_value());
    EXPECT_EQ(mine.error().code(), ErrorCode::kDataLoss);
    EXPECT_THAT(mine.error().message(), HasSubstr(fmt::format("acknowledged by the log at offset {}", *theirs)));
    EXPECT_THAT(mine.error().message(), HasSubstr("not this write's"));
    EXPECT_EQ(client->lost_writes(), 1u);

    // A batch is checked record by record, and asynchronous writes too.
    auto batch = client->Batch().Put("a", "1").Put("b", "2").Execute();
    ASSERT_FALSE(batch.has_value());
    EXPECT_EQ(batch.error().code(), ErrorCode::kDataLoss);
    Outcomes async(runtime());
    client->PutAsync("c", "3", async.Callback(0));
    ASSERT_TRUE(async.Wait(1));
    auto async_result = async.of(0)[0];
    ASSERT_FALSE(async_result.has_value());
    EXPECT_EQ(async_result.error().code(), ErrorCode::kDataLoss);
    EXPECT_EQ(client->lost_writes(), 3u);

    // Acknowledged past its record (the position passes the named offset with
    // no record of this write there).
    controls.ack_offset_shift = 1;
    ASSERT_TRUE(client->Sync().has_value());
    const log::Offset ours = client->AppliedPosition();  // Where our record will land: no one else writes now.
    Outcomes past(runtime());
    client->PutAsync("d", "4", past.Callback(0));
    // Our record is applied... (Sync would not do: it may read the end offset
    // before the asynchronous put is appended, and then "later" can land first.)
    ASSERT_TRUE(client->WaitApplied(ours).has_value());
    ASSERT_TRUE(other->Put("later", "x").has_value());  // ...and then the named offset is passed.
    ASSERT_TRUE(past.Wait(1));
    auto past_result = past.of(0)[0];
    ASSERT_FALSE(past_result.has_value());
    EXPECT_EQ(past_result.error().code(), ErrorCode::kDataLoss);
    EXPECT_THAT(past_result.error().message(), HasSubstr("not this write's"));
    EXPECT_EQ(client->lost_writes(), 4u);

    controls.ack_offset_shift = 0;
    auto fine = client->Put("k", "again");
    ASSERT_TRUE(fine.has_value()) << fine.error().ToString();
    EXPECT_EQ(client->Get("k").value_or(""), "again");
    EXPECT_EQ(client->lost_writes(), 4u);
    EXPECT_EQ(other->lost_writes(), 0u);
  });
}

// Issue 11: a read reports the position it was served at, taken with the
// read. One writer puts increasing values to one key; readers on another
// client check that every value they read is the one the log held just below
// the reported position. A position taken before the read (as sim/workload
// did) lags the value whenever the applier moves in between.
TEST_P(ClientConformance, AReadReportsThePositionItWasServedAt) {
  RunCase([&] {
    auto writer = OpenClient();
    auto reader = OpenClient();
    ASSERT_NE(writer, nullptr);
    ASSERT_NE(reader, nullptr);
    constexpr int kWrites = 2000;
    auto mu = runtime().NewMutex();
    std::map<log::Offset, std::string> written;  // Guarded by mu.
    std::atomic<bool> done{false};
    struct Seen {
      log::Offset position;
      std::optional<std::string> value;
      bool range;
    };
    std::vector<std::vector<Seen>> seen(2);
    std::vector<std::unique_ptr<Task>> readers;
    for (int t = 0; t < 2; ++t) {
      readers.push_back(Spawn(fmt::format("reader {}", t), [&, t] {
        std::string value;
        while (!done.load()) {
          ReadInfo info;
          if (t == 0) {
            Status s = reader->Get("k", &value, &info);
            ASSERT_TRUE(s || s.error().code() == ErrorCode::kNotFound);
            seen[t].push_back({info.position, s ? std::optional(value) : std::nullopt, false});
          } else {
            auto all = reader->Range(KeyConstraint{}, {}, &info);
            ASSERT_TRUE(all.has_value());
            std::optional<std::string> v;
            if (!all->empty()) v = all->front().value;
            seen[t].push_back({info.position, v, true});
          }
          Pause();
        }
      }));
    }
    std::atomic<int> pending{0};
    for (int i = 0; i < kWrites; ++i) {
      ++pending;
      std::string v = std::to_string(i);
      writer->PutAsync("k", v, [&, v](Result<log::Offset> r) {
        ASSERT_TRUE(r.has_value()) << r.error().ToString();
        {
          std::lock_guard lock(*mu);
          written[*r] = v;
        }
        --pending;
      });
      if (i % 64 == 63) {
        ASSERT_TRUE(writer->Sync().has_value());
      }
    }
    ASSERT_TRUE(writer->Sync().has_value());
    // A write's callback runs once its acknowledgement is in too, which on Kafka
    // can come after its record was read.
    for (int i = 0; i < 30'000 && pending.load() > 0; ++i) SleepFor(1ms);
    ASSERT_TRUE(reader->Sync().has_value());
    done = true;
    for (auto& task : readers) task->Join();
    ASSERT_EQ(pending.load(), 0);
    ASSERT_EQ(written.size(), static_cast<std::size_t>(kWrites));
    std::size_t checked = 0, moved = 0;
    log::Offset last = -1;
    for (const auto& reads : seen) {
      for (const Seen& s : reads) {
        // The value of the last write below the position, if any.
        auto it = written.lower_bound(s.position);
        std::optional<std::string> expected;
        if (it != written.begin()) expected = std::prev(it)->second;
        EXPECT_EQ(s.value, expected) << (s.range ? "range" : "get") << " served at position " << s.position;
        ++checked;
        if (s.position != last) ++moved;
        last = s.position;
      }
    }
    EXPECT_GT(checked, 100u);
    // The reads raced the applier, not an idle store (how often depends on the
    // machine and the sanitizer, so only that they did).
    EXPECT_GT(moved, 1u);
  });
}

// A blocked writer whose deadline passes races the applier, which expires the
// same write on its own wake-up; whichever comes second must see it finished.
TEST_P(ClientConformance, WritersAndTheApplierExpiringTheSameWritesFinishEachOnce) {
  RunCase([&] {
    LogControls controls;
    ClientOptions options;
    options.poll_timeout = 1ms;
    auto client = OpenControlledClient(controls, options);
    ASSERT_NE(client, nullptr);
    controls.stall_reader = true;
    constexpr int kThreads = 8;
    constexpr int kPutsPerThread = 40;
    std::atomic<int> timeouts{0}, others{0};
    std::vector<std::unique_ptr<Task>> tasks;
    for (int t = 0; t < kThreads; ++t) {
      tasks.push_back(Spawn(fmt::format("writer {}", t), [&, t] {
        for (int i = 0; i < kPutsPerThread; ++i) {
          auto r = client->Put(fmt::format("t{}", t), std::to_string(i), CallOptions{1ms});
          if (!r.has_value() && r.error().code() == ErrorCode::kTimeout) {
            ++timeouts;
          } else {
            ++others;
          }
        }
      }));
    }
    for (auto& task : tasks) task->Join();
    EXPECT_EQ(timeouts.load(), kThreads * kPutsPerThread);
    EXPECT_EQ(others.load(), 0);
    controls.stall_reader = false;
    ASSERT_TRUE(client->Put("after", "1").has_value());
    EXPECT_EQ(client->Get("after").value_or(""), "1");
  });
}

TEST_P(ClientConformance, BadInputIsRefusedWithTheLimitAndAppendsNothing) {
  RunCase([&] {
    LogControls controls;
    ClientOptions options;
    options.limits.max_key_bytes = 8;
    options.limits.max_value_bytes = 16;
    options.limits.max_batch_records = 3;
    auto client = OpenControlledClient(controls, options);
    ASSERT_NE(client, nullptr);

    auto expect_invalid = [](const auto& result, std::string_view fragment) {
      ASSERT_FALSE(result.has_value());
      EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
      EXPECT_THAT(result.error().message(), HasSubstr(std::string(fragment)));
    };
    expect_invalid(client->Put("", "v"), "key is empty");
    expect_invalid(client->Delete(""), "key is empty");
    expect_invalid(client->Get(""), "key is empty");
    expect_invalid(client->Put("123456789", "v"), "limit (max_key_bytes) is 8");
    expect_invalid(client->Put("k", std::string(17, 'x')), "limit (max_value_bytes) is 16");
    expect_invalid(client->Batch().Put("a", "1").Put("", "2").Execute(), "batch record 1: key is empty");
    expect_invalid(client->Batch().Put("a", "1").Put("b", std::string(17, 'x')).Execute(), "max_value_bytes");
    expect_invalid(client->Batch().Put("a", "1").Put("b", "2").Put("c", "3").Delete("d").Execute(),
                   "limit (max_batch_records) is 3");
    EXPECT_EQ(controls.appends.load(), 0);
    EXPECT_TRUE(client->Range(KeyConstraint{})->empty());
    // At the limits exactly, writes go through.
    ASSERT_TRUE(client->Put("12345678", std::string(16, 'x')).has_value());
  });
}

TEST_P(ClientConformance, ACorruptRecordIsSkippedAndItsWriterIsTold) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    auto first = client->Put("a", "1");
    ASSERT_TRUE(first.has_value());
    {
      std::lock_guard lock(controls.mu);
      controls.corrupt_offsets.insert(*first + 1);
    }
    auto corrupt = client->Put("b", "2");
    ASSERT_FALSE(corrupt.has_value());
    EXPECT_EQ(corrupt.error().code(), ErrorCode::kCorrupt);
    EXPECT_THAT(corrupt.error().message(), HasSubstr(fmt::format("offset {}", *first + 1)));
    EXPECT_EQ(client->corrupt_records(), 1u);
    EXPECT_EQ(client->Get("b").error().code(), ErrorCode::kNotFound);
    ASSERT_TRUE(client->Put("c", "3").has_value());
    EXPECT_EQ(client->Get("c").value_or(""), "3");
  });
}

TEST_P(ClientConformance, ManyAsyncWritesInFlightEachFinishOnceAppliedInOrder) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    constexpr std::size_t kWrites = 500;
    Outcomes outcomes(runtime());
    for (std::size_t i = 0; i < kWrites; ++i) {
      if (i % 100 == 99) {
        client->DeleteAsync(fmt::format("k{}", i - 1), outcomes.Callback(i));
      } else {
        client->PutAsync(fmt::format("k{}", i), std::to_string(i), outcomes.Callback(i));
      }
    }
    ASSERT_TRUE(outcomes.Wait(kWrites)) << outcomes.count() << " of " << kWrites << " finished";
    std::set<log::Offset> offsets;
    for (std::size_t i = 0; i < kWrites; ++i) {
      auto results = outcomes.of(i);
      ASSERT_EQ(results.size(), 1u) << "write " << i;
      ASSERT_TRUE(results[0].has_value()) << results[0].error().ToString();
      // Finished means applied here: the record is below the applied position.
      EXPECT_LT(*results[0], client->AppliedPosition());
      offsets.insert(*results[0]);
    }
    EXPECT_EQ(offsets.size(), kWrites) << "two writes reported the same offset";
    // One thread issued them in order, so the log holds them in order.
    for (std::size_t i = 1; i < kWrites; ++i) EXPECT_LT(*outcomes.of(i - 1)[0], *outcomes.of(i)[0]);
    EXPECT_EQ(client->Get("k0").value_or(""), "0");
    EXPECT_EQ(client->Get("k98").error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(client->Get("k497").value_or(""), "497");

    Outcomes batch(runtime());
    client->Batch().Put("b1", "1").Put("b2", "2").ExecuteAsync(batch.Callback(0));
    client->Batch().ExecuteAsync(batch.Callback(1));
    ASSERT_TRUE(batch.Wait(2));
    ASSERT_TRUE(batch.of(0)[0].has_value());
    EXPECT_EQ(client->Get("b2").value_or(""), "2");
    EXPECT_EQ(batch.of(1)[0].value_or(0), log::kNoOffset);
  });
}

TEST_P(ClientConformance, AsyncWritesRefuseBadInputAndAClosedClientAtOnce) {
  RunCase([&] {
    LogControls controls;
    ClientOptions options;
    options.limits.max_value_bytes = 4;
    auto client = OpenControlledClient(controls, options);
    ASSERT_NE(client, nullptr);
    Outcomes outcomes(runtime());
    client->PutAsync("", "v", outcomes.Callback(0));
    client->PutAsync("k", "12345", outcomes.Callback(1));
    client->DeleteAsync("", outcomes.Callback(2));
    // Refusals are reported before the call returns.
    ASSERT_EQ(outcomes.count(), 3u);
    EXPECT_THAT(outcomes.of(0)[0].error().message(), HasSubstr("key is empty"));
    EXPECT_THAT(outcomes.of(1)[0].error().message(), HasSubstr("limit (max_value_bytes) is 4"));
    EXPECT_EQ(outcomes.of(2)[0].error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(controls.appends.load(), 0);
    client->Close();
    client->PutAsync("k", "v", outcomes.Callback(3));
    client->Batch().Put("k", "v").ExecuteAsync(outcomes.Callback(4));
    ASSERT_EQ(outcomes.count(), 5u);
    EXPECT_EQ(outcomes.of(3)[0].error().code(), ErrorCode::kClosed);
    EXPECT_EQ(outcomes.of(4)[0].error().code(), ErrorCode::kClosed);
  });
}

TEST_P(ClientConformance, AsyncWritesTimeOutOrCloseOnceAndLeaveTheClientUsable) {
  RunCase([&] {
    LogControls controls;
    ClientOptions options;
    options.poll_timeout = 10ms;
    auto client = OpenControlledClient(controls, options);
    ASSERT_NE(client, nullptr);
    controls.hold_acks = true;
    Outcomes outcomes(runtime());
    client->PutAsync("late", "1", outcomes.Callback(0), CallOptions{50ms});
    client->PutAsync("held", "2", outcomes.Callback(1), CallOptions{std::chrono::minutes(5)});
    // The applier notices the passed deadline on its own, with no later call.
    ASSERT_TRUE(outcomes.Wait(1, 10s));
    ASSERT_EQ(outcomes.of(0).size(), 1u);
    EXPECT_EQ(outcomes.of(0)[0].error().code(), ErrorCode::kTimeout);
    EXPECT_THAT(outcomes.of(0)[0].error().message(),
                HasSubstr("not acknowledged by the log within the timeout of 50 ms"));
    EXPECT_TRUE(outcomes.of(1).empty());

    client->Close();
    ASSERT_EQ(outcomes.count(), 2u);
    EXPECT_EQ(outcomes.of(1)[0].error().code(), ErrorCode::kClosed);
    // A late acknowledgement after the timeout and the close reports nothing more.
    controls.ReleaseAcks();
    EXPECT_EQ(outcomes.count(), 2u);
    EXPECT_EQ(outcomes.of(0).size(), 1u);
  });
}

// Issue 16: ClientOptions::max_writes_in_flight. At the limit an async write
// fails at once with kResourceExhausted naming it, appending nothing; once
// the writes in flight finish, the next one goes through.
TEST_P(ClientConformance, AnAsyncWriteAtTheInFlightLimitIsRefusedUntilOthersFinish) {
  RunCase([&] {
    LogControls controls;
    ClientOptions options;
    options.max_writes_in_flight = 2;
    auto client = OpenControlledClient(controls, options);
    ASSERT_NE(client, nullptr);
    controls.hold_acks = true;
    Outcomes outcomes(runtime());
    client->PutAsync("a", "1", outcomes.Callback(0));
    client->Batch().Put("b", "2").Put("c", "3").ExecuteAsync(outcomes.Callback(1));  // One write.
    EXPECT_EQ(outcomes.count(), 0u);
    client->PutAsync("d", "4", outcomes.Callback(2));
    client->DeleteAsync("a", outcomes.Callback(3));
    ASSERT_EQ(outcomes.count(), 2u);  // Refused before the calls returned.
    for (std::size_t i : {2u, 3u}) {
      ASSERT_EQ(outcomes.of(i).size(), 1u);
      ASSERT_FALSE(outcomes.of(i)[0].has_value());
      EXPECT_EQ(outcomes.of(i)[0].error().code(), ErrorCode::kResourceExhausted);
      EXPECT_THAT(outcomes.of(i)[0].error().message(), HasSubstr("max_writes_in_flight = 2"));
    }
    EXPECT_EQ(controls.appends.load(), 2);
    auto stats = client->Stats();
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->writes_in_flight, 2u);
    EXPECT_EQ(stats->max_writes_in_flight, 2u);
    EXPECT_EQ(stats->writes_refused_at_limit, 2u);
    // Stats count the writes handed to the log: "a" and the batch's two puts,
    // not the refused put and delete.
    EXPECT_EQ(stats->puts, 3u);
    EXPECT_EQ(stats->deletes, 0u);

    controls.hold_acks = false;
    controls.ReleaseAcks();
    ASSERT_TRUE(outcomes.Wait(4, 10s));
    EXPECT_TRUE(outcomes.of(0)[0].has_value());
    EXPECT_TRUE(outcomes.of(1)[0].has_value());
    client->PutAsync("d", "4", outcomes.Callback(4));
    ASSERT_TRUE(outcomes.Wait(5, 10s));
    ASSERT_TRUE(outcomes.of(4)[0].has_value()) << outcomes.of(4)[0].error().ToString();
    EXPECT_EQ(client->Get("d").value_or("<missing>"), "4");
    EXPECT_EQ(client->Get("a").value_or("<missing>"), "1");  // The refused delete did nothing.
    stats = client->Stats();
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->writes_in_flight, 0u);
    EXPECT_EQ(stats->puts, 4u);
    EXPECT_EQ(stats->deletes, 0u);
  });
}

// A blocking write at the limit (and an async one with wait_for_write_slot)
// waits for a slot: it appends nothing while every slot is taken, goes
// through once one frees, and fails with kTimeout naming the limit when none
// frees within its timeout.
TEST_P(ClientConformance, AWriteAtTheInFlightLimitWaitsForASlotWithinItsTimeout) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async ? "PutAsync with wait_for_write_slot" : "Put");
    RunCase([&] {
      LogControls controls;
      auto client = OpenClientWithOneWriteSlot(controls, /*wait_for_write_slot=*/async);
      ASSERT_NE(client, nullptr);
      Outcomes outcomes(runtime());
      client->PutAsync("a", "1", outcomes.Callback(0));
      auto put = [&](std::string key, Duration timeout, std::size_t index) {
        if (async) {
          client->PutAsync(key, "2", outcomes.Callback(index), CallOptions{timeout});
        } else {
          outcomes.Callback(index)(client->Put(key, "2", CallOptions{timeout}));
        }
      };
      // No slot frees: the wait ends with the call's timeout.
      put("late", 50ms, 1);
      ASSERT_EQ(outcomes.count(), 1u);
      ASSERT_FALSE(outcomes.of(1)[0].has_value());
      EXPECT_EQ(outcomes.of(1)[0].error().code(), ErrorCode::kTimeout);
      EXPECT_THAT(outcomes.of(1)[0].error().message(), HasSubstr("50 ms"));
      EXPECT_THAT(outcomes.of(1)[0].error().message(), HasSubstr("max_writes_in_flight"));
      EXPECT_EQ(controls.appends.load(), 1);

      // A waiter, then the slot frees.
      auto waiter = Spawn("waiter", [&] { put("b", 30s, 2); });
      AwaitWritesWaitedAtLimit(*client, 2);
      auto stats = client->Stats();
      ASSERT_TRUE(stats.has_value());
      EXPECT_EQ(stats->writes_waited_at_limit, 2u);
      EXPECT_EQ(stats->writes_in_flight, 1u);
      EXPECT_EQ(controls.appends.load(), 1);  // The waiter has appended nothing yet.
      EXPECT_EQ(outcomes.count(), 1u);
      controls.hold_acks = false;
      controls.ReleaseAcks();
      waiter->Join();
      ASSERT_TRUE(outcomes.Wait(3, 10s));
      ASSERT_TRUE(outcomes.of(0)[0].has_value());
      ASSERT_TRUE(outcomes.of(2)[0].has_value()) << outcomes.of(2)[0].error().ToString();
      EXPECT_EQ(client->Get("b").value_or("<missing>"), "2");
      EXPECT_EQ(client->Get("late").value_or("<missing>"), "<missing>");
      EXPECT_EQ(controls.appends.load(), 2);
    });
  }
}

// A stop requested on CallOptions::stop wakes a write waiting for a slot at
// once with kCancelled (not at its timeout), appending nothing; the slot
// queue goes on for the others.
TEST_P(ClientConformance, AStopEndsAWriteWaitingForASlotWithCancelled) {
  for (bool async : {false, true}) {
    SCOPED_TRACE(async ? "PutAsync with wait_for_write_slot" : "Put");
    RunCase([&] {
      LogControls controls;
      auto client = OpenClientWithOneWriteSlot(controls, /*wait_for_write_slot=*/async);
      ASSERT_NE(client, nullptr);
      Outcomes outcomes(runtime());
      client->PutAsync("a", "1", outcomes.Callback(0), CallOptions{10min});  // Holds the slot throughout.
      std::stop_source stop;
      CallOptions call;
      call.timeout = 5min;
      call.stop = stop.get_token();
      auto waiter = Spawn("waiter", [&] {
        if (async) {
          client->PutAsync("b", "2", outcomes.Callback(1), call);
        } else {
          outcomes.Callback(1)(client->Put("b", "2", call));
        }
      });
      AwaitWritesWaitedAtLimit(*client, 1);
      ASSERT_EQ(client->Stats()->writes_waited_at_limit, 1u);
      const TimePoint stopped_at = runtime().Now();
      stop.request_stop();
      waiter->Join();
      EXPECT_LT(runtime().Now() - stopped_at, Duration(1min));  // Not the 5 min timeout.
      ASSERT_EQ(outcomes.count(), 1u);  // "a" is still held.
      ASSERT_FALSE(outcomes.of(1)[0].has_value());
      EXPECT_EQ(outcomes.of(1)[0].error().code(), ErrorCode::kCancelled);
      EXPECT_THAT(outcomes.of(1)[0].error().message(), HasSubstr("max_writes_in_flight"));
      EXPECT_THAT(outcomes.of(1)[0].error().message(), HasSubstr("nothing was appended"));
      EXPECT_EQ(controls.appends.load(), 1);
      EXPECT_EQ(client->Stats()->puts, 1u);
      // The next write still gets the slot once it frees.
      controls.hold_acks = false;
      controls.ReleaseAcks();
      auto c = client->Put("c", "3", CallOptions{10s});
      ASSERT_TRUE(c.has_value()) << c.error().ToString();
      EXPECT_EQ(client->Get("b").value_or("<missing>"), "<missing>");
      EXPECT_EQ(controls.appends.load(), 2);
    });
  }
}

// Writes waiting for a slot take the freed slots in the order they began to
// wait: their records land in the log in that order.
TEST_P(ClientConformance, WritesWaitingForASlotTakeThemInArrivalOrder) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenClientWithOneWriteSlot(controls);
    ASSERT_NE(client, nullptr);
    Outcomes outcomes(runtime());
    client->PutAsync("a", "1", outcomes.Callback(0));
    constexpr std::size_t kWaiters = 5;
    std::vector<std::unique_ptr<Task>> waiters;
    for (std::size_t i = 1; i <= kWaiters; ++i) {
      waiters.push_back(Spawn(fmt::format("waiter {}", i), [&, i] {
        outcomes.Callback(i)(client->Put(fmt::format("w{}", i), "v", CallOptions{5min}));
      }));
      // The next waiter starts only once this one waits.
      AwaitWritesWaitedAtLimit(*client, i);
      ASSERT_EQ(client->Stats()->writes_waited_at_limit, i);
    }
    controls.hold_acks = false;
    controls.ReleaseAcks();
    for (auto& waiter : waiters) waiter->Join();
    ASSERT_TRUE(outcomes.Wait(kWaiters + 1, 10s));
    log::Offset previous = log::kNoOffset;
    for (std::size_t i = 0; i <= kWaiters; ++i) {
      ASSERT_TRUE(outcomes.of(i)[0].has_value()) << i << ": " << outcomes.of(i)[0].error().ToString();
      EXPECT_GT(*outcomes.of(i)[0], previous) << "write " << i << " landed before an earlier waiter's";
      previous = *outcomes.of(i)[0];
    }
    EXPECT_EQ(controls.appends.load(), static_cast<int>(kWaiters) + 1);
  });
}

// Close wakes a write waiting for a slot with kClosed.
TEST_P(ClientConformance, CloseEndsAWriteWaitingForASlotWithClosed) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenClientWithOneWriteSlot(controls);
    ASSERT_NE(client, nullptr);
    Outcomes outcomes(runtime());
    client->PutAsync("a", "1", outcomes.Callback(0));
    auto waiter = Spawn("waiter", [&] { outcomes.Callback(1)(client->Put("b", "2", CallOptions{5min})); });
    AwaitWritesWaitedAtLimit(*client, 1);
    client->Close();
    waiter->Join();
    ASSERT_EQ(outcomes.count(), 2u);
    ASSERT_FALSE(outcomes.of(1)[0].has_value());
    EXPECT_EQ(outcomes.of(1)[0].error().code(), ErrorCode::kClosed);
    EXPECT_EQ(controls.appends.load(), 1);
    controls.ReleaseAcks();
  });
}

// The seed's stress shape: many threads, each Put then immediately Get its key.
TEST_P(ClientConformance, ManyThreadsAlwaysReadTheirOwnWrites) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    constexpr int kThreads = 8;
    const int per_thread = GetParam().stress_ops_per_thread;
    std::atomic<int> violations{0}, errors{0};
    std::vector<std::unique_ptr<Task>> tasks;
    for (int t = 0; t < kThreads; ++t) {
      tasks.push_back(Spawn(fmt::format("writer {}", t), [&, t] {
        for (int i = 0; i < per_thread; ++i) {
          std::string key = fmt::format("t{}/{}", t, i % 64);
          std::string value = fmt::format("{}:{}", t, i);
          if (!client->Put(key, value).has_value()) {
            ++errors;
            continue;
          }
          if (client->Get(key).value_or("") != value) ++violations;
        }
      }));
    }
    for (auto& task : tasks) task->Join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(violations.load(), 0);
    EXPECT_EQ(client->Range(KeyConstraint{})->size(), static_cast<std::size_t>(kThreads * std::min(per_thread, 64)));
  });
}

}  // namespace kvlog::kv::testing
