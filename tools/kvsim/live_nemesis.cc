#include "tools/kvsim/live_nemesis.h"

#include <algorithm>

#include <fmt/format.h>

#include "sim/fault_registry.h"
#include "tools/cli/cli.h"

namespace kvlog::tools {

void AddBrokerNemesisOptions(CLI::App& app, BrokerNemesisOptions& o) {
  app.add_option("--nemesis", o.faults,
                 "with --live --brokers: broker faults on a schedule from the seed, comma-separated (see "
                 "--list-faults), e.g. kill-leader,pause-leader; the cluster must be scripts/kafka-cluster's");
  app.add_option("--cluster-script", o.script,
                 "with --nemesis: path of scripts/kafka-cluster (run with the same KVLOG_KAFKA_* environment as "
                 "the one that started the cluster)")
      ->capture_default_str();
  cli::AddNumber(app, "--nemesis-first-ms", o.first_ms, "with --nemesis: ms from the workload's start to the first fault",
                 0, 3'600'000);
  cli::AddNumber(app, "--nemesis-duration-ms", o.duration_ms,
                 "with --nemesis: a fault lasts between half this and this (ms)", 1, 3'600'000);
  cli::AddNumber(app, "--nemesis-gap-ms", o.gap_ms,
                 "with --nemesis: after recovery from a fault, between half this and this (ms) until the next", 0,
                 3'600'000);
  cli::AddNumber(app, "--nemesis-max", o.max_faults, "with --nemesis: at most this many faults (0: no limit); with a limit the clients go on past --ops until "
                 "every fault has run and healed", 0,
                 1'000'000);
  app.add_flag("--nemesis-cycle", o.cycle,
               "with --nemesis: take the faults in the order named, cycling (default: the seed draws each)");
}

std::expected<std::vector<nemesis::Fault>, std::string> BrokerFaults(const std::vector<std::string>& names) {
  std::vector<nemesis::Fault> out;
  for (const std::string& name : names) {
    if (name.empty()) continue;
    const sim::FaultSpec* f = sim::FindFault(name);
    if (f == nullptr || !f->brokers) {
      const auto known = sim::LiveFaultNames(/*mock=*/false, /*broker_nemesis=*/true);
      return std::unexpected(
          fmt::format("{} '{}'; faults on brokers: {}",
                      f == nullptr ? "unknown fault" : "no broker nemesis action for fault", name, fmt::join(known, ", ")));
    }
    out.push_back(nemesis::Fault{*f->brokers, f->name});
  }
  if (out.empty()) return std::unexpected(std::string("no broker fault named (see --list-faults)"));
  return out;
}

std::string ExplainLostWrites(const checker::FullReport& report, size_t limit) {
  struct Loss {
    std::string kind, message;
    double call_s = -1, ret_s = -1;
    std::string after;
  };
  std::vector<Loss> losses;
  size_t counted = 0;
  for (const auto& r : report.reports) {
    for (const auto& v : r.violations) {
      if (v.kind != "lost-write" && v.kind != "duplicated-write") continue;
      ++counted;
      Loss l{v.kind, v.message};
      if (!v.ops.empty() && v.ops.front() < report.ops.size()) {
        const checker::Operation& o = report.ops[v.ops.front()];
        if (o.call_time) l.call_s = static_cast<double>(*o.call_time) / 1e9;
        if (o.ret_time) l.ret_s = static_cast<double>(*o.ret_time) / 1e9;
        const int64_t at = o.ret_time.value_or(o.call_time.value_or(0));
        for (const auto& n : report.nemesis) {
          if (n.time && *n.time <= at) {
            l.after = fmt::format("{} at {:.3f} s: {}", n.f, static_cast<double>(*n.time) / 1e9, n.value);
          }
        }
      }
      losses.push_back(std::move(l));
    }
  }
  if (losses.empty()) return "";
  std::sort(losses.begin(), losses.end(), [](const Loss& a, const Loss& b) { return a.ret_s < b.ret_s; });
  std::string out = fmt::format(
      "  lost or duplicated acknowledged writes ({} reported; times from the workload's start):\n", counted);
  for (size_t i = 0; i < losses.size() && i < limit; ++i) {
    const Loss& l = losses[i];
    out += fmt::format("    invoked {:.3f} s, acknowledged {:.3f} s: {}: {}\n", l.call_s, l.ret_s, l.kind, l.message);
    if (!l.after.empty()) out += fmt::format("      last nemesis action before: {}\n", l.after);
  }
  return out + fmt::format("    acknowledged between {:.3f} s and {:.3f} s\n", losses.front().ret_s, losses.back().ret_s);
}

ScriptBrokerNemesis::~ScriptBrokerNemesis() {
  if (nemesis_) nemesis_->Stop();
}

std::expected<std::vector<std::string>, std::string> ScriptBrokerNemesis::FaultList(const std::string& list) {
  std::vector<std::string> split;
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    split.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  auto faults = BrokerFaults(split);
  KVLOG_RETURN_IF_ERROR(faults);
  std::vector<std::string> names;
  for (const auto& f : *faults) names.push_back(f.Name());
  return names;
}

std::vector<std::string> ScriptBrokerNemesis::FaultNames() const {
  std::vector<std::string> names;
  for (const sim::FaultSpec& f : sim::Faults()) {
    if (f.brokers) names.push_back(f.name);
  }
  return names;
}

Status ScriptBrokerNemesis::Start(const sim::live::BrokerNemesisContext& context) {
  nemesis_.reset();
  control_.reset();
  records_.clear();
  auto faults = BrokerFaults(context.faults);
  if (!faults) return MakeError(ErrorCode::kInvalidArgument, fmt::format("--nemesis: {}", faults.error()));
  auto control = nemesis::ScriptControl(
      {.script = flags_.script, .bootstrap = context.brokers, .topic = context.topic, .properties = properties_});
  if (!control) return MakeError(ErrorCode::kUnavailable, fmt::format("--nemesis: {}", control.error()));
  const bool partitions =
      std::any_of(faults->begin(), faults->end(), [](const nemesis::Fault& f) { return f.NeedsNetns(); });
  if (partitions && !(*control)->CanPartition()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--nemesis: partition faults need a cluster started with 'kafka-cluster start --netns' (each "
                     "broker in its own network namespace); this one runs on loopback");
  }
  nemesis::ScheduleOptions s;
  s.seed = context.seed;
  s.first_delay = std::chrono::milliseconds(flags_.first_ms);
  s.max_duration = std::chrono::milliseconds(flags_.duration_ms);
  s.min_duration = std::chrono::milliseconds(flags_.duration_ms / 2);
  s.max_gap = std::chrono::milliseconds(flags_.gap_ms);
  s.min_gap = std::chrono::milliseconds(flags_.gap_ms / 2);
  s.max_faults = flags_.max_faults;
  s.cycle = flags_.cycle;
  s.on_record = context.record;
  control_ = std::move(*control);
  nemesis_ = std::make_unique<nemesis::BrokerNemesis>(*control_, std::move(*faults), s);
  // The schedule (first_delay first) begins once every client has connected,
  // so that no fault hits a client starting.
  nemesis_->Start(/*wait_for_go=*/true);
  return {};
}

void ScriptBrokerNemesis::ClientsConnected() {
  if (nemesis_) nemesis_->Go();
}

bool ScriptBrokerNemesis::Busy() const {
  return nemesis_ != nullptr && flags_.max_faults > 0 && !nemesis_->ScheduleDone();
}

Status ScriptBrokerNemesis::Stop() {
  if (!nemesis_) return {};
  nemesis_->Stop();
  records_ = nemesis_->Records();
  return {};
}

std::string ScriptBrokerNemesis::Account() const {
  return fmt::format("  broker nemesis: {} faults (times from the workload's start)\n{}", records_.size(),
                     nemesis::Describe(records_));
}

}  // namespace kvlog::tools
