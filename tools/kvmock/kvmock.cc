// kvmock: starts a librdkafka mock Kafka cluster on loopback, creates the
// topics named by --topic (default: kvlog) with one partition each, prints the
// bootstrap address on stdout and stays up until SIGINT or SIGTERM.
//
//   $ kvmock --brokers 3 --topic kvlog --topic users &
//   127.0.0.1:37421,127.0.0.1:40013,127.0.0.1:35517
//   $ kvctl --brokers 127.0.0.1:37421 --topic users put user/1 ada
//
// The mock has no CreateTopics API, and a topic a client makes by using it
// gets 4 partitions, which kvlog refuses: name every topic here. See DESIGN.md.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "log/kafka/mock_cluster.h"
#include "tools/cli/cli.h"

int main(int argc, char** argv) {
  using kvlog::log::kafka::MockCluster;
  namespace cli = kvlog::cli;
  CLI::App app{"kvmock: an embedded Kafka mock cluster (librdkafka) on loopback, until SIGINT/SIGTERM", "kvmock"};
  cli::Setup(app, {{cli::kExitOk, "success: stopped by SIGINT or SIGTERM"},
                   {cli::kExitEnvironment, "the mock cluster or a topic could not be made"}});
  MockCluster::Options options;
  std::vector<std::string> topics = {options.topic};
  cli::AddNumber(app, "--brokers", options.brokers, "number of brokers", 1, MockCluster::kMaxBrokers);
  app.add_option("--topic", topics, "a topic to create, repeatable (kvlog clients need theirs made here)")
      ->allow_extra_args(false);
  cli::AddNumber(app, "--partitions", options.partitions, "partitions of each topic (kvlog needs 1)", 1, 10'000);
  cli::AddNumber(app, "--replication-factor", options.replication_factor, "replication factor (0: min(3, brokers))",
                 0, MockCluster::kMaxBrokers);
  if (auto rc = cli::Parse(app, argc, argv)) return *rc;
  topics.erase(std::remove(topics.begin(), topics.end(), std::string()), topics.end());
  if (std::set<std::string>(topics.begin(), topics.end()).size() != topics.size()) {
    return cli::UsageError(app, "--topic names a topic twice");
  }
  if (options.replication_factor > options.brokers) {
    return cli::UsageError(app, fmt::format("--replication-factor {} exceeds --brokers {}",
                                            options.replication_factor, options.brokers));
  }
  options.topic = topics.empty() ? "" : topics.front();

  // Block the signals before librdkafka starts threads, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto cluster = MockCluster::Start(options);
  if (!cluster) {
    std::cerr << "kvmock: " << cluster.error().ToString() << "\n";
    return cli::kExitEnvironment;
  }
  const int rf = options.replication_factor > 0 ? options.replication_factor : std::min(3, options.brokers);
  for (std::size_t i = 1; i < topics.size(); ++i) {
    if (auto made = (*cluster)->CreateTopic(topics[i], options.partitions, rf); !made) {
      std::cerr << "kvmock: topic '" << topics[i] << "': " << made.error().ToString() << "\n";
      return cli::kExitEnvironment;
    }
  }
  std::cout << (*cluster)->bootstrap() << std::endl;
  std::string names;
  for (const auto& t : topics) names += (names.empty() ? "'" : ", '") + t + "'";
  std::cerr << "kvmock: " << options.brokers << " broker(s), topic(s) " << (names.empty() ? "none" : names)
            << " with " << options.partitions << " partition(s); stop with SIGINT or SIGTERM\n";
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "kvmock: stopping on signal " << received << "\n";
  cluster->reset();
  return cli::kExitOk;
}
