#include "sim/ttl_workload.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "checker/convergence.h"
#include "checker/digest.h"
#include "checker/expiry.h"
#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/ttl.h"
#include "log/sim/broker.h"
#include "base/rng.h"
#include "sim/workload.h"

namespace kvlog::sim {
namespace {

using checker::Event;
using checker::EventType;
using checker::Value;

// "apply-time-expiry": the reader drops every record whose TTL deadline has
// passed by this replica's own clock when it reads it, as a replica that
// "does not bother storing what has already expired" would. Its stored state
// then depends on its clock and on when it applied the record.
class ApplyTimeExpiryReader final : public log::LogReader {
 public:
  ApplyTimeExpiryReader(std::unique_ptr<log::LogReader> inner, Runtime& clock)
      : inner_(std::move(inner)), clock_(clock) {}
  Result<std::vector<log::LogEntry>> Poll(std::size_t max_entries, log::Duration timeout) override {
    auto entries = inner_->Poll(max_entries, timeout);
    if (!entries) return entries;
    const int64_t now = clock_.WallNow().time_since_epoch().count();
    std::erase_if(*entries, [&](const log::LogEntry& e) {
      return e.record && e.record->value && kv::internal::IsTtlEnvelope(*e.record->value) &&
             kv::internal::DecodeStoredValue(*e.record->value).ExpiredAt(now);
    });
    return entries;
  }
  log::Offset Position() const override { return inner_->Position(); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::LogReader> inner_;
  Runtime& clock_;
};

class ApplyTimeExpiryLog final : public log::Log {
 public:
  ApplyTimeExpiryLog(std::unique_ptr<log::Log> inner, Runtime& clock) : inner_(std::move(inner)), clock_(clock) {}
  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    inner_->Append(records, std::move(done));
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    auto reader = inner_->OpenReader(from, options);
    if (!reader) return reader;
    return std::unique_ptr<log::LogReader>(std::make_unique<ApplyTimeExpiryReader>(std::move(*reader), clock_));
  }
  Result<log::Offset> EndOffset(log::Duration timeout) override { return inner_->EndOffset(timeout); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::Log> inner_;
  Runtime& clock_;
};

}  // namespace

const std::vector<std::string>& TtlVariants() {
  static const std::vector<std::string> kVariants = {"correct", "apply-time-expiry", "clock-beyond-bound"};
  return kVariants;
}

std::string TtlScenarioError(const TtlScenario& s) {
  const auto& variants = TtlVariants();
  if (std::find(variants.begin(), variants.end(), s.variant) == variants.end()) {
    return "unknown TTL variant '" + s.variant + "'; known: correct, apply-time-expiry, clock-beyond-bound";
  }
  if (s.clients < 1 || s.keys < 1 || s.ops_per_client < 0 || s.min_ttl.count() <= 0 || s.max_ttl < s.min_ttl ||
      s.janitor_interval.count() <= 0) {
    return "TTL scenario: need clients >= 1, keys >= 1, ops_per_client >= 0, 0 < min_ttl <= max_ttl "
           "and a positive janitor_interval";
  }
  return "";
}

TtlRun RunTtlScenario(const TtlScenario& s) {
  TtlRun run;
  if (std::string why = TtlScenarioError(s); !why.empty()) {
    run.errors.push_back(why);
    return run;
  }
  run.skews = DrawClockSkews(s.seed, s.clients, s.max_clock_offset, s.max_drift_ppm);
  SimRuntime rt(s.seed, s.limits);
  run.outcome = rt.Run([&] {
    log::sim::Broker broker(rt, s.broker, s.seed);
    RunTtlWorkload(rt, SimWorkloadLog(broker, s.slot_faults), s, Duration(0), run);
    run.history.source = fmt::format("ttl seed {} variant {}", s.seed, s.variant);
  });
  run.ops = static_cast<int64_t>(run.history.events.size() / 2);
  return run;
}

void RunTtlWorkload(Runtime& rt, const WorkloadLog& wlog, const TtlScenario& s, Duration clock_margin, TtlRun& run) {
  const bool broken = s.variant == "apply-time-expiry";
  // Event times are rt.Now(); deadlines are wall times. On the simulator both
  // are virtual time (origin 0); live, the origin maps the steady clock to
  // the wall clock, and how much it moves during the run (the wall clock
  // stepped or slewed) goes into the bound.
  const int64_t origin_start = rt.WallNow().time_since_epoch().count() - rt.Now().time_since_epoch().count();
  {
    std::vector<std::unique_ptr<SkewedRuntime>> clocks;
    for (const ClockSkew& skew : run.skews) clocks.push_back(std::make_unique<SkewedRuntime>(rt, skew));
    if (s.variant == "clock-beyond-bound") {
      // Client 0's clock runs 10 bounds' worth behind what the run reports:
      // it keeps showing values long after their deadlines.
      ClockSkew behind = run.skews[0];
      behind.offset -= 10 * (s.max_clock_offset + std::chrono::milliseconds(1));
      clocks[0] = std::make_unique<SkewedRuntime>(rt, behind);
    }
    std::vector<std::unique_ptr<kv::Client>> clients(static_cast<std::size_t>(s.clients));
    std::unique_ptr<Mutex> mu = rt.NewMutex();  // Guards run.history.events and run.errors.
    auto record = [&](Event e) {
      std::unique_lock lock(*mu);
      e.time = rt.Now().time_since_epoch().count();
      run.history.events.push_back(std::move(e));
    };
    auto fail = [&](std::string what) {
      std::unique_lock lock(*mu);
      run.errors.push_back(std::move(what));
    };
    const int late = s.clients > 1 ? s.clients - 1 : -1;  // The replica that joins at the end.
    auto open = [&](int i) -> kv::Client* {
        std::unique_ptr<log::Log> log = wlog.connect(i);
        if (broken) log = std::make_unique<ApplyTimeExpiryLog>(std::move(log), *clocks[i]);
        kv::ClientOptions options;
        options.runtime = clocks[i].get();
        options.client_id = fmt::format("c{}", i);
        options.default_timeout = s.op_timeout;
        options.logger = nullptr;
        options.janitor_interval = s.janitor_interval;
        auto opened = kv::Client::Open(std::move(log), kv::NewMemoryStorage(), options);
        if (!opened) {
          fail(fmt::format("opening c{}: {}", i, opened.error().ToString()));
          return nullptr;
        }
        clients[i] = std::move(*opened);
        return clients[i].get();
    };
    auto get = [&](kv::Client& c, int process, const std::string& key, const std::string& op_id) {
      Event invoke;
      invoke.process = process;
      invoke.type = EventType::kInvoke;
      invoke.f = "get";
      invoke.key = key;
      invoke.replica = c.id();
      invoke.op = op_id;
      Event done = invoke;
      record(std::move(invoke));
      kv::ReadInfo at;
      std::string value;
      Status got = c.Get(key, &value, &at);
      if (got || got.error().code() == ErrorCode::kNotFound) {
        done.type = EventType::kOk;
        done.applied = at.position;
        if (got) done.value = Value::String(value);
      } else {
        done.type = EventType::kFail;
      }
      record(std::move(done));
    };
    std::vector<std::unique_ptr<Task>> workers;
    for (int i = 0; i < s.clients; ++i) {
      if (i == late) continue;
      workers.push_back(rt.Spawn(fmt::format("ttl process {}", i), [&, i] {
        kv::Client* opened = open(i);
        if (opened == nullptr) return;
        kv::Client& c = *opened;
        base::Rng rng = base::Rng(s.seed).Fork("ttl/process", static_cast<uint64_t>(i));
        auto uniform = [&](uint64_t n) { return rng.Below(n); };
        auto ttl = [&] {
          if (static_cast<int>(uniform(100)) >= s.ttl_percent) return Duration(0);
          return s.min_ttl + Duration(uniform(static_cast<uint64_t>((s.max_ttl - s.min_ttl).count()) + 1));
        };
        for (int n = 0; n < s.ops_per_client; ++n) {
          rt.SleepFor(Duration(uniform(static_cast<uint64_t>(s.max_think.count()) + 1)));
          const std::string key = fmt::format("k{}", uniform(static_cast<uint64_t>(s.keys)));
          const std::string op_id = fmt::format("p{}-{}", i, n);
          const int pick = static_cast<int>(uniform(100));
          if (pick < s.get_percent) {
            get(c, i, key, op_id);
            continue;
          }
          Event invoke;
          invoke.process = i;
          invoke.type = EventType::kInvoke;
          invoke.key = key;
          invoke.replica = c.id();
          invoke.op = op_id;
          Event done = invoke;
          Result<log::Offset> written;
          const kv::CallOptions call{s.op_timeout, op_id, ttl()};
          if (pick < s.get_percent + s.put_percent) {
            const std::string value = fmt::format("v{}-{}", i, n);
            invoke.f = done.f = "put";
            invoke.value = done.value = Value::String(value);
            record(invoke);
            written = c.Put(key, value, call);
          } else {
            // A cas on what this replica reads now (an expired value reads as
            // missing, but is still stored until its tombstone: then the
            // put-if-absent fails on every replica alike).
            const std::string value = fmt::format("c{}-{}", i, n);
            auto current = c.GetEntry(key);
            invoke.f = done.f = "cas";
            invoke.value = done.value =
                Value::List({current ? Value::String(current->value) : Value(), Value::String(value)});
            record(invoke);
            written = current ? c.PutIf(key, value, current->version, call) : c.PutIfAbsent(key, value, call);
            if (written || written.error().code() == ErrorCode::kConflict) done.result = written.has_value();
          }
          if (written) {
            done.type = EventType::kOk;
            done.offset = *written;
          } else if (written.error().code() == ErrorCode::kConflict) {
            done.type = EventType::kOk;
          } else {
            done.type = written.error().code() == ErrorCode::kInvalidArgument ? EventType::kFail : EventType::kInfo;
          }
          record(std::move(done));
        }
      }));
    }
    for (auto& w : workers) w->Join();
    // Let every deadline written pass, on every clock, and every janitor run
    // a few rounds after it.
    const Duration slack = SkewBound(run.skews, rt.Now().time_since_epoch() + std::chrono::seconds(10));
    rt.SleepFor(s.max_ttl + 2 * slack + 4 * s.janitor_interval + std::chrono::milliseconds(100));
    if (late >= 0) {
      // A replica that starts now replays records whose deadlines have all
      // passed, and the janitors' tombstones: it must not resurrect anything.
      if (kv::Client* c = open(late)) {
        for (int k = 0; k < s.keys; ++k) get(*c, late, fmt::format("k{}", k), fmt::format("late-{}", k));
      }
    }
    for (auto& client : clients) {
      if (!client) continue;
      if (auto synced = client->Sync(); !synced) {
        fail("final sync of " + client->id() + ": " + synced.error().ToString());
        continue;
      }
      // The stored state, expired values included: what replicas must agree on.
      checker::StateDigest digest;
      for (const kv::KeyValue& kv : client->storage().Range(kv::KeyConstraint{}, {})) {
        digest.Add(kv.key, kv::internal::DecodeStoredValue(kv.value).value);
      }
      run.history.finals.push_back(checker::FinalState{client->id(), client->AppliedPosition(), digest.Hex(), 0});
    }
    const int64_t end = rt.Now().time_since_epoch().count();
    const int64_t origin_end = rt.WallNow().time_since_epoch().count() - end;
    run.skew_bound_ns = SkewBound(run.skews, Duration(end)).count() +
                        std::abs(origin_end - origin_start) + clock_margin.count();
    // A janitor acts within 1.5 intervals of its clock passing a deadline,
    // and its clock is within the bound of true time.
    run.reclaimed_before_ns = end + origin_start - run.skew_bound_ns - 2 * s.janitor_interval.count() -
                              std::chrono::nanoseconds(std::chrono::milliseconds(50)).count();
    // What the expiry check needs, carried in the history (JSONL "expiry").
    run.history.expiry = checker::ExpiryBounds{run.skew_bound_ns, origin_start, run.reclaimed_before_ns, 0};
    for (auto& client : clients) {
      if (client) client->Close();
    }
    LogRecordTranslator translator;
    Status visited = wlog.visit([&](log::Offset offset, const log::Record& record) {
      auto records = translator.Translate(offset, record);
      if (!records) return fail("recording the log: " + records.error().ToString());
      for (auto& r : *records) run.history.log.push_back(std::move(r));
    });
    if (!visited) fail("reading the log back: " + visited.error().ToString());
    run.history.has_log = true;
  }
}

std::vector<checker::CheckReport> JudgeTtl(const TtlRun& run) {
  std::vector<checker::CheckReport> out;
  auto invalid = [&](std::string why) {
    checker::CheckReport r;
    r.checker = "history";
    r.verdict = checker::Verdict::kInvalid;
    r.summary = std::move(why);
    out.push_back(std::move(r));
    return out;
  };
  auto ops = checker::PairOperations(run.history);
  if (!ops) return invalid("the history could not be paired: " + ops.error().ToString());
  out.push_back(checker::CheckConvergence(run.history));
  // The history's time origin (live: steady to wall time; 0 on the
  // simulator), as kvcheck reads it from the JSONL: with 0, a live run's
  // operations would be judged ~50 years before their deadlines.
  const int64_t origin = run.history.expiry ? run.history.expiry->time_origin_ns : 0;
  auto expiry = checker::CheckExpiry(run.history, *ops,
                                     checker::ExpiryOptions{run.skew_bound_ns, origin, run.reclaimed_before_ns});
  if (!expiry) return invalid(expiry.error().ToString());
  out.push_back(std::move(*expiry));
  return out;
}

}  // namespace kvlog::sim
