#include "sim/watch_workload.h"

#include <optional>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/command.h"
#include "kv/memory_storage.h"
#include "log/sim/broker.h"

namespace kvlog::sim {
namespace {

using namespace std::chrono_literals;

uint64_t Uniform(base::Rng& rng, uint64_t n) { return rng.Below(n); }

Duration UniformDuration(base::Rng& rng, Duration max) {
  return Duration(static_cast<Duration::rep>(Uniform(rng, static_cast<uint64_t>(std::max<Duration::rep>(0, max.count())) + 1)));
}

class WatchWorkload {
 public:
  WatchWorkload(Runtime& rt, const WorkloadLog& log, const WatchWorkloadOptions& options, WatchRun& run)
      : rt_(rt), log_(log), options_(options), run_(run), mu_(rt.NewMutex()) {}

  void Run() {
    std::vector<std::unique_ptr<kv::Client>> writers, watchers;
    for (int i = 0; i < options_.writers; ++i) {
      auto c = Open(fmt::format("w{}", i), i);
      if (!c) return;
      writers.push_back(std::move(c));
    }
    for (int i = 0; i < options_.watchers; ++i) {
      auto c = Open(fmt::format("c{}", i), options_.writers + i);
      if (!c) return;
      watchers.push_back(std::move(c));
    }
    std::vector<std::unique_ptr<Task>> tasks;
    for (int i = 0; i < options_.writers; ++i) {
      tasks.push_back(rt_.Spawn(fmt::format("writer {}", i), [this, i, c = writers[i].get()] { Write(i, *c); }));
    }
    std::vector<std::unique_ptr<Task>> consumers;
    for (int i = 0; i < options_.watchers; ++i) {
      consumers.push_back(
          rt_.Spawn(fmt::format("watcher {}", i), [this, i, c = watchers[i].get()] { Watch(i, *c); }));
    }
    for (auto& t : tasks) t->Join();
    // Every watcher stops once a progress event says it has everything the
    // log holds now.
    auto end = log_.end_offset();
    {
      std::unique_lock lock(*mu_);
      if (end) {
        stop_at_ = *end;
      } else {
        run_.errors.push_back("the log's end offset after the writers: " + end.error().ToString());
        stop_at_ = 0;  // The watchers stop at their next progress event.
      }
    }
    for (auto& t : consumers) t->Join();
    for (auto& c : watchers) c->Close();
    for (auto& c : writers) c->Close();
  }

 private:
  std::unique_ptr<kv::Client> Open(const std::string& name, int slot) {
    kv::ClientOptions options;
    options.runtime = &rt_;
    options.client_id = name;
    options.logger = nullptr;
    auto c = kv::Client::Open(log_.connect(slot), kv::NewMemoryStorage(), options);
    if (!c) {
      std::unique_lock lock(*mu_);
      run_.errors.push_back("opening client " + name + ": " + c.error().ToString());
      return nullptr;
    }
    return std::move(*c);
  }

  std::string Key(base::Rng& rng) {
    return fmt::format("k{}", Uniform(rng, static_cast<uint64_t>(options_.keys)));
  }

  void Write(int index, kv::Client& c) {
    base::Rng rng = base::Rng(options_.seed).Fork("watch/writer", static_cast<uint64_t>(index));
    const kv::CallOptions call{2s, {}};
    for (int op = 0; op < options_.ops_per_writer; ++op) {
      rt_.SleepFor(UniformDuration(rng, options_.max_think));
      const std::string value = fmt::format("w{}-{}", index, op);
      const uint64_t kind = Uniform(rng, 100);
      // Outcomes are not judged here: the log decides what happened, and
      // the watch check compares every watcher with the log.
      if (kind < 40) {
        (void)c.Put(Key(rng), value, call);
      } else if (kind < 55) {
        (void)c.Delete(Key(rng), call);
      } else if (kind < 75) {
        kv::WriteBatch batch = c.Batch();
        const int n = 2 + static_cast<int>(Uniform(rng, 2));
        for (int i = 0; i < n; ++i) {
          if (Uniform(rng, 4) == 0) {
            batch.Delete(Key(rng));
          } else {
            batch.Put(Key(rng), fmt::format("{}.{}", value, i));
          }
        }
        (void)batch.Atomic().Execute(call);
      } else {
        const std::string a = Key(rng), b = Key(rng), d = Key(rng);
        auto txn = c.Transaction();
        txn.If(Uniform(rng, 2) ? kv::Condition::Absent(a) : kv::Condition::Present(a))
            .Put(b, value + ".then")
            .Put(d, value + ".then2")
            .ElsePut(a, value + ".else");
        (void)txn.Commit(call);
      }
    }
  }

