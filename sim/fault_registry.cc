#include "sim/fault_registry.h"

#include <algorithm>
#include <fmt/format.h>

#include "sim/scenario.h"

namespace kvlog::sim {
namespace {

using namespace std::chrono_literals;
using log::sim::Duration;
using log::sim::Window;
using Step = MockStep;
using Items = std::vector<std::string>;

int64_t Ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// Client slot faults, growing the list to `n` slots (slot i uses i % size).
std::vector<log::sim::ConnectionFaults>& Slots(Scenario& s, std::size_t n) {
  if (s.slot_faults.size() < n) s.slot_faults.resize(n);
  return s.slot_faults;
}

bool AnySlot(const Scenario& s, const std::function<bool(const log::sim::ConnectionFaults&)>& pred) {
  return std::any_of(s.slot_faults.begin(), s.slot_faults.end(), pred);
}

void Add(std::vector<checker::NemesisEvent>& out, Duration at, std::string f, std::string value) {
  checker::NemesisEvent n;
  n.f = std::move(f);
  n.value = std::move(value);
  n.time = at.count();
  out.push_back(std::move(n));
}

// Each slot's windows of one kind as start/stop nemesis events.
void PlanSlotWindows(const Scenario& s, std::vector<checker::NemesisEvent>& out,
                     std::vector<Window> log::sim::ConnectionFaults::*windows, const std::string& open,
                     const std::string& close, const std::string& what) {
  if (s.slot_faults.empty()) return;
  for (int slot = 0; slot < s.workload.clients; ++slot) {
    const auto& faults = s.slot_faults[static_cast<std::size_t>(slot) % s.slot_faults.size()];
    const std::string value = fmt::format("client slot {}{}", slot, what);
    for (const Window& w : faults.*windows) {
      Add(out, w.start, fmt::format("{}-{}", open, slot), value);
      Add(out, w.start + w.length, fmt::format("{}-{}", close, slot), value);
    }
  }
}

// Failovers: `count` at times drawn in [100, 1500) ms, sorted; the preset's
// 300 and 700 ms without rng.
std::vector<Duration> FailoverTimes(base::Rng* rng, Items& items) {
  if (!rng) return {300ms, 700ms};
  std::vector<Duration> at;
  const int count = static_cast<int>(rng->Between(1, 3));
  for (int i = 0; i < count; ++i) at.push_back(std::chrono::milliseconds(rng->Between(100, 1500)));
  std::sort(at.begin(), at.end());
  std::vector<int64_t> ms;
  for (Duration d : at) ms.push_back(Ms(d));
  items.push_back(fmt::format("failovers_ms={}", fmt::join(ms, "/")));
  return at;
}

Duration ReplicationDelay(base::Rng* rng, Items& items) {
  if (!rng) return 5ms;
  Duration d = std::chrono::milliseconds(rng->Between(1, 20));
  items.push_back(fmt::format("replication_delay_ms={}", Ms(d)));
  return d;
}

double Probability(base::Rng* rng, double preset, double lo, double hi, const std::string& name, Items& items) {
  if (!rng) return preset;
  double p = lo + (hi - lo) * rng->Unit();
  p = static_cast<double>(static_cast<int64_t>(p * 1000)) / 1000;  // Printable as given.
  items.push_back(fmt::format("{}={:.3f}", name, p));
  return p;
}

// A window of `name`: start in [lo, hi) ms, length in [min_len, max_len] ms.
Window DrawWindow(base::Rng* rng, Window preset, int64_t lo, int64_t hi, int64_t min_len, int64_t max_len,
                  const std::string& name, Items& items) {
  if (!rng) return preset;
  Window w{std::chrono::milliseconds(rng->Between(lo, hi - 1)), std::chrono::milliseconds(rng->Between(min_len, max_len))};
  items.push_back(fmt::format("{}_ms={}+{}", name, Ms(w.start), Ms(w.length)));
  return w;
}

int DrawSlot(base::Rng* rng, const Scenario& s, int preset, const std::string& name, Items& items) {
  if (!rng) return preset;
  int slot = static_cast<int>(rng->Below(static_cast<uint64_t>(std::max(1, s.workload.clients))));
  items.push_back(fmt::format("{}={}", name, slot));
  return slot;
}

void PlanFailovers(const Scenario& s, std::vector<checker::NemesisEvent>& out) {
  for (Duration at : s.broker.failovers) {
    Add(out, at, "failover",
        s.broker.unclean_election                   ? "unclean leader election"
        : s.broker.acks == log::sim::Acks::kLeader ? "leader failover, acks=1"
                                                   : "leader failover");
  }
}

std::vector<Step> ProduceErrors(std::initializer_list<int> at_ms, Step::Error error, int count) {
  std::vector<Step> steps;
  for (int t : at_ms) steps.push_back({std::chrono::milliseconds(t), Step::Action::kProduceErrors, count, error});
  return steps;
}

std::vector<FaultSpec> MakeFaults() {
  std::vector<FaultSpec> f;
  f.push_back({
      .name = "latency",
      .aliases = {"append-latency"},
      .description = "append latency 2 ms plus up to 3 ms jitter (mock: 3 ms round trip)",
      .safe = true,
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.append_latency = rng ? std::chrono::milliseconds(rng->Between(0, 10)) : Duration(2ms);
            s.broker.append_jitter = rng ? std::chrono::milliseconds(rng->Between(1, 10)) : Duration(3ms);
            if (rng) {
              items.push_back(fmt::format("append_latency_ms={}", Ms(s.broker.append_latency)));
              items.push_back(fmt::format("append_jitter_ms={}", Ms(s.broker.append_jitter)));
            }
            return items;
          },
      .on = [](const Scenario& s) { return s.broker.append_latency.count() > 0 || s.broker.append_jitter.count() > 0; },
      .mock = [] { return std::vector<Step>{{0ms, Step::Action::kSetRtt, 3}}; },
  });
  f.push_back({
      .name = "lagging-reader",
      .description = "odd client slots see records 20 ms late",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            Duration lag = rng ? std::chrono::milliseconds(rng->Between(1, 100)) : Duration(20ms);
            if (rng) items.push_back(fmt::format("reader_lag_ms={}", Ms(lag)));
            Slots(s, 2)[1].reader_lag = lag;
            return items;
          },
      .on = [](const Scenario& s) { return AnySlot(s, [](const auto& c) { return c.reader_lag.count() > 0; }); },
  });
  f.push_back({
      .name = "paused-reader",
      .description = "client slot 1's reader returns nothing from 100 to 400 ms",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            Window w = DrawWindow(rng, {100ms, 300ms}, 0, 1500, 50, 800, "reader_pause", items);
            Slots(s, 2)[1].reader_pauses.push_back(w);
            return items;
          },
      .on = [](const Scenario& s) { return AnySlot(s, [](const auto& c) { return !c.reader_pauses.empty(); }); },
      .plan =
          [](const Scenario& s, std::vector<checker::NemesisEvent>& out) {
            PlanSlotWindows(s, out, &log::sim::ConnectionFaults::reader_pauses, "pause-reader", "resume-reader",
                            "'s reader");
          },
  });
  f.push_back({
      .name = "client-partition",
      .description = "client slot 1 is cut off from the log from 150 to 450 ms: its appends, reads and end "
                     "offsets stall while the other clients go on",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            const int slot = DrawSlot(rng, s, 1, "partitioned_slot", items);
            Window w = DrawWindow(rng, {150ms, 300ms}, 0, 1500, 50, 1000, "partition", items);
            s.client_partitions.push_back({slot, w});
            return items;
          },
      .on = [](const Scenario& s) { return !s.client_partitions.empty(); },
      .plan =
          [](const Scenario& s, std::vector<checker::NemesisEvent>& out) {
            for (const ClientPartition& p : s.client_partitions) {
              if (p.slot >= s.workload.clients) continue;  // No such client: nothing happens.
              const std::string value = fmt::format("client slot {} cut off from the log", p.slot);
              Add(out, p.window.start, fmt::format("start-partition-{}", p.slot), value);
              Add(out, p.window.start + p.window.length, fmt::format("stop-partition-{}", p.slot), value);
            }
          },
  });
  f.push_back({
      .name = "clock-skew",
      .description = "each client's wall clock is off true time: even slots +40 ms drifting +300 ppm, odd slots "
                     "-25 ms drifting -500 ppm (steady time is shared). Safe for every simulator workload: kvlog "
                     "reads the wall clock only for TTLs, which they do not use; with TTLs expiry holds only within "
                     "the skew bound the check is given (the ttl workload's own clock skew)",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            if (!rng) {
              s.workload.clock_skews = {{40ms, 300}, {-25ms, -500}};
              return items;
            }
            const Duration max_offset = std::chrono::milliseconds(rng->Between(1, 5000));
            const int64_t max_drift_ppm = rng->Between(0, 20'000);
            s.workload.clock_skews =
                DrawClockSkews(rng->Next(), std::max(1, s.workload.clients), max_offset, max_drift_ppm);
            items.push_back(fmt::format("max_offset_ms={}", Ms(max_offset)));
            items.push_back(fmt::format("max_drift_ppm={}", max_drift_ppm));
            std::string each;
            for (const ClockSkew& k : s.workload.clock_skews) {
              each += fmt::format("{}{:+}us{:+}ppm", each.empty() ? "" : "/",
                                  std::chrono::duration_cast<std::chrono::microseconds>(k.offset).count(),
                                  k.drift_ppm);
            }
            items.push_back(fmt::format("skews={}", each));
            return items;
          },
      .on = [](const Scenario& s) { return !s.workload.clock_skews.empty(); },
  });
  f.push_back({
      .name = "slow-applier",
      .description = "client slot 1's applier takes 1 ms per record (a slow on_set hook or disk): its writes and "
                     "reads fall behind the log while the other clients go on",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            SlotFaults slow{DrawSlot(rng, s, 1, "slow_slot", items), {}};
            slow.faults.delivery_delay_per_record =
                rng ? Duration(std::chrono::microseconds(rng->Between(10, 3000))) : Duration(1ms);
            if (rng) {
              items.push_back(fmt::format(
                  "per_record_us={}",
                  std::chrono::duration_cast<std::chrono::microseconds>(slow.faults.delivery_delay_per_record).count()));
            }
            s.client_faults.push_back(std::move(slow));
            return items;
          },
      .on =
          [](const Scenario& s) {
            return std::any_of(s.client_faults.begin(), s.client_faults.end(),
                               [](const SlotFaults& f) { return f.faults.delivery_delay_per_record.count() > 0; });
          },
  });
  f.push_back({
      .name = "stalled-applier",
      .description = "client slot 1's applier stalls from 200 to 600 ms (a hook blocked on I/O): it applies "
                     "nothing, its writes and bounded reads wait, the other clients go on",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            SlotFaults stall{DrawSlot(rng, s, 1, "stalled_slot", items), {}};
            stall.faults.applier_stalls.push_back(DrawWindow(rng, {200ms, 400ms}, 0, 1500, 20, 1500, "stall", items));
            s.client_faults.push_back(std::move(stall));
            return items;
          },
      .on =
          [](const Scenario& s) {
            return std::any_of(s.client_faults.begin(), s.client_faults.end(),
                               [](const SlotFaults& f) { return !f.faults.applier_stalls.empty(); });
          },
      .plan =
          [](const Scenario& s, std::vector<checker::NemesisEvent>& out) {
            for (const SlotFaults& f : s.client_faults) {
              if (f.slot >= s.workload.clients) continue;  // No such client: nothing happens.
              const std::string value = fmt::format("client slot {}'s applier stalled", f.slot);
              for (const Window& w : f.faults.applier_stalls) {
                Add(out, w.start, fmt::format("start-applier-stall-{}", f.slot), value);
                Add(out, w.start + w.length, fmt::format("stop-applier-stall-{}", f.slot), value);
              }
            }
          },
  });
  f.push_back({
      .name = "lost-ack",
      .description = "10% of appends commit but lose their ack; the idempotent producer retries",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.lost_ack_probability = Probability(rng, 0.1, 0.01, 0.3, "lost_ack_probability", items);
            s.broker.idempotent_producer = true;
            return items;
          },
      .on = [](const Scenario& s) { return s.broker.lost_ack_probability > 0 && s.broker.idempotent_producer; },
      .mock = [] { return ProduceErrors({150, 450, 850}, Step::Error::kRequestTimedOut, 1); },
  });
  f.push_back({
      .name = "lost-ack-no-idempotence",
      .aliases = {"lost-ack-without-idempotence"},
      .description = "as lost-ack, with idempotence off: retries commit duplicates",
      .safe = false,
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.lost_ack_probability = Probability(rng, 0.1, 0.01, 0.3, "lost_ack_probability", items);
            s.broker.idempotent_producer = false;
            return items;
          },
      .on = [](const Scenario& s) { return s.broker.lost_ack_probability > 0 && !s.broker.idempotent_producer; },
  });
  f.push_back({
      .name = "failed-append",
      .description = "5% of appends fail without committing",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.failed_append_probability = Probability(rng, 0.05, 0.01, 0.2, "failed_append_probability", items);
            return items;
          },
      .on = [](const Scenario& s) { return s.broker.failed_append_probability > 0; },
      .mock = [] { return ProduceErrors({100, 400, 800}, Step::Error::kNotEnoughReplicas, 2); },
  });
  f.push_back({
      .name = "outage",
      .aliases = {"pause-all"},
      .description = "the broker is unreachable from 200 to 500 ms (on the mock a retry can commit a duplicate, "
                     "which every replica skips; brokers: every broker SIGSTOPped for the fault's duration, then "
                     "SIGCONT)",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.outages.push_back(DrawWindow(rng, {200ms, 300ms}, 0, 1500, 20, 800, "outage", items));
            return items;
          },
      .on = [](const Scenario& s) { return !s.broker.outages.empty(); },
      .plan =
          [](const Scenario& s, std::vector<checker::NemesisEvent>& out) {
            for (const Window& w : s.broker.outages) {
              Add(out, w.start, "start-outage", "broker unreachable");
              Add(out, w.start + w.length, "stop-outage", "broker unreachable");
            }
          },
      .mock =
          [] {
            return std::vector<Step>{{200ms, Step::Action::kBrokersDown}, {500ms, Step::Action::kBrokersUp}};
          },
      .brokers = BrokerFault{BrokerFault::Kind::kPause, BrokerFault::Target::kAll},
      .related = {"kill-leader", "pause-leader", "partition-leader"},
  });
  f.push_back({
      .name = "replication-delay",
      .description = "acks=all with 5 ms replication: appends are acknowledged and readable 5 ms after they commit",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.acks = log::sim::Acks::kAll;
            s.broker.replication_delay = ReplicationDelay(rng, items);
            return items;
          },
      .on = [](const Scenario& s) { return s.broker.replication_delay.count() > 0 && s.broker.failovers.empty(); },
  });
  f.push_back({
      .name = "failover",
      .aliases = {"elect"},
      .description = "acks=all, 5 ms replication, leader failovers at 300 and 700 ms (mock: the leader moves to "
                     "broker 2, then 1; brokers: a forced clean leader election, kafka-cluster elect, on the "
                     "nemesis's schedule)",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.acks = log::sim::Acks::kAll;
            s.broker.replication_delay = ReplicationDelay(rng, items);
            s.broker.failovers = FailoverTimes(rng, items);
            return items;
          },
      .on =
          [](const Scenario& s) {
            return !s.broker.failovers.empty() && !s.broker.unclean_election && s.broker.acks == log::sim::Acks::kAll;
          },
      .plan =
          [](const Scenario& s, std::vector<checker::NemesisEvent>& out) {
            if (!s.broker.unclean_election && s.broker.acks == log::sim::Acks::kAll) PlanFailovers(s, out);
          },
      .mock =
          [] {
            return std::vector<Step>{{300ms, Step::Action::kSetLeader, 2}, {700ms, Step::Action::kSetLeader, 1}};
          },
      .brokers = BrokerFault{BrokerFault::Kind::kElect},
      .related = {"kill-leader", "pause-leader", "partition-leader"},
  });
  f.push_back({
      .name = "failover-acks1",
      .description = "acks=1, 5 ms replication, failovers truncate the unreplicated tail",
      .safe = false,
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.acks = log::sim::Acks::kLeader;
            s.broker.replication_delay = ReplicationDelay(rng, items);
            s.broker.failovers = FailoverTimes(rng, items);
            return items;
          },
      .on =
          [](const Scenario& s) {
            return !s.broker.failovers.empty() && !s.broker.unclean_election &&
                   s.broker.acks == log::sim::Acks::kLeader;
          },
      .plan =
          [](const Scenario& s, std::vector<checker::NemesisEvent>& out) {
            if (!s.broker.unclean_election && s.broker.acks == log::sim::Acks::kLeader) PlanFailovers(s, out);
          },
  });
  f.push_back({
      .name = "unclean-failover",
      .description = "unclean leader election: failovers lose up to 3 replicated records",
      .safe = false,
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.replication_delay = ReplicationDelay(rng, items);
            s.broker.failovers = FailoverTimes(rng, items);
            s.broker.unclean_election = true;
            if (rng) {
              s.broker.unclean_max_loss = rng->Between(1, 5);
              items.push_back(fmt::format("unclean_max_loss={}", s.broker.unclean_max_loss));
            }
            return items;
          },
      .on = [](const Scenario& s) { return !s.broker.failovers.empty() && s.broker.unclean_election; },
      .plan =
          [](const Scenario& s, std::vector<checker::NemesisEvent>& out) {
            if (s.broker.unclean_election) PlanFailovers(s, out);
          },
      .related = {"kill-lone-leader"},
  });
  auto compaction = [](Duration lag) {
    return [lag](Scenario& s, base::Rng* rng) {
      Items items;
      s.broker.compaction_interval = rng ? std::chrono::milliseconds(rng->Between(20, 300)) : Duration(100ms);
      s.broker.min_compaction_lag = lag;
      s.broker.tombstone_retention = rng ? std::chrono::milliseconds(rng->Between(50, 1000)) : Duration(200ms);
      if (rng) {
        items.push_back(fmt::format("compaction_interval_ms={}", Ms(s.broker.compaction_interval)));
        items.push_back(fmt::format("tombstone_retention_ms={}", Ms(s.broker.tombstone_retention)));
      }
      return items;
    };
  };
  f.push_back({
      .name = "compaction",
      .description = "compaction every 100 ms of records older than 1 s, tombstones kept 200 ms",
      .apply = compaction(1s),
      .on = [](const Scenario& s) { return s.broker.compaction_interval.count() > 0 && s.broker.min_compaction_lag.count() > 0; },
  });
  f.push_back({
      .name = "compaction-without-lag",
      .description = "compaction every 100 ms with min.compaction.lag 0 (Kafka's default); shows with lagging-reader",
      .safe = false,
      .apply = compaction(0ms),
      .on = [](const Scenario& s) {
        return s.broker.compaction_interval.count() > 0 && s.broker.min_compaction_lag.count() == 0;
      },
  });
  f.push_back({
      .name = "corrupt",
      .aliases = {"corrupt-record"},
      .description = "2% of records are stored damaged; every replica skips them",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.broker.corrupt_probability = Probability(rng, 0.02, 0.005, 0.1, "corrupt_probability", items);
            return items;
          },
      .on = [](const Scenario& s) { return s.broker.corrupt_probability > 0; },
  });
  f.push_back({
      .name = "crash",
      .description = "two client crash-and-restart events in the first second",
      .apply =
          [](Scenario& s, base::Rng* rng) {
            Items items;
            s.workload.crashes = rng ? static_cast<int>(rng->Between(1, 5)) : 2;
            s.workload.crash_window = rng ? std::chrono::milliseconds(rng->Between(200, 2000)) : Duration(1s);
            if (rng) {
              items.push_back(fmt::format("crashes={}", s.workload.crashes));
              items.push_back(fmt::format("crash_window_ms={}", Ms(s.workload.crash_window)));
            }
            return items;
          },
      .on = [](const Scenario& s) { return s.workload.crashes > 0; },
      .mock = [] { return std::vector<Step>{}; },  // The workload crashes its own clients.
      .client_side = true,
  });
  // Real brokers only: the broker nemesis's faults (nemesis/). Each lasts a
  // duration the schedule draws; `related` names the simulator's models: a
  // fault that hits the leader moves the leadership (failover) after the
  // partition is unavailable for a while (outage); one that hits a follower
  // slows replication (replication-delay).
  using Kind = BrokerFault::Kind;
  using Target = BrokerFault::Target;
  auto broker = [&f](std::string name, std::string description, Kind kind, Target target,
                     std::vector<std::string> related, bool safe = true) {
    f.push_back({.name = std::move(name),
                 .description = std::move(description),
                 .safe = safe,
                 .brokers = BrokerFault{kind, target},
                 .related = std::move(related)});
  };
  broker("kill-leader", "SIGKILL the partition leader, restart it after the fault's duration", Kind::kKill,
         Target::kLeader, {"failover", "outage"});
  broker("kill-random", "SIGKILL a random broker, restart it after the fault's duration", Kind::kKill,
         Target::kRandom, {"failover", "replication-delay"});
  broker("kill-minority", "SIGKILL a random minority of the brokers (1 of 3), restart them after the duration",
         Kind::kKill, Target::kMinority, {"failover", "replication-delay"});
  broker("pause-leader", "SIGSTOP the partition leader, SIGCONT after the fault's duration", Kind::kPause,
         Target::kLeader, {"failover", "outage"});
  broker("pause-random", "SIGSTOP a random broker, SIGCONT after the fault's duration", Kind::kPause,
         Target::kRandom, {"failover", "replication-delay"});
  broker("pause-minority", "SIGSTOP a random minority of the brokers, SIGCONT after the duration", Kind::kPause,
         Target::kMinority, {"failover", "replication-delay"});
  broker("partition-leader",
         "cut the leader off the other brokers and the controllers (clients still reach it), heal after the "
         "duration; needs a cluster started with --netns",
         Kind::kPartition, Target::kLeader, {"failover", "outage"});
  broker("partition-random", "cut a random broker off the other nodes, heal after the duration; needs --netns",
         Kind::kPartition, Target::kRandom, {"failover", "replication-delay"});
  broker("partition-minority",
         "cut a random minority of the brokers off the rest, heal after the duration; needs --netns",
         Kind::kPartition, Target::kMinority, {"failover", "replication-delay"});
  broker("kill-lone-leader",
         "SIGSTOP the followers until the ISR is the leader alone, SIGKILL the leader, SIGCONT the followers (only "
         "an unclean election gives a leader), restart the old leader after the duration; needs --controllers 3. "
         "Meant for min.insync.replicas=1 with unclean.leader.election.enable, which lose acknowledged writes",
         Kind::kLoneLeader, Target::kLeader, {"unclean-failover"}, /*safe=*/false);
  return f;
}

}  // namespace

