// kvctl: a command-line client for kvlog.
//
//   kvctl --brokers 127.0.0.1:29092 --topic users put user/1 ada
//   kvctl --brokers 127.0.0.1:29092 --topic users get user/1
//   kvctl --brokers 127.0.0.1:29092 range --prefix user/ --limit 10 --json
//   printf 'a\t1\nb\t2\n' | kvctl --brokers 127.0.0.1:29092 batch
//
// Without --brokers it starts an embedded mock cluster for the one command
// (handy for trying the commands; its data ends with the process).
// Each run replays the topic into memory first, then runs one command.
//
// Exit codes: 0 ok, 1 key not found, 2 usage or invalid input, 3 broker or
// log error. Messages go to stderr; results to stdout.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"

namespace {

using kvlog::Error;
using kvlog::ErrorCode;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitNotFound = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLogError = 3;
// A batch line longer than this is refused rather than buffered without end.
constexpr std::size_t kMaxBatchLineBytes = 4 * 1024 * 1024;

struct Flags {
  std::string brokers;
  std::string topic = "kvlog";
  int replication_factor = 1;
  int timeout_ms = 30'000;
  bool json = false;
  bool verbose = false;
  std::vector<std::string> properties;  // -X name=value
  std::string key, value;
  std::string prefix, start, end;
  bool has_prefix = false, has_start = false, has_end = false;
  std::size_t limit = 0;
};

int ExitFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kNotFound: return kExitNotFound;
    case ErrorCode::kInvalidArgument: return kExitUsage;
    default: return kExitLogError;
  }
}

