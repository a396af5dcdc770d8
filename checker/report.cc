#include "checker/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace kvlog::checker {
namespace {

using nlohmann::json;

std::string OpText(const Operation& o) {
  std::string s = "p" + std::to_string(o.process) + " " + o.f;
  if (o.key) s += " " + *o.key;
  s += " " + o.value().ToString();
  s += " [" + std::string(EventTypeName(o.outcome)) + "]";
  if (o.result && !*o.result) s += " (compare failed)";
  if (o.offset) s += " @" + std::to_string(*o.offset);
  if (o.applied) s += " applied=" + std::to_string(*o.applied);
  s += " line " + std::to_string(o.line);
  return s;
}

json QuantilesJson(const Quantiles& q) {
  return {{"count", q.count}, {"p50", q.p50}, {"p90", q.p90}, {"p99", q.p99}, {"max", q.max}};
}

}  // namespace

std::string TextReport(const FullReport& r) {
  std::string out;
  for (const auto& c : r.reports) {
    char took[48];
    std::snprintf(took, sizeof took, "%.3f s", c.seconds);
    out += c.checker + ": " + VerdictName(c.verdict) + " (" + c.summary + ") [analysis " + took + "]\n";
    for (const auto& v : c.violations) out += "  " + v.kind + ": " + v.message + "\n";
    if (c.violation_count > c.violations.size()) {
      out += "  ... and " + std::to_string(c.violation_count - c.violations.size()) + " more\n";
    }
  }
  if (r.linearizability && r.linearizability->witness) {
    const auto& w = *r.linearizability->witness;
    out += "  witness: longest linearizable prefix (" + std::to_string(w.prefix.size()) + " ops):\n";
    size_t from = w.prefix.size() > 10 ? w.prefix.size() - 10 : 0;
    if (from) out += "    ... " + std::to_string(from) + " earlier ops\n";
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
