// Every row of shared/histories/MANIFEST.tsv: our verdict must be the
// published one.
#include <chrono>
#include <fstream>
#include <sstream>

#include "checker/edn.h"
#include "checker/linearizability.h"
#include "checker/testing/shared_dir.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

struct Row {
  std::string path, format, model, expected;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Manifest, EveryRowAgrees) {
  const std::string shared = testing::FindSharedDir();
  ASSERT_FALSE(shared.empty()) << "shared/histories not found: set KVLOG_SHARED_DIR or clone the repo beside shared/";
  const std::string dir = shared + "/histories/";
  std::ifstream manifest(dir + "MANIFEST.tsv");
  ASSERT_TRUE(manifest) << "cannot open " << dir << "MANIFEST.tsv";
  std::vector<Row> rows;
  for (std::string line; std::getline(manifest, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Row r;
    std::getline(fields, r.path, '\t');
    std::getline(fields, r.format, '\t');
    std::getline(fields, r.model, '\t');
    std::getline(fields, r.expected, '\t');
    rows.push_back(r);
  }
  ASSERT_GT(rows.size(), 100u);
  auto start = std::chrono::steady_clock::now();
  int agreed = 0;
  for (const Row& r : rows) {
    std::string text = Slurp(dir + r.path);
    ASSERT_FALSE(text.empty()) << r.path;
    Result<History> h = r.format == "jepsen-log" ? ParseJepsenLog(text, r.path) : ParseJepsenEdn(text, r.path);
    ASSERT_TRUE(h.has_value()) << h.error().ToString();
    auto ops = PairOperations(*h);
    ASSERT_TRUE(ops.has_value()) << ops.error().ToString();
    auto model = MakeModel(r.model);
    ASSERT_NE(model, nullptr) << r.model;
    auto t0 = std::chrono::steady_clock::now();
    LinearizabilityResult res = CheckLinearizability(*ops, *model);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_NE(res.verdict, Verdict::kUnknown) << r.path << ": " << res.detail;
    const bool linearizable = res.verdict == Verdict::kValid;
    EXPECT_EQ(linearizable, r.expected == "linearizable") << r.path << " (" << ms << " ms)";
    if (linearizable == (r.expected == "linearizable")) ++agreed;
    if (ms > 500) std::printf("slow: %s %lld ms\n", r.path.c_str(), static_cast<long long>(ms));
  }
  auto total = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::printf("manifest: %d/%zu rows agree, total %lld ms\n", agreed, rows.size(),
              static_cast<long long>(total.count()));
}

}  // namespace
}  // namespace kvlog::checker
