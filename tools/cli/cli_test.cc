#include "tools/cli/cli.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kvlog::cli {
namespace {

TEST(ParseInt, AcceptsDecimalWithinBounds) {
  EXPECT_EQ(ParseInt("0"), 0);
  EXPECT_EQ(ParseInt("-5"), -5);
  EXPECT_EQ(ParseInt("42", 1, 42), 42);
  EXPECT_EQ(ParseInt("007"), 7);
}

TEST(ParseInt, RefusesAnythingElse) {
  for (const char* bad : {"", "-", "+3", " 3", "3 ", "3x", "0x10", "1e3", "1.5", "--3", "abc"}) {
    auto v = ParseInt(bad);
    ASSERT_FALSE(v.has_value()) << bad;
    EXPECT_NE(v.error().find("expected"), std::string::npos) << v.error();
  }
  auto low = ParseInt("-5", 0, 10);
  ASSERT_FALSE(low);
  EXPECT_EQ(low.error(), "-5 is out of range: must be in 0..10");
  auto huge = ParseInt("99999999999999999999");
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().find("out of range"), std::string::npos);
}

TEST(ParseUint, RefusesNegatives) {
  EXPECT_EQ(ParseUint("18446744073709551615"), UINT64_MAX);
  auto v = ParseUint("-1");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("'-1'"), std::string::npos) << v.error();
  EXPECT_FALSE(ParseUint("18446744073709551616"));
}

TEST(ParseSeedRange, OneSeedOrAnInclusiveRange) {
  auto one = ParseSeedRange("7");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->first, 7u);
  EXPECT_EQ(one->last, 7u);
  EXPECT_TRUE(one->single());
  auto range = ParseSeedRange("1..200");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->first, 1u);
  EXPECT_EQ(range->last, 200u);
  EXPECT_EQ(range->count(), 200u);
  EXPECT_EQ(range->ToString(), "1..200");
  EXPECT_TRUE(ParseSeedRange("3..3"));
}

TEST(ParseSeedRange, ErrorsNameTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1..3x", "last seed"},  {"1..2..3", "more than one '..'"}, {"-1", "'-1'"},
      {"", "empty"},           {"5..1", "5 > 1"},                  {"..3", "first seed"},
      {"3..", "last seed"},    {"1...3", "last seed"},            {"x", "decimal"},
  };
  for (const auto& [text, why] : cases) {
    auto r = ParseSeedRange(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().find(why), std::string::npos) << text << ": " << r.error();
    EXPECT_NE(r.error().find("A..B"), std::string::npos) << r.error();
  }
}

TEST(ParseKeyValue, SplitsAtTheFirstEquals) {
  auto kv = ParseKeyValue("acks=all");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->first, "acks");
  EXPECT_EQ(kv->second, "all");
  auto eq = ParseKeyValue("sasl.jaas.config=a=b");
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->second, "a=b");
  EXPECT_EQ(ParseKeyValue("x=")->second, "");
  EXPECT_FALSE(ParseKeyValue("acks"));
  EXPECT_FALSE(ParseKeyValue("=1"));
}

// Runs Parse on a fresh app with the given arguments.
struct Outcome {
  std::optional<int> rc;
  int64_t threads = 4;
  SeedRange seeds;
  std::vector<std::pair<std::string, std::string>> props;
  std::string help;
};

Outcome RunApp(std::vector<const char*> args) {
  Outcome p;
  CLI::App app{"prog: test", "prog"};
  Setup(app, {{kExitFailed, "a check failed"}, {kExitEnvironment, "the run could not be made"}});
  AddNumber<int64_t>(app, "--threads", p.threads, "workers", 1, 64);
  AddSeedRange(app, "--seeds", p.seeds, "seeds");
  AddKeyValues(app, "-X", p.props, "properties");
  std::string name = "x";
  app.add_option("--name", name, "a name");
  p.help = app.help();
  args.insert(args.begin(), "prog");
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  p.rc = Parse(app, static_cast<int>(args.size()), args.data());
  testing::internal::GetCapturedStdout();
  testing::internal::GetCapturedStderr();
  return p;
}