int Fail(const Error& error, const std::string& what) {
  std::cerr << "kvctl: " << what << ": " << error.ToString() << "\n";
  return ExitFor(error);
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void PrintOk(const Flags& f, json j, const std::string& plain) {
  if (f.json) {
    j["ok"] = true;
    std::cout << Dump(j) << "\n";
  } else {
    std::cout << plain << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kvlog;
  Flags f;
  CLI::App app{"kvctl: a command-line client for kvlog, a key-value store on a single-partition Kafka topic.\n"
               "Exit codes: 0 ok, 1 key not found, 2 usage or invalid input, 3 broker or log error."};
  app.set_help_all_flag("--help-all", "help for every subcommand");
  app.require_subcommand(1);
  app.add_option("-b,--brokers", f.brokers,
                 "bootstrap servers, host:port[,host:port...]; default: an embedded mock cluster for this command");
  app.add_option("-t,--topic", f.topic, "topic holding the store (one partition)")->capture_default_str();
  app.add_option("--replication-factor", f.replication_factor, "replication factor if the topic is created")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--timeout", f.timeout_ms, "deadline in ms for start-up and for the command")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("-X", f.properties, "raw librdkafka property name=value (repeatable)");
  app.add_flag("--json", f.json, "print results as JSON");
  app.add_flag("-v,--verbose", f.verbose, "show librdkafka's warnings");

  auto* put = app.add_subcommand("put", "set KEY to VALUE");
  put->add_option("key", f.key, "key")->required();
  put->add_option("value", f.value, "value")->required();
  auto* get = app.add_subcommand("get", "print the value of KEY (exit 1 if missing)");
  get->add_option("key", f.key, "key")->required();
  auto* del = app.add_subcommand("del", "delete KEY");
  del->add_option("key", f.key, "key")->required();
  auto* range = app.add_subcommand("range", "print keys and values in key order (key<TAB>value)");
  range->add_option("--prefix", f.prefix, "keys beginning with this");
  range->add_option("--start", f.start, "first key (inclusive)");
  range->add_option("--end", f.end, "last key (exclusive)");
  range->add_option("--limit", f.limit, "at most this many (0: all)");
  auto* batch = app.add_subcommand("batch", "apply key<TAB>value lines from stdin as one batch");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      app.exit(e);
      return kExitOk;
    }
    std::cerr << "kvctl: " << e.what() << "\n" << "Run with --help for usage.\n";
    return kExitUsage;
  }
  f.has_prefix = range->count("--prefix") > 0;
  f.has_start = range->count("--start") > 0;
  f.has_end = range->count("--end") > 0;
  if (f.has_prefix && (f.has_start || f.has_end)) {
    std::cerr << "kvctl: range takes --prefix or --start/--end, not both\n";
    return kExitUsage;
  }

  // Read and check the batch before touching the cluster.
  std::vector<std::pair<std::string, std::string>> batch_lines;
  if (batch->parsed()) {
    std::string line;
    std::size_t number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      if (line.size() > kMaxBatchLineBytes) {
        std::cerr << "kvctl: batch line " << number << " is longer than " << kMaxBatchLineBytes << " bytes\n";
        return kExitUsage;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      auto tab = line.find('\t');
      if (tab == std::string::npos) {
        std::cerr << "kvctl: batch line " << number << " has no TAB; expected key<TAB>value\n";
        return kExitUsage;
      }
      batch_lines.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    }
  }

  const auto timeout = std::chrono::milliseconds(f.timeout_ms);
  std::unique_ptr<log::kafka::MockCluster> mock;
  log::kafka::KafkaOptions options;
  if (f.brokers.empty()) {
    auto cluster = log::kafka::MockCluster::Start({.brokers = 1, .topic = f.topic});
    if (!cluster) return Fail(cluster.error(), "cannot start the embedded mock cluster");
    mock = std::move(*cluster);
    options = mock->LogOptions();
    std::cerr << "kvctl: no --brokers: using an embedded mock cluster at " << mock->bootstrap()
              << " (its data ends with this command)\n";
  } else {
    options.brokers = f.brokers;
    options.topic = f.topic;
    options.replication_factor = f.replication_factor;
  }
  options.client_id = "kvctl";
  options.admin_timeout = timeout;
  options.delivery_timeout = timeout;
  if (!f.verbose) options.logger = nullptr;
  for (const std::string& p : f.properties) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "kvctl: -X " << p << ": expected name=value\n";
      return kExitUsage;
    }
    options.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }

  auto log = log::kafka::OpenKafkaLog(options);
  if (!log) return Fail(log.error(), "cannot open topic '" + f.topic + "' on " + options.brokers);
  kv::ClientOptions client_options;
  client_options.client_id = "kvctl";
  client_options.default_timeout = timeout;
  client_options.startup_timeout = timeout;
  auto opened = kv::Client::Open(std::move(*log), kv::NewMemoryStorage(), client_options);
  if (!opened) return Fail(opened.error(), "cannot load topic '" + f.topic + "'");
  kv::Client& client = **opened;

  if (put->parsed()) {
    auto r = client.Put(f.key, f.value);
    if (!r) return Fail(r.error(), "put");
    PrintOk(f, {{"op", "put"}, {"key", f.key}, {"offset", *r}}, "OK");
  } else if (del->parsed()) {
    auto r = client.Delete(f.key);
    if (!r) return Fail(r.error(), "del");
    PrintOk(f, {{"op", "del"}, {"key", f.key}, {"offset", *r}}, "OK");
  } else if (get->parsed()) {
    auto r = client.Get(f.key);
    if (!r) {
      if (r.error().code() == ErrorCode::kNotFound) {
        if (f.json) std::cout << Dump({{"key", f.key}, {"found", false}}) << "\n";
        std::cerr << "kvctl: key '" << f.key << "' not found\n";
        return kExitNotFound;
      }
      return Fail(r.error(), "get");
    }
    if (f.json) {
      std::cout << Dump({{"key", f.key}, {"found", true}, {"value", *r}}) << "\n";
    } else {
      std::cout << *r << "\n";
    }
  } else if (range->parsed()) {
    kv::QueryOptions query;
    query.limit = f.limit;
    Result<std::vector<kv::KeyValue>> r = f.has_prefix ? client.Prefix(f.prefix, query) : [&] {
      kv::KeyConstraint c;
      c.start = f.start;
      if (f.has_end) c.end = f.end;
      return client.Range(c, query);
    }();
    if (!r) return Fail(r.error(), "range");
    if (f.json) {
      json out = json::array();
      for (const auto& kv : *r) out.push_back({{"key", kv.key}, {"value", kv.value}});
      std::cout << Dump(out) << "\n";
    } else {
      for (const auto& kv : *r) std::cout << kv.key << "\t" << kv.value << "\n";
    }
  } else if (batch->parsed()) {
    auto writes = client.Batch();
    for (const auto& [k, v] : batch_lines) writes.Put(k, v);
    auto r = writes.Execute();
    if (!r) return Fail(r.error(), "batch");
    PrintOk(f, {{"op", "batch"}, {"records", batch_lines.size()}, {"offset", *r}},
            "OK " + std::to_string(batch_lines.size()) + " records");
  }
  client.Close();
  return kExitOk;
}
