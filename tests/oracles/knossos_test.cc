// Knossos as a live oracle: kvcheck's linearizability verdict must equal
// Knossos's on a sample of simulator-recorded histories (exported per key,
// checker/knossos.h) and on Knossos's own cas-register reference files, and
// kvcheck's EDN writer must write histories Knossos reads.
//
// Needs the Knossos jar: $KVLOG_KNOSSOS_JAR (pass it with
// --test_env=KVLOG_KNOSSOS_JAR=PATH), else shared/knossos/knossos.jar in a
// folder above the repository (a checkout beside ../shared). Without it every
// case is skipped, visibly (GTEST_SKIP). One JVM runs all files of a case:
// its start-up costs seconds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "checker/check.h"
#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/knossos.h"
#include "checker/linearizability.h"
#include "checker/testing/reference.h"
#include "tests/oracles/histories.h"
#include "tests/oracles/oracle_util.h"

namespace kvlog::oracles {
namespace {

namespace fs = std::filesystem;
using checker::Verdict;

std::string FindJar() {
  if (const char* env = std::getenv("KVLOG_KNOSSOS_JAR"); env && *env) return env;
  // The repository's real path, from a file of it in the runfiles.
  std::error_code ec;
  fs::path file = fs::canonical(Runfile("tests/oracles/BUILD"), ec);
  if (ec) return "";
  for (fs::path dir = file.parent_path().parent_path().parent_path(); dir.has_relative_path();
       dir = dir.parent_path()) {
    fs::path jar = dir.parent_path() / "shared" / "knossos" / "knossos.jar";
    if (fs::exists(jar)) return jar.string();
  }
  return "";
}

class KnossosOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    jar_ = FindJar();
    if (jar_.empty()) {
      GTEST_SKIP() << "SKIPPED: no Knossos jar (set KVLOG_KNOSSOS_JAR, e.g. bazel test "
                      "--test_env=KVLOG_KNOSSOS_JAR=/path/knossos.jar, or check out beside shared/knossos/)";
    }
  }
  std::string jar_;
};

Verdict KvcheckVerdict(const checker::History& h, const std::string& model) {
  auto ops = checker::PairOperations(h);
  if (!ops) return Verdict::kUnknown;
  auto m = checker::MakeModel(model);
  checker::LinearizabilityOptions options;
  options.threads = 2;
  return checker::CheckLinearizability(*ops, *m, options).verdict;
}

// A single-register history with what Knossos used to reject in kvcheck's
// EDN: a process that goes on after an :info operation, and a failed read
// whose completion says "timed-out". Linearizable.
checker::History RegisterHistoryWithInfoAndFailures() {
  using checker::Event;
  using checker::EventType;
  using checker::Value;
  std::vector<Event> events;
  auto add = [&](int64_t p, EventType t, std::string f, Value v) {
    Event e;
    e.process = p;
    e.type = t;
    e.f = std::move(f);
    e.value = std::move(v);
    events.push_back(std::move(e));
  };
  add(0, EventType::kInvoke, "write", Value::Int(1));
  add(0, EventType::kOk, "write", Value::Int(1));
  add(1, EventType::kInvoke, "write", Value::Int(2));
  add(1, EventType::kInfo, "write", Value());  // unknown outcome, then process 1 goes on
  add(1, EventType::kInvoke, "read", Value());
  add(1, EventType::kFail, "read", Value::String("timed-out"));
  add(1, EventType::kInvoke, "read", Value());
  add(1, EventType::kOk, "read", Value::Int(2));
  add(0, EventType::kInvoke, "cas", Value::List({Value::Int(2), Value::Int(3)}));
  add(0, EventType::kOk, "cas", Value::List({Value::Int(2), Value::Int(3)}));
  checker::History h;
  h.source = "register-info-fail";
  h.events = std::move(events);
  return h;
}

