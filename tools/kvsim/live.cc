#include "tools/kvsim/live.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/report.h"
#include "tools/cli/cli.h"

namespace kvlog::tools {
namespace {

void WriteOrWarn(const std::string& path, const std::string& text, bool& ok) {
  if (auto w = cli::WriteFile(path, text); !w) {
    fmt::print(stderr, "live run: {}\n", w.error());
    ok = false;
  }
}

}  // namespace

void AddLiveOptions(CLI::App& app, LiveOptions& o, const std::string& live, const std::string& on_brokers) {
  app.add_option("--brokers", o.brokers,
                 fmt::format("{}: bootstrap servers of a real cluster (default: an embedded 3-broker mock)", live));
  app.add_option("--topic", o.topic,
                 fmt::format("{}: the topic to create and use, which must not exist yet (default: kvsim-live-SEED-STAMP)", on_brokers));
  app.add_flag("--keep-topic", o.keep_topic, fmt::format("{}: keep the topic at the end (default: delete it)", on_brokers));
  cli::AddNumber(app, "--replication-factor", o.replication_factor,
                 fmt::format("{}: replication factor of the topic (0: the cluster's default.replication.factor; "
                 "on the mock min(3, brokers))", live),
                 0, 1000);
  cli::AddKeyValues(app, "-X", o.properties,
                    fmt::format("{}: a librdkafka property for every client handle, repeatable (e.g. -X linger.ms=0)", live));
  cli::AddKeyValues(app, "--topic-config", o.topic_configs,
                    fmt::format("{}: a config of the created topic, repeatable (e.g. "
                    "--topic-config min.insync.replicas=2), over cleanup.policy=compact,min.compaction.lag.ms=300000", on_brokers));
  app.add_flag("--allow-unsafe-acks", o.allow_unsafe_acks,
               fmt::format("{}: accept -X acks other than all or enable.idempotence=false (they can lose "
               "acknowledged writes; the checker will say so)", live));
  auto* timeout = app.add_option_function<std::string>(
      "--connect-timeout-ms",
      [&o](const std::string& text) {
        auto ms = cli::ParseInt(text, 1, 600'000);
        if (!ms) throw CLI::ValidationError("--connect-timeout-ms", ms.error());
        o.connect_timeout = std::chrono::milliseconds(*ms);
      },
      fmt::format("{}: how long to wait for the brokers before exiting 3", on_brokers));
  timeout->type_name("INT")->default_str(fmt::format("{}", o.connect_timeout.count()));
  AddBrokerNemesisOptions(app, o.nemesis_flags);
  o.broker_nemesis = std::make_shared<ScriptBrokerNemesis>(o.nemesis_flags, o.properties);
}

int RunLive(const sim::Scenario& given, const LiveOptions& options) {
  using Kind = sim::live::LiveResult::Kind;
  // --nemesis names broker faults: they join the run's faults (sim::live hands
  // them to the broker nemesis), after a check that names what is wrong.
  sim::Scenario scenario = given;
  const auto* broker_nemesis = dynamic_cast<const ScriptBrokerNemesis*>(options.broker_nemesis.get());
  if (!options.nemesis_flags.faults.empty()) {
    if (options.brokers.empty()) {
      fmt::print(stderr, "live run: --nemesis needs --brokers (a cluster run by scripts/kafka-cluster); on the "
                         "mock use --faults\n");
      return cli::kExitUsage;
    }
    auto names = ScriptBrokerNemesis::FaultList(options.nemesis_flags.faults);
    if (!names) {
      fmt::print(stderr, "live run: --nemesis: {}\n", names.error());
      return cli::kExitUsage;
    }
    for (const auto& n : *names) {
      if (std::find(scenario.fault_names.begin(), scenario.fault_names.end(), n) == scenario.fault_names.end()) {
        scenario.fault_names.push_back(n);
      }
    }
  }
  sim::live::LiveOptions run_options = options;
  if (options.print) {
    run_options.say = [](const std::string& line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
  }
  cli::InstallInterruptHandler();
  sim::live::LiveResult result = sim::live::RunLive(scenario, run_options);
  for (const auto& w : result.warnings) fmt::print(stderr, "live run: {}\n", w);
  if (result.kind == Kind::kUsage || result.kind == Kind::kEnvironment) {
    fmt::print(stderr, "live run: {}\n", result.message);
    return result.kind == Kind::kUsage ? cli::kExitUsage : cli::kExitEnvironment;
  }
  const sim::SimRun& run = result.run;
  if (options.print) {
    fmt::print("live seed {} on {}: {}\n{}", scenario.seed, result.where,
               result.kind == Kind::kPassed   ? "PASS"
               : result.kind == Kind::kFailed ? "FAIL"
                                              : "NOT COMPLETED",
               sim::Describe(run, result.report));
    if (broker_nemesis != nullptr && broker_nemesis->Ran()) {
      fmt::print("{}{}", broker_nemesis->Account(), ExplainLostWrites(result.report));
    }
    fmt::print("  {:.3f} s wall, {:.0f} ops/s\n", run.wall_seconds,
               (run.workload.ops_completed + run.workload.ops_unknown) / std::max(run.wall_seconds, 1e-9));
  }
  bool written = true;
  if (!options.out_path.empty()) WriteOrWarn(options.out_path, checker::WriteJsonl(run.history), written);
  if (!options.edn_path.empty()) {
    auto edn = checker::WriteJepsenEdn(run.history);
    if (edn) {
      WriteOrWarn(options.edn_path, *edn, written);
    } else {
      fmt::print(stderr, "live run: cannot write EDN: {}\n", edn.error().ToString());
      written = false;
    }
  }
  if (!options.html_path.empty()) WriteOrWarn(options.html_path, checker::HtmlReport(result.report), written);
  if (!options.text_path.empty()) WriteOrWarn(options.text_path, checker::TextReport(result.report), written);
  if (!options.json_path.empty()) WriteOrWarn(options.json_path, checker::JsonReport(result.report), written);
  if (cli::Interrupted()) return cli::kExitInterrupted;
  if (result.kind == Kind::kFailed) return cli::kExitFailed;
  if (result.kind == Kind::kNotCompleted) {
    fmt::print(stderr, "live run: the run could not be completed (no check failed): {}\n", result.message);
    return cli::kExitEnvironment;
  }
  return written ? cli::kExitOk : cli::kExitEnvironment;
}

}  // namespace kvlog::tools