TEST(Parse, ValuesAndDefaults) {
  auto p = RunApp({"--threads", "8", "--seeds", "2..9", "-X", "acks=all", "-X", "linger.ms=0"});
  EXPECT_FALSE(p.rc.has_value());
  EXPECT_EQ(p.threads, 8);
  EXPECT_EQ(p.seeds.first, 2u);
  EXPECT_EQ(p.seeds.last, 9u);
  ASSERT_EQ(p.props.size(), 2u);
  EXPECT_EQ(p.props[1].first, "linger.ms");
  EXPECT_NE(p.help.find("INT=4"), std::string::npos) << p.help;
  EXPECT_NE(p.help.find("TEXT=x"), std::string::npos) << p.help;
  EXPECT_NE(p.help.find("Exit codes:"), std::string::npos) << p.help;
  EXPECT_NE(p.help.find("1    a check failed"), std::string::npos) << p.help;
  EXPECT_NE(p.help.find("2    usage error"), std::string::npos) << p.help;
  EXPECT_NE(p.help.find("3    the run could not be made"), std::string::npos) << p.help;
}

TEST(Parse, UsageErrorsExitTwo) {
  for (std::vector<const char*> args : std::vector<std::vector<const char*>>{
           {"--threads", "-3"},   // out of range
           {"--threads", "3x"},   // not a number
           {"--threads"},         // missing value
           {"--seeds", "1..3x"},  // bad range
           {"--nosuch"},          // unknown option (CLI11's 109)
           {"extra"},             // unexpected positional
           {"-X", "novalue"},     // no '='
       }) {
    EXPECT_EQ(RunApp(args).rc, kExitUsage) << args[0];
  }
  EXPECT_EQ(RunApp({"--help"}).rc, kExitOk);
}

TEST(ResolvePath, AgainstBuildWorkingDirectory) {
  unsetenv("BUILD_WORKING_DIRECTORY");
  EXPECT_EQ(ResolvePath("h.jsonl"), "h.jsonl");
  setenv("BUILD_WORKING_DIRECTORY", "/home/u/src", 1);
  EXPECT_EQ(ResolvePath("h.jsonl"), "/home/u/src/h.jsonl");
  EXPECT_EQ(ResolvePath("out/h.jsonl"), "/home/u/src/out/h.jsonl");
  EXPECT_EQ(ResolvePath("/tmp/h.jsonl"), "/tmp/h.jsonl");
  EXPECT_EQ(ResolvePath("-"), "-");
  EXPECT_EQ(ResolvePath(""), "");
  unsetenv("BUILD_WORKING_DIRECTORY");
}

TEST(WriteFile, WritesAndReportsFailures) {
  const auto dir = std::filesystem::path(testing::TempDir());
  const std::string path = (dir / "cli_test_out.txt").string();
  ASSERT_TRUE(WriteFile(path, "hello\n"));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "hello\n");
  auto bad = WriteFile((dir / "no-such-dir" / "x").string(), "x");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("no-such-dir/x: No such file or directory"), std::string::npos) << bad.error();
}

TEST(Terminal, APipeIsNotATerminal) {
  std::FILE* f = std::tmpfile();
  EXPECT_FALSE(IsTerminal(f));
  std::fclose(f);
  EXPECT_FALSE(IsTerminal(nullptr));
}

TEST(Interrupt, FirstSigintSetsTheFlag) {
  InstallInterruptHandler();
  ResetInterrupted();
  EXPECT_FALSE(Interrupted());
  raise(SIGINT);
  EXPECT_TRUE(Interrupted());
  ResetInterrupted();
}

}  // namespace
}  // namespace kvlog::cli