const std::vector<FaultSpec>& Faults() {
  static const auto* faults = new std::vector<FaultSpec>(MakeFaults());
  return *faults;
}

const FaultSpec* FindFault(std::string_view name) {
  for (const FaultSpec& f : Faults()) {
    if (f.name == name || std::find(f.aliases.begin(), f.aliases.end(), name) != f.aliases.end()) return &f;
  }
  return nullptr;
}

bool RunsOn(const FaultSpec& f, Site site) {
  switch (site) {
    case Site::kSim:
      return static_cast<bool>(f.apply);
    case Site::kMock:
      return static_cast<bool>(f.mock);
    case Site::kBrokers:
      return f.client_side || f.brokers.has_value();
  }
  return false;
}

std::vector<std::string> SafeFaultNames(Site site) {
  std::vector<std::string> out;
  for (const FaultSpec& f : Faults()) {
    if (f.safe && RunsOn(f, site)) out.push_back(f.name);
  }
  return out;
}

std::vector<std::string> LiveFaultNames(bool mock, bool broker_nemesis) {
  std::vector<std::string> out;
  for (const FaultSpec& f : Faults()) {
    const bool runs = mock ? RunsOn(f, Site::kMock) : f.client_side || (broker_nemesis && f.brokers);
    if (runs) out.push_back(f.name);
  }
  return out;
}

std::string FaultSites(const FaultSpec& f) {
  std::vector<std::string_view> sites;
  if (RunsOn(f, Site::kSim)) sites.push_back("sim");
  if (RunsOn(f, Site::kMock)) sites.push_back("mock");
  if (RunsOn(f, Site::kBrokers)) sites.push_back("brokers");
  return fmt::format("{}", fmt::join(sites, ", "));
}

std::vector<std::string> FaultsOn(const Scenario& s) {
  std::vector<std::string> out;
  for (const FaultSpec& f : Faults()) {
    if (f.on && f.on(s)) out.push_back(f.name);
  }
  return out;
}

std::string UnknownFaultMessage(std::string_view name) {
  std::vector<std::string_view> known;
  for (const FaultSpec& f : Faults()) known.push_back(f.name);
  return fmt::format("unknown fault '{}'; known faults: {}", name, fmt::join(known, ", "));
}

}  // namespace kvlog::sim
