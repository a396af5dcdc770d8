#include "sim/workload.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "checker/digest.h"
#include "kv/command.h"
#include "kv/memory_storage.h"
#include "kv/ttl.h"
#include "base/rng.h"

namespace kvlog::sim {
namespace {

using checker::Event;
using checker::EventType;
using checker::Value;

// Appends events in the order they happen. Thread-safe through the runtime.
class Recorder {
 public:
  Recorder(Runtime& rt, std::function<void(const Event&)> sink,
           std::vector<checker::NemesisEvent> planned = {},
           std::function<void(const checker::NemesisEvent&)> nemesis_sink = nullptr)
      : rt_(rt),
        mu_(rt.NewMutex()),
        start_(rt.Now()),
        sink_(std::move(sink)),
        nemesis_sink_(std::move(nemesis_sink)),
        planned_(std::move(planned)) {}

  // Stamps the event's time and keeps it, or hands it to the sink; the
  // planned nemesis actions due by then go first.
  void Add(const Event& event) {
    std::unique_lock lock(*mu_);
    if (sink_) {
      Event stamped = event;
      Stamp(stamped);
      PlannedDueLocked(*stamped.time);
      sink_(stamped);
      ++events_;
      return;
    }
    Event stamped = event;
    Stamp(stamped);
    PlannedDueLocked(*stamped.time);
    history_.events.push_back(std::move(stamped));
    ++events_;
  }
  void Add(Event&& event) {
    std::unique_lock lock(*mu_);
    Stamp(event);
    PlannedDueLocked(*event.time);
    if (sink_) {
      sink_(event);
    } else {
      history_.events.push_back(std::move(event));
    }
    ++events_;
  }
  // A nemesis action happening now (a client crash or restart).
  void AddNemesis(std::string f, std::string value) {
    std::unique_lock lock(*mu_);
    checker::NemesisEvent n;
    n.f = std::move(f);
    n.value = std::move(value);
    n.time = (rt_.Now() - start_).count();
    PlannedDueLocked(*n.time);
    NemesisLocked(std::move(n));
  }
  // The planned actions due by now; the rest never happened.
  void FinishNemesis() {
    std::unique_lock lock(*mu_);
    PlannedDueLocked((rt_.Now() - start_).count());
    next_planned_ = planned_.size();
  }
  void Reserve(std::size_t events) {
    std::unique_lock lock(*mu_);
    if (!sink_) history_.events.reserve(events);
  }
  void AddFinal(checker::FinalState final_state) {
    std::unique_lock lock(*mu_);
    history_.finals.push_back(std::move(final_state));
  }
  int64_t NewProcess() {
    std::unique_lock lock(*mu_);
    return next_process_++;
  }
  void SetFirstProcess(int64_t p) { next_process_ = p; }
  checker::History Take() {
    std::unique_lock lock(*mu_);
    return std::move(history_);
  }

 private:
  Runtime& rt_;
  std::unique_ptr<Mutex> mu_;
  const TimePoint start_;
  void Stamp(Event& event) const { event.time = (rt_.Now() - start_).count(); }
  void NemesisLocked(checker::NemesisEvent n) {
    n.position = events_;
    if (nemesis_sink_) {
      nemesis_sink_(n);
    } else {
      history_.nemesis.push_back(std::move(n));
    }
  }
  void PlannedDueLocked(int64_t time) {
    for (; next_planned_ < planned_.size() && planned_[next_planned_].time.value_or(0) <= time; ++next_planned_) {
      NemesisLocked(planned_[next_planned_]);
    }
  }

