// Porcupine as a live oracle: kvcheck's linearizability verdict (model kv) must
// equal Porcupine's on every simulator-recorded history, and on the published
// reference histories, with both verdicts occurring.
//
// The Porcupine side is tools/porcupine-oracle, built by
// `scripts/porcupine-oracle build` into a cache folder (scripts/test does it
// before its passes). Without the binary this test is skipped, visibly. Point
// KVLOG_PORCUPINE_ORACLE at another binary to use that one instead (this is how
// the test was shown to fail on a deliberately broken model).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "checker/check.h"
#include "checker/jsonl.h"
#include "checker/testing/reference.h"
#include "tests/oracles/histories.h"
#include "tests/oracles/oracle_util.h"

namespace kvlog::oracles {
namespace {

using checker::Verdict;

// The oracle binary, or "" with the reason in *why.
std::string OracleBinary(std::string* why) {
  if (const char* env = std::getenv("KVLOG_PORCUPINE_ORACLE"); env && *env) return env;
  Ran ran = Run({"bash", Runfile("scripts/porcupine-oracle"), "path"});
  if (ran.status != 0) {
    *why = ran.output;
    return "";
  }
  auto lines = Lines(ran.output);
  return lines.empty() ? "" : lines.back();
}

struct OracleVerdict {
  std::string verdict;  // linearizable | not-linearizable | unknown | error
  std::string line;
};

// Runs the oracle once on every file; the verdict per file.
std::map<std::string, OracleVerdict> RunOracle(const std::string& binary, const std::vector<std::string>& args,
                                               const std::vector<std::string>& files, std::string* output) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), files.begin(), files.end());
  Ran ran = Run(argv);
  *output = ran.output;
  std::map<std::string, OracleVerdict> verdicts;
  for (const std::string& line : Lines(ran.output)) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    for (std::string f; std::getline(in, f, '\t');) fields.push_back(f);
    if (fields.size() >= 5) verdicts[fields[4]] = {fields[0], line};
  }
  return verdicts;
}

const char* Name(Verdict v) {
  return v == Verdict::kValid ? "linearizable" : v == Verdict::kInvalid ? "not-linearizable" : "unknown";
}

Verdict KvcheckVerdict(const checker::History& h, const std::string& model, std::string* detail) {
  checker::CheckOptions options;
  options.model = model;
  options.checks = {"linearizability"};
  options.linearizability.threads = 2;
  auto report = checker::CheckHistory(h, checker::Format::kJsonl, options);
  if (!report) {
    *detail = report.error().ToString();
    return Verdict::kUnknown;
  }
  if (!report->linearizability) {
    *detail = "no linearizability result";
    return Verdict::kUnknown;
  }
  *detail = report->linearizability->detail;
  return report->linearizability->verdict;
}

class PorcupineOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    binary_ = OracleBinary(&why);
    if (binary_.empty()) {
      GTEST_SKIP() << "SKIPPED: the Porcupine oracle is not built (run `bash scripts/porcupine-oracle build`; "
                      "scripts/test does): "
                   << why;
    }
  }
  std::string binary_;
};

