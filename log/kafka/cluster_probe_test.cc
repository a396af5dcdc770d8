#include "log/kafka/cluster_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "log/kafka/mock_cluster.h"

namespace kvlog::log::kafka {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

KafkaOptions Quiet(KafkaOptions options) {
  options.logger = nullptr;
  return options;
}

TEST(ClusterProbeTest, CountsBrokersAndFindsTheTopic) {
  auto cluster = MockCluster::Start({.brokers = 3, .topic = "t"});
  ASSERT_TRUE(cluster.has_value()) << cluster.error().ToString();
  auto info = ProbeCluster(Quiet((*cluster)->LogOptions()), milliseconds(10'000));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->brokers, 3);
  EXPECT_EQ(info->topic_partitions, 1);
  EXPECT_EQ(info->topic_replicas, 3);
}

TEST(ClusterProbeTest, ATopicCreatedWithoutAReplicationFactorGetsTheClustersDefault) {
  // The library's default is the broker's default, as in the Go original.
  EXPECT_EQ(KafkaOptions{}.replication_factor, kBrokerDefaultReplicationFactor);
  for (int brokers : {1, 2, 5}) {
    auto cluster = MockCluster::Start({.brokers = brokers, .topic = ""});
    ASSERT_TRUE(cluster.has_value()) << cluster.error().ToString();
    EXPECT_EQ((*cluster)->default_replication_factor(), std::min(3, brokers));
    ASSERT_TRUE((*cluster)->CreateTopic("t", 1, KafkaOptions{}.replication_factor).has_value());
    auto info = ProbeCluster(Quiet((*cluster)->LogOptions("t")), milliseconds(10'000));
    ASSERT_TRUE(info.has_value()) << info.error().ToString();
    EXPECT_EQ(info->topic_partitions, 1);
    EXPECT_EQ(info->topic_replicas, std::min(3, brokers)) << brokers << " broker(s)";
  }
  // Start's own topic too.
  auto cluster = MockCluster::Start({.brokers = 2, .topic = "d", .replication_factor = kBrokerDefaultReplicationFactor});
  ASSERT_TRUE(cluster.has_value()) << cluster.error().ToString();
  auto info = ProbeCluster(Quiet((*cluster)->LogOptions()), milliseconds(10'000));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->topic_replicas, 2);
  EXPECT_EQ((*cluster)->LogOptions().replication_factor, 2);
}

TEST(ClusterProbeTest, AMissingTopicIsReportedAndNotCreated) {
  auto cluster = MockCluster::Start({.brokers = 2, .topic = "t"});
  ASSERT_TRUE(cluster.has_value()) << cluster.error().ToString();
  KafkaOptions options = Quiet((*cluster)->LogOptions("absent"));
  for (int i = 0; i < 2; ++i) {  // The second look would see a topic the first auto-created.
    auto info = ProbeCluster(options, milliseconds(10'000));
    ASSERT_TRUE(info.has_value()) << info.error().ToString();
    EXPECT_EQ(info->brokers, 2);
    EXPECT_FALSE(info->topic_partitions.has_value());
    EXPECT_FALSE(info->topic_replicas.has_value());
  }
}

TEST(ClusterProbeTest, OneBrokerDownOfThreeStillAnswers) {
  auto cluster = MockCluster::Start({.brokers = 3, .topic = "t"});
  ASSERT_TRUE(cluster.has_value()) << cluster.error().ToString();
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).has_value());
  auto info = ProbeCluster(Quiet((*cluster)->LogOptions()), milliseconds(10'000));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->brokers, 3);
}

// A loopback port that refuses connections: bound, never listening, held for
// the test so nothing else takes it.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    socklen_t len = sizeof(addr);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(ClusterProbeTest, ARefusedConnectionFailsFastWithItsCause) {
  RefusingPort refusing;
  ASSERT_NE(refusing.port(), 0);
  KafkaOptions options;
  options.brokers = fmt::format("127.0.0.1:{}", refusing.port());
  options.topic = "t";
  options.logger = nullptr;
  const auto start = Clock::now();
  auto info = ProbeCluster(options, milliseconds(20'000));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(info.error().message().find("Connection refused"), std::string::npos) << info.error().message();
  EXPECT_NE(info.error().message().find(options.brokers), std::string::npos) << info.error().message();
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(ClusterProbeTest, EveryMockBrokerDownFailsFast) {
  auto cluster = MockCluster::Start({.brokers = 2, .topic = "t"});
  ASSERT_TRUE(cluster.has_value()) << cluster.error().ToString();
  ASSERT_TRUE((*cluster)->SetBrokerDown(-1).has_value());
  const auto start = Clock::now();
  auto info = ProbeCluster(Quiet((*cluster)->LogOptions()), milliseconds(20'000));
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), ErrorCode::kUnavailable) << info.error().ToString();
  EXPECT_NE(info.error().message().find("brokers are down"), std::string::npos) << info.error().message();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST(ClusterProbeTest, SilenceEndsAtTheTimeout) {
  // A listening socket that never answers: TCP connects, Kafka never replies.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  KafkaOptions options;
  options.brokers = fmt::format("127.0.0.1:{}", ntohs(addr.sin_port));
  options.topic = "t";
  options.logger = nullptr;
  const auto start = Clock::now();
  auto info = ProbeCluster(options, milliseconds(700));
  const auto took = Clock::now() - start;
  close(fd);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), ErrorCode::kTimeout) << info.error().ToString();
  EXPECT_NE(info.error().message().find("within 700 ms"), std::string::npos) << info.error().message();
  EXPECT_GE(took, milliseconds(650));
  EXPECT_LT(took, milliseconds(3'000));
}

}  // namespace
}  // namespace kvlog::log::kafka