  void Watch(int index, kv::Client& c) {
    base::Rng rng = base::Rng(options_.seed).Fork("watch/watcher", static_cast<uint64_t>(index));
    kv::WatchOptions w;
    switch (index % 3) {
      case 0:
        w.key = "k";
        w.prefix = true;
        break;
      case 1:
        w.key = fmt::format("k{}", index % std::max(1, options_.keys));
        break;
      default:
        w.key = "k1";
        w.prefix = true;
        break;
    }
    w.buffer_events = options_.buffer_events;
    w.progress_interval = options_.progress_interval;
    checker::WatchSession session;
    session.replica = c.id();
    session.key = w.key;
    session.prefix = w.prefix;
    switch (Uniform(rng, 3)) {
      case 0:
        w.start = kv::WatchStart::FromStart();
        session.from_start = true;
        break;
      case 1: {
        const kv::Version after = c.AppliedPosition() - 1;
        w.start = kv::WatchStart::After(after);
        session.after = after;
        break;
      }
      default:
        w.start = kv::WatchStart::Now();
        break;
    }
    int n = 0;
    while (true) {
      session.id = fmt::format("{}-{}", c.id(), n++);
      auto watcher = c.Watch(w);
      if (!watcher) {
        session.received.push_back({checker::WatchReceived::Kind::kError, 0, {}, watcher.error().ToString(), 0});
        std::unique_lock lock(*mu_);
        run_.history.sessions.push_back(std::move(session));
        run_.errors.push_back("watch on " + c.id() + ": " + watcher.error().ToString());
        return;
      }
      std::optional<kv::Version> resume;
      bool done = false;
      bool received_change = false;
      while (!done) {
        auto e = (*watcher)->Next(options_.progress_interval * 5);
        if (!e) {
          if (e.error().code() == ErrorCode::kTimeout) continue;
          session.received.push_back({checker::WatchReceived::Kind::kError, 0, {}, e.error().ToString(), 0});
          std::unique_lock lock(*mu_);
          run_.errors.push_back("watch on " + c.id() + ": " + e.error().ToString());
          run_.history.sessions.push_back(std::move(session));
          return;
        }
        switch (e->type) {
          case kv::WatchEvent::Type::kChanges: {
            if (options_.variant == "watch-drop" && (*watcher)->Buffered() > 0) {
              Count(run_.dropped);  // The broken consumer: under load, it loses this event.
              // A watch from "now" has no start the history can name: losing
              // its first event looks like a later start.
              if (!session.from_start && !session.after && !received_change) Count(run_.dropped_unseen);
              break;
            }
            checker::WatchReceived r{checker::WatchReceived::Kind::kChanges, e->version, {}, {}, 0};
            for (auto& ch : e->changes) r.changes.push_back({std::move(ch.key), std::move(ch.value)});
            session.received.push_back(std::move(r));
            received_change = true;
            Count(run_.change_events);
            rt_.SleepFor(UniformDuration(rng, options_.consumer_think));
            break;
          }
          case kv::WatchEvent::Type::kProgress:
            session.received.push_back({checker::WatchReceived::Kind::kProgress, e->version, {}, {}, 0});
            Count(run_.progress);
            if (auto stop = StopAt(); stop && e->version >= *stop) {
              session.received.push_back({checker::WatchReceived::Kind::kEnd, 0, {}, {}, 0});
              done = true;
            }
            break;
          case kv::WatchEvent::Type::kFellBehind:
            session.received.push_back({checker::WatchReceived::Kind::kFellBehind, e->version, {}, {}, 0});
            Count(run_.fell_behind);
            resume = e->version;
            done = true;
            break;
        }
      }
      const std::string previous = session.id;
      {
        std::unique_lock lock(*mu_);
        run_.history.sessions.push_back(std::move(session));
      }
      if (!resume) return;
      Count(run_.resumed);
      session = checker::WatchSession{};
      session.replica = c.id();
      session.key = w.key;
      session.prefix = w.prefix;
      session.after = *resume;
      session.resumes = previous;
      w.start = kv::WatchStart::After(*resume);
    }
  }