TEST_F(PorcupineOracle, AgreesWithKvcheckOnSimulatorHistories) {
  const bool full = KvJudgesBatchAndRange();
  if (!full) {
    std::printf("NOTE: kvcheck's kv model does not judge batch/range here: comparing put/get/delete histories only\n");
  }
  std::string error;
  const std::vector<RecordedHistory>& histories = RecordHistories(!full, &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_GE(histories.size(), 20u);

  std::vector<std::string> files;
  std::map<std::string, std::pair<Verdict, std::string>> ours;
  for (const RecordedHistory& r : histories) {
    std::string path = TempPath(r.name + ".jsonl");
    ASSERT_TRUE(WriteFile(path, checker::WriteJsonl(r.history))) << path;
    files.push_back(path);
    std::string detail;
    Verdict v = KvcheckVerdict(r.history, "kv", &detail);
    ours[path] = {v, detail};
  }
  std::string output;
  auto theirs = RunOracle(binary_, {"-model", "kv", "-format", "jsonl"}, files, &output);
  ASSERT_EQ(theirs.size(), files.size()) << output;

  int linearizable = 0, not_linearizable = 0, local_reads_not = 0, with_batches = 0;
  for (size_t i = 0; i < histories.size(); ++i) {
    const std::string& path = files[i];
    auto [v, detail] = ours[path];
    ASSERT_NE(v, Verdict::kUnknown) << path << ": kvcheck: " << detail;
    EXPECT_EQ(theirs[path].verdict, Name(v)) << path << "\n  kvcheck: " << Name(v) << " " << detail
                                             << "\n  porcupine: " << theirs[path].line;
    (v == Verdict::kValid ? linearizable : not_linearizable)++;
    const std::string& name = histories[i].name;
    std::printf("  %-45s %s\n", name.c_str(), Name(v));
    // A correct client under a safe fault, several clients: local reads.
    if (v == Verdict::kInvalid && name.rfind("c3-", 0) == 0 && name.find("early-ack") == std::string::npos &&
        name.find("reorder") == std::string::npos && name.find("acks1") == std::string::npos &&
        name.find("unclean") == std::string::npos && name.find("without-lag") == std::string::npos &&
        name.find("no-idempotence") == std::string::npos) {
      ++local_reads_not;
    }
    if (histories[i].batches_and_ranges) ++with_batches;
  }
  std::printf("porcupine oracle: %zu histories (%d with batches and ranges): %d linearizable, %d not; agree\n",
              histories.size(), with_batches, linearizable, not_linearizable);
  EXPECT_GT(linearizable, 0);
  EXPECT_GT(not_linearizable, 0);
  EXPECT_GT(local_reads_not, 0) << "no correct multi-client history was found non-linearizable (local reads)";
}

// A linearizable history with one read changed to a value nobody wrote is not
// linearizable for either checker.
TEST_F(PorcupineOracle, AMutatedReadIsCaughtByBoth) {
  std::string error;
  const std::vector<RecordedHistory>& histories = RecordHistories(true, &error);
  ASSERT_TRUE(error.empty()) << error;
  for (RecordedHistory r : histories) {
    std::string detail;
    if (r.name.rfind("c1-all-safe", 0) != 0 || KvcheckVerdict(r.history, "kv", &detail) != Verdict::kValid) continue;
    bool mutated = false;
    for (checker::Event& e : r.history.events) {
      if (e.f == "get" && e.type == checker::EventType::kOk && !e.value.is_nil()) {
        e.value = checker::Value::String("never-written");
        mutated = true;
        break;
      }
    }
    if (!mutated) continue;
    EXPECT_EQ(KvcheckVerdict(r.history, "kv", &detail), Verdict::kInvalid) << r.name;
    std::string path = TempPath("mutated-" + r.name + ".jsonl");
    ASSERT_TRUE(WriteFile(path, checker::WriteJsonl(r.history)));
    std::string output;
    auto theirs = RunOracle(binary_, {"-model", "kv"}, {path}, &output);
    EXPECT_EQ(theirs[path].verdict, "not-linearizable") << output;
    return;
  }
  FAIL() << "no linearizable single-client history with a non-nil read to mutate";
}

// The published reference histories: Porcupine's verdict is the published one
// (so the oracle's models read the formats as kvcheck does).
TEST_F(PorcupineOracle, AgreesWithThePublishedReferenceVerdicts) {
  auto rows = checker::testing::LoadReferenceSet();
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  auto dir = checker::testing::ReferenceDir();
  ASSERT_TRUE(dir.has_value());
  std::map<std::string, std::vector<std::string>> by_model_format;  // "model format" -> files
  std::map<std::string, bool> expected;
  for (const auto& r : *rows) {
    std::string path = *dir + "/" + r.path;
    by_model_format[r.model + " " + (r.format == "jepsen-log" ? "jepsen-log" : "edn")].push_back(path);
    expected[path] = r.linearizable;
  }
  size_t checked = 0;
  for (const auto& [key, files] : by_model_format) {
    std::string model = key.substr(0, key.find(' ')), format = key.substr(key.find(' ') + 1);
    std::string output;
    auto theirs = RunOracle(binary_, {"-model", model, "-format", format}, files, &output);
    ASSERT_EQ(theirs.size(), files.size()) << output;
    for (const std::string& f : files) {
      EXPECT_EQ(theirs[f].verdict, expected[f] ? "linearizable" : "not-linearizable") << theirs[f].line;
      ++checked;
    }
  }
  EXPECT_EQ(checked, rows->size());
}

}  // namespace
}  // namespace kvlog::oracles
