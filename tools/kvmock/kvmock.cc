// kvmock: starts a librdkafka mock Kafka cluster on loopback, creates the
// kvlog topic with one partition, prints the bootstrap address on stdout and
// stays up until SIGINT or SIGTERM.
//
//   $ kvmock --brokers 3 --topic kvlog &
//   127.0.0.1:37421,127.0.0.1:40013,127.0.0.1:35517
//   $ kvctl --brokers 127.0.0.1:37421 put user/1 ada
//
// The mock has no compaction and no CreateTopics API; see DESIGN.md.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "log/kafka/mock_cluster.h"

int main(int argc, char** argv) {
  using kvlog::log::kafka::MockCluster;
  CLI::App app{"kvmock: an embedded Kafka mock cluster (librdkafka) on loopback, until SIGINT/SIGTERM"};
  MockCluster::Options options;
  app.add_option("--brokers", options.brokers, "number of brokers")
      ->check(CLI::Range(1, MockCluster::kMaxBrokers))
      ->capture_default_str();
  app.add_option("--topic", options.topic, "topic to create (empty: none)")->capture_default_str();
  app.add_option("--partitions", options.partitions, "partitions of the topic (kvlog needs 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--replication-factor", options.replication_factor, "replication factor (0: min(3, brokers))")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Block the signals before librdkafka starts threads, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto cluster = MockCluster::Start(options);
  if (!cluster) {
    std::cerr << "kvmock: " << cluster.error().ToString() << "\n";
    return 3;
  }
  std::cout << (*cluster)->bootstrap() << std::endl;
  std::cerr << "kvmock: " << options.brokers << " broker(s), topic '" << options.topic
            << "'; stop with SIGINT or SIGTERM\n";
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "kvmock: stopping on signal " << received << "\n";
  cluster->reset();
  return 0;
}
