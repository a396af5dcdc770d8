#include "checker/report.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include <fmt/format.h>

namespace kvlog::checker {
namespace {

using nlohmann::json;

std::string OpText(const Operation& o) {
  std::string s = fmt::format("p{} {}", o.process, o.f);
  auto out = std::back_inserter(s);
  if (o.key) fmt::format_to(out, " {}", *o.key);
  fmt::format_to(out, " {} [{}]", o.value().ToString(), EventTypeName(o.outcome));
  if (o.result && !*o.result) s += " (compare failed)";
  if (o.offset) fmt::format_to(out, " @{}", *o.offset);
  if (o.applied) fmt::format_to(out, " applied={}", *o.applied);
  fmt::format_to(out, " line {}", o.line);
  return s;
}

json QuantilesJson(const Quantiles& q) {
  return {{"count", q.count}, {"p50", q.p50}, {"p90", q.p90}, {"p99", q.p99}, {"max", q.max}};
}

}  // namespace

std::string TextReport(const FullReport& r) {
  std::string out;
  for (const auto& c : r.reports) {
    fmt::format_to(std::back_inserter(out), "{}: {} ({}) [analysis {:.3f} s]\n", c.checker, VerdictName(c.verdict),
                   c.summary, c.seconds);
    for (const auto& v : c.violations) fmt::format_to(std::back_inserter(out), "  {}: {}\n", v.kind, v.message);
    if (c.violation_count > c.violations.size()) {
      fmt::format_to(std::back_inserter(out), "  ... and {} more\n", c.violation_count - c.violations.size());
    }
  }
  if (r.linearizability && r.linearizability->witness) {
    const auto& w = *r.linearizability->witness;
    fmt::format_to(std::back_inserter(out), "  witness: longest linearizable prefix ({} ops):\n", w.prefix.size());
    size_t from = w.prefix.size() > 10 ? w.prefix.size() - 10 : 0;
    if (from) fmt::format_to(std::back_inserter(out), "    ... {} earlier ops\n", from);
    for (size_t i = from; i < w.prefix.size(); ++i) out += "    " + OpText(r.ops[w.prefix[i]]) + "\n";
    out += "  cannot place: " + OpText(r.ops[w.blocking_op]) + "\n";
  }
  if (r.staleness.available) {
    out += "staleness: read offsets behind " + r.staleness.read_offsets_behind.ToString() + "; read ns behind " +
           r.staleness.read_ns_behind.ToString() + "; write visibility ns " +
           r.staleness.write_visibility_ns.ToString() + "\n";
  }
  out += std::string("overall: ") + VerdictName(r.Overall()) + "\n";
  return out;
}

std::string JsonReport(const FullReport& r) {
  json j;
  j["source"] = r.source;
  j["operations"] = r.ops.size();
  j["overall"] = VerdictName(r.Overall());
  json checks = json::array();
  for (const auto& c : r.reports) {
    json cj = {{"checker", c.checker}, {"verdict", VerdictName(c.verdict)}, {"summary", c.summary},
               {"violation_count", c.violation_count}, {"analysis_seconds", c.seconds}};
    json vs = json::array();
    for (const auto& v : c.violations) {
      json lines = json::array();
      for (size_t i : v.ops) lines.push_back(r.ops[i].line);
      vs.push_back({{"kind", v.kind}, {"message", v.message}, {"lines", lines}});
    }
    cj["violations"] = vs;
    if (c.checker == "linearizability") {
      cj["model"] = r.model;
      if (r.linearizability && r.linearizability->witness) {
        const auto& w = *r.linearizability->witness;
        json prefix = json::array();
        for (size_t i : w.prefix) prefix.push_back(OpText(r.ops[i]));
        cj["witness"] = {{"part", w.part},
                         {"prefix", prefix},
                         {"blocking", OpText(r.ops[w.blocking_op])},
                         {"state_after_prefix", w.state_after_prefix},
                         {"explanation", w.explanation}};
      }
    }
    checks.push_back(cj);
  }
  j["checks"] = checks;
  if (r.staleness.available) {
    j["staleness"] = {{"read_offsets_behind", QuantilesJson(r.staleness.read_offsets_behind)},
                      {"read_ns_behind", QuantilesJson(r.staleness.read_ns_behind)},
                      {"write_visibility_ns", QuantilesJson(r.staleness.write_visibility_ns)},
                      {"writes_never_seen_everywhere", r.staleness.writes_never_seen_everywhere}};
  }
  return j.dump(2) + "\n";
}

}  // namespace kvlog::checker
