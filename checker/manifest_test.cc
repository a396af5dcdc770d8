// Every row of the reference set's MANIFEST.tsv (checker/testdata/reference):
// our verdict must be the published one, and never unknown; with the model the
// manifest names and with the one ChooseModel picks (the default).
#include <chrono>

#include <fmt/format.h>

#include "checker/edn.h"
#include "checker/linearizability.h"
#include "checker/testing/reference.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

TEST(Manifest, EveryRowAgrees) {
  auto rows = testing::LoadReferenceSet();
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  ASSERT_GT(rows->size(), 160u);
  int linearizable = 0, not_linearizable = 0;
  auto start = std::chrono::steady_clock::now();
  for (const testing::ReferenceHistory& r : *rows) {
    ASSERT_FALSE(r.text.empty()) << r.path;
    Result<History> h = r.format == "jepsen-log" ? ParseJepsenLog(r.text, r.path) : ParseJepsenEdn(r.text, r.path);
    ASSERT_TRUE(h.has_value()) << h.error().ToString();
    auto ops = PairOperations(*h);
    ASSERT_TRUE(ops.has_value()) << ops.error().ToString();
    auto model = MakeModel(r.model);
    ASSERT_NE(model, nullptr) << r.model;
    auto t0 = std::chrono::steady_clock::now();
    LinearizabilityResult res = CheckLinearizability(*ops, *model);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_NE(res.verdict, Verdict::kUnknown) << r.path << ": " << res.detail;
    EXPECT_EQ(res.verdict == Verdict::kValid, r.linearizable) << r.path << " (" << ms << " ms)";
    const std::string chosen = ChooseModel(*ops);
    if (chosen != r.model) {
      auto default_model = MakeModel(chosen);
      ASSERT_NE(default_model, nullptr) << chosen;
      LinearizabilityResult d = CheckLinearizability(*ops, *default_model);
      EXPECT_EQ(d.verdict, res.verdict) << r.path << ": default model " << chosen << " vs " << r.model << ": "
                                        << d.detail;
    }
    (r.linearizable ? linearizable : not_linearizable)++;
    if (ms > 500) fmt::print("slow: {} {} ms\n", r.path, ms);
  }
  // Both verdicts occur, so a checker that always says one thing fails here.
  EXPECT_GT(linearizable, 0);
  EXPECT_GT(not_linearizable, 0);
  auto total = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  fmt::print("manifest: {} rows, total {} ms\n", rows->size(), total.count());
}

}  // namespace
}  // namespace kvlog::checker
