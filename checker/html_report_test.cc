// HtmlReport without a browser: escaping of arbitrary bytes, size limits on
// big histories, the time axis fallback, nemesis windows, violation links and
// human durations. (tools/kvcheck/html_render_test.sh renders it in Chromium.)
#include <string>

#include "checker/check.h"
#include "checker/edn.h"
#include "checker/report.h"
#include "checker/testing/generate.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

FullReport Check(const History& h, Format format, std::vector<std::string> checks = {}) {
  CheckOptions options;
  options.checks = std::move(checks);
  auto r = CheckHistory(h, format, options);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return r.has_value() ? std::move(*r) : FullReport{};
}

FullReport CheckEdn(const std::string& text) {
  auto h = ParseJepsenEdn(text, "t.edn");
  EXPECT_TRUE(h.has_value()) << h.error().ToString();
  return Check(*h, Format::kJepsenEdn);
}

TEST(HtmlReport, DurationsInHumanUnits) {
  EXPECT_EQ(HumanDuration(0), "0 ns");
  EXPECT_EQ(HumanDuration(999), "999 ns");
  EXPECT_EQ(HumanDuration(1500), "1.50 \xc2\xb5s");
  EXPECT_EQ(HumanDuration(250'000), "250 \xc2\xb5s");
  EXPECT_EQ(HumanDuration(12'345'678), "12.3 ms");
  EXPECT_EQ(HumanDuration(2'100'000'000), "2.10 s");
  EXPECT_EQ(HumanDuration(-4'000'000), "-4.00 ms");
}

TEST(HtmlReport, EscapesEverythingFromTheHistory) {
  History h;
  h.source = "a<b>.jsonl";
  auto ev = [&](int64_t p, EventType t, std::string f, std::string key, Value v, int64_t time) {
    Event e;
    e.process = p;
    e.type = t;
    e.f = std::move(f);
    e.key = std::move(key);
    e.value = std::move(v);
    e.time = time;
    e.replica = "<img src=x>";
    h.events.push_back(std::move(e));
  };
  const std::string key = "<script>alert(1)</script>\xff\xfe\"'&";
  ev(0, EventType::kInvoke, "put", key, Value::String("caf\xc3\xa9<b>\x01\xc3"), 10);
  ev(0, EventType::kOk, "put", key, Value::String("caf\xc3\xa9<b>\x01\xc3"), 20);
  ev(1, EventType::kInvoke, "get", key, Value(), 30);
  ev(1, EventType::kOk, "get", key, Value::String("never written </div>"), 40);
  FullReport r = Check(h, Format::kJsonl, {"session"});
  ASSERT_EQ(r.Overall(), Verdict::kInvalid);  // read-unknown-value
  const std::string page = HtmlReport(r);
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("\xc3\xa9<b>"), std::string::npos);
  EXPECT_EQ(page.find("never written </div>"), std::string::npos);
  EXPECT_EQ(page.find('\x01'), std::string::npos);
  EXPECT_EQ(page.find('\xff'), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;\\xff\\xfe&quot;&#39;&amp;"), std::string::npos);
  EXPECT_NE(page.find("caf\xc3\xa9&lt;b&gt;\\x01\\xc3"), std::string::npos);  // valid UTF-8 kept, the rest \xNN
  EXPECT_NE(page.find("a&lt;b&gt;.jsonl"), std::string::npos);
  // The page's own markup: exactly one script, no network.
  EXPECT_EQ(Count(page, "<script>"), 1u);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find(" line 0"), std::string::npos);  // in-memory events have no lines
}

TEST(HtmlReport, BigHistoriesStayWithinTheLimits) {
  // Many keys: those with violations are drawn first, the rest named.
  testing::GenerateOptions g;
  g.operations = 6'000;
  g.keys = 300;
  g.replicas = 8;
  History h = testing::GenerateKvHistory(g);
  ASSERT_TRUE(testing::InjectViolation(&h, testing::Breakage::kStaleOwnRead, 3));
  FullReport r = Check(h, Format::kJsonl);
  ASSERT_EQ(r.Overall(), Verdict::kInvalid);
  const std::string page = HtmlReport(r);
  EXPECT_EQ(Count(page, "<section class=\"key"), kMaxHtmlKeySections);
  EXPECT_NE(page.find("id=\"keys-not-drawn\""), std::string::npos);
  const size_t first_section = page.find("<section class=\"key");
  ASSERT_NE(first_section, std::string::npos);
  EXPECT_EQ(page.substr(first_section, 29), "<section class=\"key flagged\" ");
  // The read-your-writes violation links to the write it should have seen,
  // which is drawn.
  const size_t ryw = page.find("session / read-your-writes</a>");
  ASSERT_NE(ryw, std::string::npos);
  const std::string item = page.substr(ryw, page.find("</li></ul></li>", ryw) - ryw);
  EXPECT_NE(item.find("its own write, which it should have seen"), std::string::npos) << item;
  EXPECT_EQ(item.find("undrawn"), std::string::npos) << item;

  // Few keys, many operations each: each key is capped around its first
  // violation, and the page as a whole too; both are said.
  g.keys = 8;
  g.operations = 24'000;
  History few = testing::GenerateKvHistory(g);
  ASSERT_TRUE(testing::InjectViolation(&few, testing::Breakage::kStaleOwnRead, 5));
  const std::string capped = HtmlReport(Check(few, Format::kJsonl));
  EXPECT_LT(capped.size(), 8u << 20);
  const size_t drawn = Count(capped, "<div class=\"op ");
  EXPECT_LE(drawn, kMaxHtmlDrawnOps);
  EXPECT_GT(drawn, kMaxHtmlDrawnOps - kMaxHtmlOpsPerKey);
  const size_t sections = Count(capped, "<section class=\"key");
  EXPECT_EQ(Count(capped, "class=\"note capped\""), sections);
  EXPECT_LT(sections, 8u);
  EXPECT_NE(capped.find("id=\"keys-not-drawn\""), std::string::npos);
  const size_t flagged = capped.find("<section class=\"key flagged\"");
  ASSERT_NE(flagged, std::string::npos);
  EXPECT_NE(capped.find("hl", 0), std::string::npos);
}

TEST(HtmlReport, TimeAxisOrEventOrderSaidSo) {
  const std::string timed = HtmlReport(CheckEdn(R"([{:process 0, :type :invoke, :f :write, :value 1, :time 5}
 {:process 0, :type :ok, :f :write, :value 1, :time 2000005}])"));
  EXPECT_NE(timed.find("data-mode=\"time\""), std::string::npos);
  EXPECT_NE(timed.find("took 2.00 ms"), std::string::npos);
  EXPECT_NE(timed.find("id=\"order-mode\""), std::string::npos);
  // One event without a time: event order, and the page says so.
  const std::string untimed = HtmlReport(CheckEdn(R"([{:process 0, :type :invoke, :f :write, :value 1, :time 5}
 {:process 0, :type :ok, :f :write, :value 1}])"));
  EXPECT_NE(untimed.find("data-mode=\"order\""), std::string::npos);
  EXPECT_NE(untimed.find("This history has no times"), std::string::npos);
  EXPECT_EQ(untimed.find("id=\"order-mode\""), std::string::npos);
  EXPECT_NE(untimed.find("event 0\xe2\x80\x93" "1"), std::string::npos);
}

TEST(HtmlReport, NemesisWindowsShadedOnlyWhenTheHistoryHasThem) {
  // Jepsen's kill ... start pairs; a window left open runs to the end.
  const std::string page = HtmlReport(CheckEdn(R"([{:process 0, :type :invoke, :f :write, :value 1, :time 0}
 {:process :nemesis, :type :info, :f :kill, :value "n1", :time 100}
 {:process :nemesis, :type :info, :f :kill, :value "n1", :time 110}
 {:process 0, :type :ok, :f :write, :value 1, :time 1000}
 {:process :nemesis, :type :info, :f :start, :value nil, :time 2000}
 {:process :nemesis, :type :info, :f :start, :value "n1", :time 2100}
 {:process 1, :type :invoke, :f :read, :value nil, :time 3000}
 {:process :nemesis, :type :info, :f :start-partition, :value "majority", :time 3500}
 {:process 1, :type :ok, :f :read, :value 1, :time 4000}])"));
  EXPECT_EQ(Count(page, "<div class=\"nemesis\""), 2u);
  EXPECT_NE(page.find("title=\"nemesis: kill n1 \xe2\x80\xa6 start (+100 ns to +2.10 \xc2\xb5s)\""), std::string::npos);
  EXPECT_NE(page.find("title=\"nemesis: start-partition majority (+3.50 \xc2\xb5s, to the end)\""),
            std::string::npos);
  EXPECT_EQ(page.find("id=\"nemesis-none\""), std::string::npos);
  const std::string none = HtmlReport(CheckEdn(R"([{:process 0, :type :invoke, :f :write, :value 1, :time 0}
 {:process 0, :type :ok, :f :write, :value 1, :time 1000}])"));
  EXPECT_EQ(Count(none, "<div class=\"nemesis"), 0u);
  EXPECT_NE(none.find("id=\"nemesis-none\""), std::string::npos);
}

TEST(HtmlReport, WitnessNumberedAndViolationLinkedToTheWrites) {
  const std::string page = HtmlReport(CheckEdn(R"([{:process 0, :type :invoke, :f :write, :value 1, :time 0}
 {:process 0, :type :ok, :f :write, :value 1, :time 10}
 {:process 1, :type :invoke, :f :write, :value 2, :time 20}
 {:process 1, :type :ok, :f :write, :value 2, :time 30}
 {:process 2, :type :invoke, :f :read, :value nil, :time 40}
 {:process 2, :type :ok, :f :read, :value 1, :time 50}])"));
  EXPECT_NE(page.find("data-lin=\"1\""), std::string::npos);
  EXPECT_NE(page.find("data-lin=\"2\""), std::string::npos);
  EXPECT_EQ(page.find("data-lin=\"3\""), std::string::npos);
  EXPECT_NE(page.find("class=\"op ok flag blocking\" id=\"key-0-op-2\""), std::string::npos);
  EXPECT_NE(page.find("id=\"violation-0\" data-ops=\"2 1 0\""), std::string::npos);
  EXPECT_NE(page.find("write it should have seen (last in the prefix):</span> p1 write 2"), std::string::npos);
  EXPECT_NE(page.find("write whose value it returned:</span> p0 write 1"), std::string::npos);
}

}  // namespace
}  // namespace kvlog::checker