  // Live, watchers run on threads of their own: the run's record is shared.
  void Count(int64_t& counter) {
    std::unique_lock lock(*mu_);
    ++counter;
  }
  std::optional<log::Offset> StopAt() {
    std::unique_lock lock(*mu_);
    return stop_at_;
  }

  Runtime& rt_;
  const WorkloadLog& log_;
  const WatchWorkloadOptions& options_;
  WatchRun& run_;
  std::unique_ptr<Mutex> mu_;  // Guards run_ and stop_at_.
  std::optional<log::Offset> stop_at_;
};

}  // namespace

std::vector<checker::LogChange> WatchLogModel::Apply(log::Offset offset, const log::Record& record) {
  std::vector<checker::LogChange> out;
  auto write = [&](const std::string& key, const std::optional<std::string>& value) {
    if (value) {
      versions_[key] = offset;
    } else {
      versions_.erase(key);
    }
    out.push_back({offset, {key, value}});
  };
  if (!record.value || !kv::internal::IsCommand(*record.value)) {
    write(record.key, record.value);
    return out;
  }
  auto command = kv::internal::DecodeCommand(*record.value);
  if (!command) return out;  // Every replica skips it as corrupt.
  if (!command->writer.empty() && !seen_.insert({command->writer, command->seq}).second) return out;
  bool held = true;
  for (const auto& c : command->compares) {
    auto it = versions_.find(c.key);
    switch (c.kind) {
      case kv::internal::CommandCompare::Kind::kAbsent: held = it == versions_.end(); break;
      case kv::internal::CommandCompare::Kind::kPresent: held = it != versions_.end(); break;
      case kv::internal::CommandCompare::Kind::kVersion: held = it != versions_.end() && it->second == c.version; break;
    }
    if (!held) break;
  }
  for (const auto& w : held ? command->then_writes : command->else_writes) write(w.key, w.value);
  return out;
}

WatchRun RunWatchWorkload(const WatchWorkloadOptions& options) {
  WatchRun run;
  if (options.variant != "correct" && options.variant != "watch-drop") {
    run.errors.push_back("unknown watch variant '" + options.variant + "'; known: correct, watch-drop");
    return run;
  }
  SimRuntime rt(options.seed, options.limits);
  run.outcome = rt.Run([&] {
    log::sim::Broker broker(rt, options.broker, options.seed);
    RunWatchWorkloadOn(rt, SimWorkloadLog(broker, options.slot_faults), options, run);
  });
  run.history.source = fmt::format("watch workload seed {} variant {}", options.seed, options.variant);
  return run;
}

void RunWatchWorkloadOn(Runtime& rt, const WorkloadLog& log, const WatchWorkloadOptions& options, WatchRun& run) {
  WatchWorkload(rt, log, options, run).Run();
  run.history.log_start = log.start_offset();
  WatchLogModel model;
  Status visited = log.visit([&](log::Offset offset, const log::Record& record) {
    for (auto& c : model.Apply(offset, record)) run.history.log.push_back(std::move(c));
  });
  if (!visited) run.errors.push_back("reading the log back: " + visited.error().ToString());
}

}  // namespace kvlog::sim
