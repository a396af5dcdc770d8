#include "tools/kvsim/broker_logs.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace kvlog::tools {

namespace fs = std::filesystem;

std::string KafkaClusterStateDir() {
  if (const char* dir = std::getenv("KVLOG_KAFKA_DIR"); dir && *dir) return dir;
  const char* tmp = std::getenv("TMPDIR");
  return fmt::format("{}/kvlog-kafka-{}", tmp && *tmp ? tmp : "/tmp", getuid());
}

namespace {

std::string FirstLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::expected<std::vector<std::string>, std::string> CollectBrokerLogs(const std::string& state_dir,
                                                                      const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(state_dir, ec)) {
    return std::unexpected("no kafka-cluster state folder " + state_dir +
                           " (set KVLOG_KAFKA_DIR as when the cluster was started)");
  }
  if (!fs::exists(fs::path(state_dir) / ".kvlog-kafka-cluster", ec)) {
    return std::unexpected(state_dir + " is not a kafka-cluster state folder (no .kvlog-kafka-cluster in it)");
  }
  fs::path root = state_dir;
  if (std::string line = FirstLine(fs::path(state_dir) / "log-root"); !line.empty()) root = line;
  std::vector<fs::path> nodes;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("node-", 0) == 0) nodes.push_back(entry.path());
  }
  if (ec) return std::unexpected("cannot list the cluster's log folder " + root.string() + ": " + ec.message());
  std::sort(nodes.begin(), nodes.end());
  std::vector<std::string> written;
  const fs::path out = fs::path(run_dir) / "broker-logs";
  for (const fs::path& node : nodes) {
    std::vector<fs::path> logs;
    for (const auto& entry : fs::directory_iterator(node, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".log") logs.push_back(entry.path());
    }
    std::sort(logs.begin(), logs.end());
    for (const fs::path& log : logs) {
      const fs::path to = out / node.filename() / log.filename();
      fs::create_directories(to.parent_path(), ec);
      if (!ec) fs::copy_file(log, to, fs::copy_options::overwrite_existing, ec);
      if (ec) return std::unexpected("cannot copy " + log.string() + " to " + to.string() + ": " + ec.message());
      written.push_back(fs::relative(to, run_dir).string());
    }
  }
  if (written.empty()) {
    return std::unexpected("no node logs (node-<id>/*.log) in the cluster's log folder " + root.string());
  }
  std::ofstream source(out / "SOURCE");
  source << "Copied at the end of the run from " << root.string() << " (kafka-cluster state " << state_dir
         << "): each node's logs, node-<id>/server.log; ids above 100 are controller-only nodes.\n";
  if (!source) return std::unexpected("cannot write " + (out / "SOURCE").string());
  written.push_back("broker-logs/SOURCE");
  return written;
}

}  // namespace kvlog::tools