  checker::History history_;
  const std::function<void(const Event&)> sink_;
  const std::function<void(const checker::NemesisEvent&)> nemesis_sink_;
  const std::vector<checker::NemesisEvent> planned_;
  std::size_t next_planned_ = 0;
  int64_t events_ = 0;  // Recorded so far: a nemesis action's position.
  int64_t next_process_ = 0;
};

// One client slot: the replica a process drives, replaced after a crash.
// The worker owns the client's lifetime; the nemesis only closes it.
struct Slot {
  std::unique_ptr<Mutex> mu;
  std::unique_ptr<kv::Client> client;  // Guarded by mu (the pointer, not the client).
  bool crash_requested = false;        // Guarded by mu.
  int restarts = 0;
  // The process's async puts (OperationMix::put_async): how many are in
  // flight and the history processes ("lanes") free for the next, guarded by
  // async_mu; async_done signals a completion. A lane is taken for one write
  // and freed once its completion is recorded, so a lane's operations never
  // overlap. Never taken while holding mu (a callback can run inside Close,
  // which the nemesis calls under mu).
  std::unique_ptr<Mutex> async_mu;
  std::unique_ptr<CondVar> async_done;
  int async_in_flight = 0;
  std::vector<int64_t> free_lanes;
};

EventType OutcomeOfWrite(const Error& e, bool batch) {
  // Nothing was appended for bad input. A corrupt record is skipped by every
  // replica, so a single-record write never takes effect; a batch's other
  // records may have. Anything else may have committed, kDataLoss included
  // (the log lost the record at the acknowledged offset; a duplicate from a
  // retry may stand elsewhere).
  if (e.code() == ErrorCode::kInvalidArgument) return EventType::kFail;
  // Refused at max_writes_in_flight: nothing was appended.
  if (e.code() == ErrorCode::kResourceExhausted) return EventType::kFail;
  if (e.code() == ErrorCode::kCorrupt && !batch) return EventType::kFail;
  return EventType::kInfo;
}

}  // namespace

bool NemesisChannel::Record(const std::string& f, const std::string& value) {
  std::lock_guard lock(mu_);
  if (!sink_) return false;
  sink_(f, value);
  return true;
}

void NemesisChannel::Attach(std::function<void(std::string, std::string)> sink) {
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

void NemesisChannel::Detach() {
  std::lock_guard lock(mu_);
  sink_ = nullptr;
}

namespace {

class Workload {
 public:
  Workload(Runtime& rt, const WorkloadOptions& options, const ConnectFn& connect, const LogWrapper& wrap)
      : rt_(rt), options_(options), connect_(connect), wrap_(wrap), recorder_(rt, options.event_sink, options.planned_nemesis, options.nemesis_sink) {}

  WorkloadResult Run() {
    WorkloadResult result;
    recorder_.SetFirstProcess(options_.clients);
    // An invocation and a completion per operation; growing by doubling
    // copied every event several times over.
    recorder_.Reserve(2 * static_cast<std::size_t>(std::max(options_.clients, 0)) *
                      static_cast<std::size_t>(std::max(options_.ops_per_client, 0)));
    slots_.resize(static_cast<std::size_t>(options_.clients));
    if (!options_.clock_skews.empty()) {
      for (int i = 0; i < options_.clients; ++i) {
        clocks_.push_back(std::make_unique<SkewedRuntime>(
            rt_, options_.clock_skews[static_cast<std::size_t>(i) % options_.clock_skews.size()]));
      }
    }
    for (int i = 0; i < options_.clients; ++i) {
      slots_[i].mu = rt_.NewMutex();
      slots_[i].async_mu = rt_.NewMutex();
      slots_[i].async_done = rt_.NewCondVar();
      auto client = Open(i, ReplicaName(i, 0));
      if (!client) {
        result.errors.push_back(fmt::format("opening client {}: {}", i, client.error().ToString()));
        return result;
      }
      slots_[i].client = std::move(*client);
    }
    if (options_.custom) custom_ = options_.custom->start();
    if (custom_.setup && options_.clients > 0) {
      base::Rng rng = base::Rng(options_.seed).Fork("workload/setup");
      OpContext context = Context(*slots_[0].client, 0, -1, rng);
      for (Slot& slot : slots_) context.clients.push_back(slot.client.get());
      if (Status s = custom_.setup(context); !s) {
        result.errors.push_back(fmt::format("setting up the workload: {}", s.error().ToString()));
        for (Slot& slot : slots_) slot.client->Close();
        return result;
      }
    }
    if (options_.external_nemesis) {
      options_.external_nemesis->Attach(
          [this](std::string f, std::string value) { recorder_.AddNemesis(std::move(f), std::move(value)); });
    }
    std::vector<std::unique_ptr<Task>> workers;
    for (int i = 0; i < options_.clients; ++i) {
      workers.push_back(rt_.Spawn(fmt::format("process {}", i), [this, i] { Process(i); }));
    }
    std::unique_ptr<Task> nemesis;
    if (options_.crashes > 0) nemesis = rt_.Spawn("nemesis", [this] { Nemesis(); });
    for (auto& w : workers) w->Join();
    if (nemesis) nemesis->Join();

    for (int i = 0; i < options_.clients; ++i) {
      Slot& slot = slots_[i];
      // A client the nemesis crashed after its process finished restarts,
      // so its final state is a fresh bootstrap's.
      if (slot.client && slot.crash_requested && Restart(i) < 0) {
        result.errors.push_back(fmt::format("restarting client {} for the final state failed", i));
      }
      if (!slot.client) continue;
      kv::Client& c = *slot.client;
      if (auto synced = c.Sync(kv::CallOptions{options_.final_sync_timeout}); !synced) {
        result.errors.push_back(fmt::format("final sync of {}: {}", c.id(), synced.error().ToString()));
        continue;
      }
      if (custom_.finish) {
        base::Rng rng = base::Rng(options_.seed).Fork("workload/finish", static_cast<uint64_t>(i));
        OpContext context = Context(c, recorder_.NewProcess(), 0, rng);
        custom_.finish(context);
      }
      auto all = c.Range(kv::KeyConstraint{});
      checker::StateDigest digest;
      for (const auto& kv : *all) digest.Add(kv.key, kv.value);
      recorder_.AddFinal(checker::FinalState{c.id(), c.AppliedPosition(), digest.Hex()});
    }
    for (Slot& slot : slots_) {
      if (slot.client) {
        slot.client->Close();
        CountClient(*slot.client);
      }
      slot.client.reset();
    }
    if (options_.external_nemesis) options_.external_nemesis->Detach();
    recorder_.FinishNemesis();
    result.history = recorder_.Take();
    result.ops_completed = completed_;
    result.ops_unknown = unknown_;
    result.crashes = crashes_;
    result.data_loss = data_loss_;
    result.reader_data_loss = reader_data_loss_;
    result.writes_waited_at_limit = writes_waited_at_limit_;
    result.writes_refused_at_limit = writes_refused_at_limit_;
    result.async_writes = async_writes_;
    return result;
  }

 private:
  static std::string ReplicaName(int slot, int restarts) {
    return restarts > 0 ? fmt::format("c{}-r{}", slot, restarts) : fmt::format("c{}", slot);
  }

  Result<std::unique_ptr<kv::Client>> Open(int slot, const std::string& name) {
    std::unique_ptr<log::Log> log = connect_(slot);
    if (wrap_) log = wrap_(std::move(log));
    kv::ClientOptions options;
    options.runtime = clocks_.empty() ? &rt_ : clocks_[static_cast<std::size_t>(slot)].get();
    options.client_id = name;
    options.startup_timeout = options_.startup_timeout;
    options.default_timeout = options_.op_timeout;
    options.logger = nullptr;  // Injected corruption and outages are expected here.
    if (options_.max_poll_records) options.max_poll_records = *options_.max_poll_records;
    if (options_.poll_timeout) options.poll_timeout = *options_.poll_timeout;
    if (options_.poll_error_backoff) options.poll_error_backoff = *options_.poll_error_backoff;
    if (options_.max_writes_in_flight) options.max_writes_in_flight = *options_.max_writes_in_flight;
    if (options_.wait_for_write_slot) options.wait_for_write_slot = *options_.wait_for_write_slot;
    std::unique_ptr<kv::Storage> storage =
        options_.storage ? options_.storage(slot, slots_[slot].restarts) : kv::NewMemoryStorage();
    if (storage == nullptr) {
      return MakeError(ErrorCode::kUnavailable, fmt::format("no store for client slot {}", slot));
    }
    return kv::Client::Open(std::move(log), std::move(storage), options);
  }

  void Nemesis() {
    base::Rng rng = base::Rng(options_.seed).Fork("workload/crashes");
    auto window = static_cast<uint64_t>(std::max<int64_t>(1, options_.crash_window.count()));
    std::vector<Duration> at;
    for (int i = 0; i < options_.crashes; ++i) at.push_back(Duration(rng.Below(window)));
    std::sort(at.begin(), at.end());
    const TimePoint start = rt_.Now();
    for (Duration t : at) {
      rt_.SleepUntil(start + t);
      Slot& slot = slots_[rng.Below(slots_.size())];
      std::unique_lock lock(*slot.mu);
      if (!slot.client || slot.crash_requested) continue;
      slot.crash_requested = true;
      ++crashes_;
      recorder_.AddNemesis("crash", fmt::format("client {}", slot.client->id()));
      slot.client->Close();
    }
  }

  // Replaces a crashed slot's client with a fresh one that bootstraps from
  // the log. Returns the new process number, or -1 if it could not reopen.
  int64_t Restart(int i) {
    Slot& slot = slots_[i];
    std::unique_ptr<kv::Client> old;
    {
      std::unique_lock lock(*slot.mu);
      old = std::move(slot.client);
    }
    if (old) CountClient(*old);
    old.reset();
    for (int attempt = 0; attempt < 20; ++attempt) {
      rt_.SleepFor(options_.restart_delay);
      const std::string name = ReplicaName(i, ++slot.restarts);
      auto client = Open(i, name);
      if (client) {
        {
          std::unique_lock lock(*slot.mu);
          slot.client = std::move(*client);
          slot.crash_requested = false;
        }
        recorder_.AddNemesis("restart", fmt::format("client {}", name));
        return recorder_.NewProcess();
      }
    }
    return -1;
  }

  OpContext Context(kv::Client& c, int64_t process, int n, base::Rng& rng) {
    OpContext context;
    context.client = &c;
    context.process = process;
    context.n = n;
    context.op_id = n < 0 ? fmt::format("p{}-setup", process) : fmt::format("p{}-{}", process, n);
    context.call = kv::CallOptions{options_.op_timeout, context.op_id};
    context.rng = &rng;
    auto stamp = [process, replica = c.id(), op = context.op_id](Event& e) {
      e.process = process;
      if (!e.replica) e.replica = replica;
      if (!e.op) e.op = op;
    };
    context.invoke = [this, stamp](Event e) {
      e.type = EventType::kInvoke;
      stamp(e);
      recorder_.Add(std::move(e));
    };
    context.complete = [this, stamp](Event e) {
      stamp(e);
      Complete(std::move(e));
    };
    return context;
  }

  void Process(int i) {
    Slot& slot = slots_[i];
    base::Rng rng = base::Rng(options_.seed).Fork("workload/process", static_cast<uint64_t>(i));
    auto uniform = [&](uint64_t n) { return rng.Below(n); };
    int64_t process = i;
    const OperationMix& mix = options_.mix;
    const int total = mix.put + mix.get + mix.del + mix.batch + mix.range + mix.cas + mix.put_async;
    for (int n = 0; n < options_.ops_per_client || (options_.keep_going && options_.keep_going()); ++n) {
      bool crashed;
      {
        std::unique_lock lock(*slot.mu);
        crashed = slot.crash_requested;
      }
      if (crashed) {
        // The closed client has failed its async puts (kClosed, recorded as
        // info); the restarted one gets lanes of its own.
        DrainAsync(slot);
        {
          std::unique_lock lock(*slot.async_mu);
          slot.free_lanes.clear();
        }
        process = Restart(i);
        if (process < 0) return;
      }
      if (options_.max_think.count() > 0) {
        rt_.SleepFor(Duration(uniform(static_cast<uint64_t>(options_.max_think.count()) + 1)));
      }
      kv::Client& c = *slot.client;
      if (custom_.op) {
        OpContext context = Context(c, process, n, rng);
        custom_.op(context);
        continue;
      }
      const std::string op_id = fmt::format("p{}-{}", process, n);
      const std::string key = fmt::format("k{}", uniform(static_cast<uint64_t>(options_.keys)));
      int pick = static_cast<int>(uniform(static_cast<uint64_t>(std::max(total, 1))));
      Event invoke;
      invoke.process = process;
      invoke.type = EventType::kInvoke;
      invoke.replica = c.id();
      invoke.op = op_id;
      kv::CallOptions call{options_.op_timeout, op_id};

      if ((pick -= mix.put) < 0) {
        const std::string value = fmt::format("v{}-{}", process, n);
        invoke.f = "put";
        invoke.key = key;
        invoke.value = Value::String(value);
        recorder_.Add(invoke);
        auto result = c.Put(key, value, call);
        RecordWrite(std::move(invoke), result);
      } else if ((pick -= mix.get) < 0) {
        invoke.f = "get";
        invoke.key = key;
        RecordReadLevel(options_.get_level, invoke);
        recorder_.Add(invoke);
        // The position comes with the read, taken atomically with it: a
        // position read before the read may be older than what it saw.
        kv::ReadInfo read_at;
        std::string got_value;
        Status got;
        if (options_.get_level.kind == kv::ReadLevel::Kind::kLocal) {
          got = c.Get(key, &got_value, &read_at);
        } else {
          auto entry = c.GetEntry(key, kv::ReadOptions{options_.get_level, options_.op_timeout}, &read_at);
          if (entry) {
            got_value = std::move(entry->value);
          } else {
            got = std::unexpected(entry.error());
          }
        }
        Event done = std::move(invoke);
        done.value = Value();
        done.level.reset();  // On the invocation only.
        done.bound.reset();
        if (got) {
          done.type = EventType::kOk;
          done.value = Value::String(got_value);
          done.applied = read_at.position;
        } else if (got.error().code() == ErrorCode::kNotFound) {
          done.type = EventType::kOk;
          done.applied = read_at.position;
        } else {
          done.type = EventType::kFail;
        }
        Complete(std::move(done));
      } else if ((pick -= mix.del) < 0) {
        invoke.f = "delete";
        invoke.key = key;
        recorder_.Add(invoke);
        auto result = c.Delete(key, call);
        RecordWrite(std::move(invoke), result);
      } else if ((pick -= mix.cas) < 0) {
        const std::string value = fmt::format("c{}-{}", process, n);
        // The expected value is what this replica holds now; the log decides
        // whether the key is still at that version where the write lands.
        auto current = c.GetEntry(key);
        invoke.f = "cas";
        invoke.key = key;
        invoke.value = Value::List({current ? Value::String(current->value) : Value(), Value::String(value)});
        recorder_.Add(invoke);
        auto result = current ? c.PutIf(key, value, current->version, call) : c.PutIfAbsent(key, value, call);
        if (!result && result.error().code() == ErrorCode::kConflict) {
          Event done = std::move(invoke);
          done.type = EventType::kOk;
          done.result = false;
          Complete(std::move(done));
        } else {
          if (result) invoke.result = true;
          RecordWrite(std::move(invoke), result);
        }
      } else if ((pick -= mix.batch) < 0) {
        invoke.f = "batch";
        auto batch = c.Batch();
        std::vector<Value> items;
        int size = 1 + static_cast<int>(uniform(static_cast<uint64_t>(std::max(options_.max_batch, 1))));
        for (int b = 0; b < size; ++b) {
          std::string k = fmt::format("k{}", uniform(static_cast<uint64_t>(options_.keys)));
          bool is_delete = uniform(4) == 0;
          std::string v = fmt::format("v{}-{}.{}", process, n, b);
          if (is_delete) {
            batch.Delete(k);
          } else {
            batch.Put(k, v);
          }
          items.push_back(Value::Map({"f", "key", "value"}, {Value::String(is_delete ? "delete" : "put"),
                                                             Value::String(k),
                                                             is_delete ? Value() : Value::String(v)}));
        }
        invoke.value = Value::List(std::move(items));
        recorder_.Add(invoke);
        auto result = batch.Execute(call);
        RecordWrite(std::move(invoke), result);
      } else if ((pick -= mix.put_async) < 0) {
        PutAsync(slot, c, std::move(invoke), key, fmt::format("a{}-{}", process, n), call);
      } else {
        invoke.f = "range";
        std::string a = fmt::format("k{}", uniform(static_cast<uint64_t>(options_.keys)));
        std::string b = fmt::format("k{}", uniform(static_cast<uint64_t>(options_.keys)));
        if (b < a) std::swap(a, b);
        b += '\xff';  // Inclusive of b.
        invoke.key = a;
        recorder_.Add(invoke);
        kv::ReadInfo read_at;
        auto got = c.Range(kv::KeyConstraint{a, b}, {}, &read_at);
        Event done = std::move(invoke);
        if (got) {
          std::vector<Value> pairs;
          for (const auto& kv : *got) pairs.push_back(Value::List({Value::String(kv.key), Value::String(kv.value)}));
          done.type = EventType::kOk;
          done.value = Value::List(std::move(pairs));
          done.applied = read_at.position;
        } else {
          done.type = EventType::kFail;
        }
        Complete(std::move(done));
      }
    }
    DrainAsync(slot);
  }

  // OperationMix::put_async: waits for room among max_async_writes, takes a
  // lane, records the invocation and starts the write; the client's callback
  // records the completion and frees the lane.
  void PutAsync(Slot& slot, kv::Client& c, Event invoke, const std::string& key, const std::string& value,
                const kv::CallOptions& call) {
    int64_t lane;
    {
      std::unique_lock lock(*slot.async_mu);
      while (slot.async_in_flight >= std::max(options_.max_async_writes, 1)) slot.async_done->Wait(lock);
      ++slot.async_in_flight;
      if (slot.free_lanes.empty()) {
        lane = recorder_.NewProcess();
      } else {
        lane = slot.free_lanes.back();
        slot.free_lanes.pop_back();
      }
    }
    ++async_writes_;
    invoke.process = lane;
    invoke.f = "put";
    invoke.key = key;
    invoke.value = Value::String(value);
    recorder_.Add(invoke);
    c.PutAsync(
        key, value,
        [this, &slot, lane, done = std::move(invoke)](Result<log::Offset> result) mutable {
          RecordWrite(std::move(done), result);
          std::unique_lock lock(*slot.async_mu);
          --slot.async_in_flight;
          slot.free_lanes.push_back(lane);
          slot.async_done->NotifyAll();
        },
        call);
  }

  // Waits until the slot's async puts have all completed.
  void DrainAsync(Slot& slot) {
    std::unique_lock lock(*slot.async_mu);
    while (slot.async_in_flight > 0) slot.async_done->Wait(lock);
  }

  void CountClient(const kv::Client& c) {
    reader_data_loss_ += static_cast<int64_t>(c.reader_data_loss());
    if (auto stats = c.Stats(); stats) {
      writes_waited_at_limit_ += static_cast<int64_t>(stats->writes_waited_at_limit);
      writes_refused_at_limit_ += static_cast<int64_t>(stats->writes_refused_at_limit);
    }
  }

  void RecordWrite(Event done, const Result<log::Offset>& result) {
    if (result) {
      done.type = EventType::kOk;
      done.offset = *result;
    } else {
      done.type = OutcomeOfWrite(result.error(), done.f == "batch");
      if (result.error().code() == ErrorCode::kDataLoss) ++data_loss_;
    }
    Complete(std::move(done));
  }

  void Complete(Event done) {
    if (done.type == EventType::kInfo) {
      ++unknown_;
    } else {
      ++completed_;
    }
    recorder_.Add(std::move(done));
  }

  Runtime& rt_;
  // Per slot, with clock_skews: the clients' skewed views of rt_ (outlive them).
  std::vector<std::unique_ptr<SkewedRuntime>> clocks_;
  const WorkloadOptions& options_;
  const ConnectFn& connect_;
  const LogWrapper& wrap_;
  Recorder recorder_;
  std::vector<Slot> slots_;
  CustomOps custom_;  // Set for a custom workload.
  std::atomic<int64_t> completed_{0}, unknown_{0}, crashes_{0}, data_loss_{0}, reader_data_loss_{0};
  std::atomic<int64_t> writes_waited_at_limit_{0}, writes_refused_at_limit_{0}, async_writes_{0};
};

}  // namespace

WorkloadResult RunWorkload(Runtime& runtime, const WorkloadOptions& options, const ConnectFn& connect,
                           const LogWrapper& wrap) {
  Workload workload(runtime, options, connect, wrap);
  return workload.Run();
}

void RecordReadLevel(const kv::ReadLevel& level, checker::Event& invoke) {
  switch (level.kind) {
    case kv::ReadLevel::Kind::kLocal:
      invoke.level = "local";
      break;
    case kv::ReadLevel::Kind::kBounded:
      invoke.level = "bounded";
      invoke.bound = level.max_lag;
      break;
    case kv::ReadLevel::Kind::kAtLeast:
      invoke.level = "at_least";
      invoke.bound = level.position;
      break;
    case kv::ReadLevel::Kind::kLinearizable:
      invoke.level = "linearizable";
      break;
  }
}

// A written value as the history names it: the user's value, a TTL
// envelope's deadline apart.
void SetUserValue(checker::LogRecord& r, const std::optional<std::string>& stored) {
  r.value = stored;
  r.deadline.reset();
  if (stored && kv::internal::IsTtlEnvelope(*stored)) {
    const kv::internal::StoredValue decoded = kv::internal::DecodeStoredValue(*stored);
    r.value = std::string(decoded.value);
    if (decoded.deadline_ns != 0) r.deadline = decoded.deadline_ns;
  }
}

checker::LogRecord ToLogRecord(log::Offset offset, const log::Record& record) {
  checker::LogRecord out;
  out.offset = offset;
  out.key = record.key;
  SetUserValue(out, record.value);
  out.f = record.value ? "put" : "delete";
  if (const std::string* w = record.FindHeader(kv::kWriterHeader)) out.writer = *w;
  if (const std::string* op = record.FindHeader(kv::kOpHeader)) out.op = *op;
  return out;
}

void LogRecordTranslator::Wrote(log::Offset offset, const std::string& key, const checker::OptionalString& value) {
  written_[{offset, key}] = value.ToOptional();
  if (value) {
    versions_[key] = offset;
  } else {
    versions_.erase(key);
  }
}

// Turns command records (kv/command.h) into the checker's records. A one-key
// condition on a version becomes cas with the value the key held at that
// version as `expected` (the workload's values are unique, so comparing values
// decides as comparing versions does); on absence, cas with no expected value.
// Any other command is decided here, against each key's version, and becomes
// the plain records of the writes it applied.
Result<std::vector<checker::LogRecord>> LogRecordTranslator::Translate(log::Offset offset,
                                                                      const log::Record& record) {
  std::vector<checker::LogRecord> out;
  checker::LogRecord base = ToLogRecord(offset, record);
  if (!record.value || !kv::internal::IsCommand(*record.value)) {
    // A second copy of a plain record: every replica skips it.
    if (auto id = kv::internal::PlainDedup::Identity(record, kv::kWriterHeader, kv::kSeqHeader);
        id && plain_.Check(*id->first, id->second, offset)) {
      return out;
    }
    Wrote(offset, base.key, base.value);  // The user's value: a TTL envelope decoded.
    out.push_back(std::move(base));
    return out;
  }
  auto command = kv::internal::DecodeCommand(*record.value);
  KVLOG_RETURN_IF_ERROR(command);
  // A duplicate (a producer retry that committed twice) changes nothing on
  // any replica: leave it out, as they do.
  if (!command->writer.empty() && !seen_.emplace(command->writer, command->seq).second) return out;
  // Decided as every replica decides it, against each key's version here.
  bool held = true;
  for (const kv::internal::CommandCompare& c : command->compares) {
    auto it = versions_.find(c.key);
    switch (c.kind) {
      case kv::internal::CommandCompare::Kind::kAbsent:
        held = held && it == versions_.end();
        break;
      case kv::internal::CommandCompare::Kind::kPresent:
        held = held && it != versions_.end();
        break;
      case kv::internal::CommandCompare::Kind::kVersion:
        held = held && it != versions_.end() && it->second == c.version;
        break;
    }
  }
  // A put on one key, unconditional or on its version or absence; or a delete
  // on one key's version (DeleteIf, the TTL janitor's tombstone), which is a
  // cas without a value: delete if the key still holds the expected value.
  using Kind = kv::internal::CommandCompare::Kind;
  const bool one_key_cas =
      command->then_writes.size() == 1 && command->else_writes.empty() && command->compares.size() <= 1 &&
      (command->then_writes.front().value
           ? (command->compares.empty() || (command->compares.front().key == command->then_writes.front().key &&
                                            command->compares.front().kind != Kind::kPresent))
           : (command->compares.size() == 1 && command->compares.front().key == command->then_writes.front().key &&
              command->compares.front().kind == Kind::kVersion));
  if (!one_key_cas) {
    // A transaction, an atomic batch or another condition: the writes it
    // applied, the last to each key (the record is applied as one unit).
    const auto& writes = held ? command->then_writes : command->else_writes;
    for (std::size_t i = 0; i < writes.size(); ++i) {
      const kv::internal::CommandWrite& w = writes[i];
      if (std::any_of(writes.begin() + static_cast<std::ptrdiff_t>(i) + 1, writes.end(),
                      [&](const kv::internal::CommandWrite& later) { return later.key == w.key; })) {
        continue;
      }
      checker::LogRecord r = base;
      r.key = w.key;
      SetUserValue(r, w.value);
      r.f = w.value ? "put" : "delete";
      Wrote(offset, r.key, r.value);
      out.push_back(std::move(r));
    }
    return out;
  }
  const kv::internal::CommandWrite& w = command->then_writes.front();
  base.key = w.key;
  SetUserValue(base, w.value);
  base.f = "put";
  if (!command->compares.empty()) {
    const kv::internal::CommandCompare& c = command->compares.front();
    base.f = "cas";
    if (c.kind == kv::internal::CommandCompare::Kind::kVersion) {
      auto it = written_.find({c.version, c.key});
      // A version no record wrote can never match: expect a value no record holds.
      base.expected = it != written_.end() && it->second ? *it->second : std::string("\0no such version", 16);
    }
  }
  if (held) Wrote(offset, base.key, base.value);
  out.push_back(std::move(base));
  return out;
}


Result<std::vector<checker::LogRecord>> ReadLogForHistory(log::Log& log, Duration timeout) {
  LogRecordTranslator translator;
  auto end = log.EndOffset(timeout);
  KVLOG_RETURN_IF_ERROR(end);
  auto reader = log.OpenReader(0);
  KVLOG_RETURN_IF_ERROR(reader);
  std::vector<checker::LogRecord> out;
  while ((*reader)->Position() < *end) {
    auto entries = (*reader)->Poll(10'000, timeout);
    KVLOG_RETURN_IF_ERROR(entries);
    if (entries->empty()) {
      return MakeError(ErrorCode::kTimeout,
                       fmt::format("reading the log back stopped at offset {} of {}", (*reader)->Position(), *end));
    }
    for (const log::LogEntry& e : *entries) {
      if (!e.record) continue;
      auto records = translator.Translate(e.offset, *e.record);
      KVLOG_RETURN_IF_ERROR(records);
      for (auto& r : *records) out.push_back(std::move(r));
    }
  }
  (*reader)->Close();
  return out;
}

}  // namespace kvlog::sim