TEST_F(KnossosOracle, AgreesWithKvcheckOnSimulatorHistoriesAndReferenceFiles) {
  const bool full = KvJudgesBatchAndRange();
  std::string error;
  const std::vector<RecordedHistory>& recorded = RecordHistories(!full, &error);
  ASSERT_TRUE(error.empty()) << error;
  // A sample, to keep Knossos's time down: the first four not-linearizable
  // histories and four linearizable ones spread over the set.
  struct Sample {
    std::string name;
    Verdict ours;
    std::vector<std::string> files;
    bool exact = true;  // no part was weakened by the export (KnossosPart::exact)
  };
  std::vector<Sample> samples;
  std::vector<std::string> files;
  std::map<std::string, Verdict> file_verdicts;
  // Per kind (point operations only / with batches and ranges) and verdict.
  const int cap = full ? 2 : 4;
  std::map<std::pair<bool, Verdict>, int> sampled;
  int sampled_valid = 0, sampled_invalid = 0;
  for (size_t i = 0; i < recorded.size(); ++i) {
    Verdict ours = KvcheckVerdict(recorded[i].history, "kv");
    ASSERT_NE(ours, Verdict::kUnknown) << recorded[i].name;
    int& taken = sampled[{recorded[i].batches_and_ranges, ours}];
    if (taken >= cap || (ours == Verdict::kValid && i % 6 != 0)) continue;
    ++taken;
    (ours == Verdict::kValid ? sampled_valid : sampled_invalid)++;
    auto parts = checker::ExportForKnossos(recorded[i].history, "kv");
    ASSERT_TRUE(parts.has_value()) << recorded[i].name << ": " << parts.error().ToString();
    Sample s{recorded[i].name, ours, {}};
    for (const auto& part : *parts) s.exact = s.exact && part.exact;
    for (size_t p = 0; p < parts->size(); ++p) {
      std::string path = TempPath(fmt::format("{}-part{}.edn", recorded[i].name, p));
      ASSERT_TRUE(WriteFile(path, (*parts)[p].edn));
      s.files.push_back(path);
      files.push_back(path);
    }
    samples.push_back(std::move(s));
  }
  // Knossos's reference files, as published.
  auto rows = checker::testing::LoadReferenceSet();
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  auto dir = checker::testing::ReferenceDir();
  ASSERT_TRUE(dir.has_value());
  std::map<std::string, Verdict> reference;  // file -> kvcheck's verdict
  for (const auto& r : *rows) {
    if (r.path.rfind("knossos/", 0) != 0) continue;
    auto h = checker::ParseJepsenEdn(r.text, r.path);
    ASSERT_TRUE(h.has_value()) << h.error().ToString();
    Verdict ours = KvcheckVerdict(*h, r.model);
    ASSERT_NE(ours, Verdict::kUnknown) << r.path;
    reference[*dir + "/" + r.path] = ours;
    files.push_back(*dir + "/" + r.path);
  }
  // kvcheck's own EDN writer, on a history with :info and failed operations.
  auto written = checker::WriteJepsenEdn(RegisterHistoryWithInfoAndFailures());
  ASSERT_TRUE(written.has_value());
  const std::string writer_file = TempPath("writer.edn");
  ASSERT_TRUE(WriteFile(writer_file, *written));
  files.push_back(writer_file);

  std::string output;
  auto verdicts = checker::RunKnossosOnFiles(jar_, "cas-register", files, &output);
  ASSERT_TRUE(verdicts.has_value()) << verdicts.error().ToString();
  for (const auto& v : *verdicts) file_verdicts[v.file] = v.verdict;

  int valid = 0, invalid = 0, weakened = 0;
  for (const Sample& s : samples) {
    Verdict theirs = Verdict::kValid;
    for (const std::string& f : s.files) {
      if (file_verdicts[f] == Verdict::kInvalid) theirs = Verdict::kInvalid;
      if (file_verdicts[f] == Verdict::kUnknown && theirs == Verdict::kValid) theirs = Verdict::kUnknown;
    }
    if (s.exact) {
      EXPECT_EQ(VerdictName(theirs), std::string(VerdictName(s.ours))) << s.name << " (" << s.files.size() << " keys)";
    } else {
      // A weakened export can only turn invalid into valid, never the reverse.
      EXPECT_NE(theirs, Verdict::kUnknown) << s.name;
      if (s.ours == Verdict::kValid) {
        EXPECT_EQ(theirs, Verdict::kValid) << s.name << " (weakened export)";
      }
      ++weakened;
    }
    (s.ours == Verdict::kValid ? valid : invalid)++;
  }
  for (const auto& [file, ours] : reference) {
    EXPECT_EQ(VerdictName(file_verdicts[file]), std::string(VerdictName(ours))) << file;
    (ours == Verdict::kValid ? valid : invalid)++;
  }
  EXPECT_EQ(file_verdicts[writer_file], Verdict::kValid) << *written;
  std::printf("knossos: %zu simulator histories (%zu register files; batches and ranges %s) and %zu reference files "
              "agree; %d valid, %d invalid; %d exported weaker (only the one-way implication checked)\n",
              samples.size(), files.size() - reference.size() - 1, full ? "included" : "not judged here",
              reference.size(), valid, invalid, weakened);
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
  EXPECT_GT(sampled_valid, 0);
  EXPECT_GT(sampled_invalid, 0);
}

// kvcheck's own path end to end: export, one java call, combined verdict.
TEST_F(KnossosOracle, CheckWithKnossosCombinesThePerKeyVerdicts) {
  std::string error;
  const std::vector<RecordedHistory>& recorded = RecordHistories(true, &error);
  ASSERT_TRUE(error.empty()) << error;
  // A not-linearizable history: Knossos must name a key.
  for (const RecordedHistory& r : recorded) {
    if (KvcheckVerdict(r.history, "kv") != Verdict::kInvalid) continue;
    auto result = checker::CheckWithKnossos(jar_, r.history, "kv", TempPath(""));
    ASSERT_TRUE(result.has_value()) << result.error().ToString();
    EXPECT_EQ(result->verdict, Verdict::kInvalid) << r.name << "\n" << result->output;
    EXPECT_NE(result->detail.find("key k"), std::string::npos) << result->detail;
    EXPECT_GT(result->parts, 1u);
    return;
  }
  FAIL() << "no not-linearizable history to check";
}

}  // namespace
}  // namespace kvlog::oracles
