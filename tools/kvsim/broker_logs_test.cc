#include "tools/kvsim/broker_logs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace kvlog::tools {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

fs::path Temp(const std::string& name) {
  fs::path p = fs::path(testing::TempDir()) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// A cluster started without --run-dir: the logs are in the state folder.
TEST(BrokerLogsTest, CopiesEveryNodesLogsFromTheStateFolder) {
  fs::path state = Temp("state1"), run = Temp("run1");
  Write(state / ".kvlog-kafka-cluster", "");
  Write(state / "node-1" / "server.log", "broker 1 started\n");
  Write(state / "node-1" / "format.log", "formatted 1\n");
  Write(state / "node-1" / "server.properties", "node.id=1\n");  // Not a log.
  Write(state / "node-2" / "server.log", "broker 2 started\n");
  Write(state / "node-101" / "server.log", "controller 101\n");
  auto copied = CollectBrokerLogs(state.string(), run.string());
  ASSERT_TRUE(copied.has_value()) << copied.error();
  EXPECT_EQ(*copied, (std::vector<std::string>{"broker-logs/node-1/format.log", "broker-logs/node-1/server.log",
                                               "broker-logs/node-101/server.log", "broker-logs/node-2/server.log",
                                               "broker-logs/SOURCE"}));
  EXPECT_EQ(Read(run / "broker-logs" / "node-2" / "server.log"), "broker 2 started\n");
  EXPECT_EQ(Read(run / "broker-logs" / "node-101" / "server.log"), "controller 101\n");
  EXPECT_FALSE(fs::exists(run / "broker-logs" / "node-1" / "server.properties"));
  EXPECT_NE(Read(run / "broker-logs" / "SOURCE").find(state.string()), std::string::npos);
  // A copy: the cluster's stop deleting its state leaves the run folder whole.
  fs::remove_all(state);
  EXPECT_EQ(Read(run / "broker-logs" / "node-1" / "server.log"), "broker 1 started\n");
}

// A cluster started with --run-dir: the state's log-root names the folder.
TEST(BrokerLogsTest, FollowsTheLogRootOfAClusterStartedWithARunDir) {
  fs::path state = Temp("state2"), logs = Temp("cluster-run"), run = Temp("run2");
  Write(state / ".kvlog-kafka-cluster", "");
  Write(state / "log-root", logs.string() + "\n");
  Write(state / "node-1" / "server.log", "stale, not the log root\n");
  Write(logs / "node-3" / "server.log", "broker 3\n");
  auto copied = CollectBrokerLogs(state.string(), run.string());
  ASSERT_TRUE(copied.has_value()) << copied.error();
  EXPECT_EQ(*copied, (std::vector<std::string>{"broker-logs/node-3/server.log", "broker-logs/SOURCE"}));
  EXPECT_EQ(Read(run / "broker-logs" / "node-3" / "server.log"), "broker 3\n");
}

TEST(BrokerLogsTest, NamesWhatIsMissing) {
  fs::path run = Temp("run3");
  auto none = CollectBrokerLogs((fs::path(testing::TempDir()) / "no-such-state").string(), run.string());
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().find("no kafka-cluster state folder"), std::string::npos) << none.error();
  fs::path foreign = Temp("foreign");
  Write(foreign / "node-1" / "server.log", "x");
  auto unmarked = CollectBrokerLogs(foreign.string(), run.string());
  ASSERT_FALSE(unmarked.has_value());
  EXPECT_NE(unmarked.error().find("not a kafka-cluster state folder"), std::string::npos) << unmarked.error();
  fs::path empty = Temp("empty-state");
  Write(empty / ".kvlog-kafka-cluster", "");
  auto no_logs = CollectBrokerLogs(empty.string(), run.string());
  ASSERT_FALSE(no_logs.has_value());
  EXPECT_NE(no_logs.error().find("no node logs"), std::string::npos) << no_logs.error();
}

TEST(BrokerLogsTest, TheStateFolderIsTheScriptsOne) {
  setenv("KVLOG_KAFKA_DIR", "/somewhere/kafka", 1);
  EXPECT_EQ(KafkaClusterStateDir(), "/somewhere/kafka");
  unsetenv("KVLOG_KAFKA_DIR");
  setenv("TMPDIR", "/tmpx", 1);
  EXPECT_EQ(KafkaClusterStateDir(), fmt::format("/tmpx/kvlog-kafka-{}", getuid()));
}

}  // namespace
}  // namespace kvlog::tools
