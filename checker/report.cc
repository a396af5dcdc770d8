#include "checker/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace kvlog::checker {
namespace {

using nlohmann::json;

std::string Esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

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

std::string HtmlReport(const FullReport& r) {
  std::set<size_t> failing, prefix;
  for (const auto& c : r.reports) {
    for (const auto& v : c.violations) failing.insert(v.ops.begin(), v.ops.end());
  }
  if (r.linearizability && r.linearizability->witness) {
    failing.insert(r.linearizability->witness->blocking_op);
    prefix.insert(r.linearizability->witness->prefix.begin(), r.linearizability->witness->prefix.end());
  }
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kvcheck: " + Esc(r.source) +
       "</title>\n<style>\n"
       "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\n"
       ".v-valid{background:#e3f6e3}.v-invalid{background:#fbe0e0}.v-unknown{background:#fff3cd}"
       ".v-skipped{background:#eee}\n"
       ".process{display:flex;align-items:center;height:22px;border-bottom:1px solid #f0f0f0}\n"
       ".label{width:5em;font-size:12px;flex:none}.lane{position:relative;flex:1;height:18px}\n"
       ".op{position:absolute;height:16px;top:1px;min-width:2px;font-size:10px;overflow:hidden;"
       "white-space:nowrap;border-radius:2px}\n"
       ".op.ok{background:#8fd18f}.op.fail{background:#c8c8c8}.op.info{background:#f5c26b}\n"
       ".op.prefix{outline:1px solid #3a6fd8}.op.failing{background:#e04848;color:#fff;z-index:2}\n"
       "#witness{border-left:4px solid #e04848;padding-left:1em}\n"
       "</style></head><body>\n";
  h += "<h1>kvcheck report</h1>\n<p id=\"source\">History <code>" + Esc(r.source) + "</code>: " +
       std::to_string(r.ops.size()) + " operations. Overall verdict: <strong id=\"overall\">" +
       VerdictName(r.Overall()) + "</strong>.</p>\n";
  h += "<h2>Verdicts</h2>\n<table id=\"verdicts\"><tr><th>checker</th><th>verdict</th><th>summary</th></tr>\n";
  for (const auto& c : r.reports) {
    h += "<tr class=\"verdict v-" + std::string(VerdictName(c.verdict)) + "\"><td>" + Esc(c.checker) + "</td><td>" +
         VerdictName(c.verdict) + "</td><td>" + Esc(c.summary) + "</td></tr>\n";
  }
  h += "</table>\n";
  if (r.linearizability && r.linearizability->witness) {
    const auto& w = *r.linearizability->witness;
    h += "<section id=\"witness\"><h2>Why it is not linearizable</h2>\n<p class=\"explanation\">" +
         Esc(w.explanation) + "</p>\n";
    if (!w.part.empty()) h += "<p>Key: <code>" + Esc(w.part) + "</code></p>\n";
    h += "<p>Longest linearizable prefix (" + std::to_string(w.prefix.size()) +
         " operations, in linearization order):</p>\n<ol id=\"prefix\">\n";
    for (size_t i : w.prefix) h += "<li>" + Esc(OpText(r.ops[i])) + "</li>\n";
    h += "</ol>\n<p id=\"blocking\">Cannot be placed next: <strong>" + Esc(OpText(r.ops[w.blocking_op])) +
         "</strong> (state after the prefix: <code>" + Esc(w.state_after_prefix) + "</code>)</p></section>\n";
  }
  bool any_violation = false;
  for (const auto& c : r.reports) any_violation = any_violation || !c.violations.empty();
  if (any_violation) {
    h += "<section id=\"violations\"><h2>Violations</h2>\n<ul>\n";
    for (const auto& c : r.reports) {
      for (const auto& v : c.violations) {
        h += "<li class=\"violation\"><b>" + Esc(c.checker) + " / " + Esc(v.kind) + "</b>: " + Esc(v.message) + "</li>\n";
      }
      if (c.violation_count > c.violations.size()) {
        h += "<li>... and " + std::to_string(c.violation_count - c.violations.size()) + " more (" + Esc(c.checker) +
             ")</li>\n";
      }
    }
    h += "</ul></section>\n";
  }
  if (r.staleness.available) {
    h += "<section id=\"staleness\"><h2>Staleness</h2><table>\n"
         "<tr><th>figure</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>\n";
    auto row = [&](const char* name, const Quantiles& q) {
      h += std::string("<tr><td>") + name + "</td><td>" + std::to_string(q.count) + "</td><td>" +
           std::to_string(q.p50) + "</td><td>" + std::to_string(q.p90) + "</td><td>" + std::to_string(q.p99) +
           "</td><td>" + std::to_string(q.max) + "</td></tr>\n";
    };
    row("read: offsets behind", r.staleness.read_offsets_behind);
    row("read: ns behind", r.staleness.read_ns_behind);
    row("write: ns until applied everywhere", r.staleness.write_visibility_ns);
    h += "</table></section>\n";
  }

  // Timeline: a window of operations, one lane per process; x = event order.
  size_t first = 0;
  if (r.ops.size() > kMaxTimelineOps && !failing.empty()) {
    size_t f = *failing.begin();
    first = f > kMaxTimelineOps / 2 ? f - kMaxTimelineOps / 2 : 0;
  }
  size_t last = std::min(r.ops.size(), first + kMaxTimelineOps);
  h += "<section id=\"timeline\"><h2>Timeline</h2>\n";
  if (r.ops.empty()) {
    h += "<p>No operations.</p></section></body></html>\n";
    return h;
  }
  if (first > 0 || last < r.ops.size()) {
    h += "<p>Showing operations " + std::to_string(first) + " to " + std::to_string(last - 1) + " of " +
         std::to_string(r.ops.size()) + ".</p>\n";
  }
  h += "<p>Green: ok; grey: failed; orange: outcome unknown; red: failing; blue outline: in the witness prefix. "
       "Hover an operation for details.</p>\n";
  int64_t lo = r.ops[first].call, hi = lo + 1;
  for (size_t i = first; i < last; ++i) {
    hi = std::max(hi, r.ops[i].ret == Operation::kNever ? r.ops[i].call + 1 : r.ops[i].ret + 1);
  }
  std::map<int64_t, std::string> lanes;
  for (size_t i = first; i < last; ++i) {
    const Operation& o = r.ops[i];
    int64_t end = o.ret == Operation::kNever ? hi : o.ret + 1;
    double left = 100.0 * static_cast<double>(o.call - lo) / static_cast<double>(hi - lo);
    double width = 100.0 * static_cast<double>(end - o.call) / static_cast<double>(hi - lo);
    char geom[96];
    std::snprintf(geom, sizeof geom, "left:%.4f%%;width:%.4f%%", left, width);
    std::string cls = std::string("op ") + EventTypeName(o.outcome);
    if (prefix.contains(i)) cls += " prefix";
    if (failing.contains(i)) cls += " failing";
    lanes[o.process] += "<div class=\"" + cls + "\" style=\"" + geom + "\" title=\"" + Esc(OpText(o)) + "\">" +
                        Esc(o.f + " " + o.value().ToString()) + "</div>";
  }
  for (const auto& [p, ops] : lanes) {
    h += "<div class=\"process\" data-process=\"" + std::to_string(p) + "\"><span class=\"label\">process " +
         std::to_string(p) + "</span><div class=\"lane\">" + ops + "</div></div>\n";
  }
  h += "</section>\n</body></html>\n";
  return h;
}

}  // namespace kvlog::checker
