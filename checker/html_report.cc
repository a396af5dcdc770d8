// HtmlReport: one self-contained page (inline CSS and JS, no network).
//
// Layout: the verdicts; the violations, each linked to its operations (a
// click scrolls to the operation in the timeline and highlights it); the
// linearizability witness; staleness in human units; then one timeline per
// key (Porcupine partitions by key), one lane per process, x = the events'
// `time` (event order when the history has no times, and the page says so),
// with zoom and pan in plain JS, nemesis windows shaded and the witness's
// linearization order drawn. Everything taken from the history is escaped;
// bytes that are not UTF-8 are shown as \xNN.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "checker/report.h"

namespace kvlog::checker {
namespace {

// ---------------------------------------------------------------- text

// Text from the history as valid UTF-8 without control characters: other
// bytes become \xNN. At most `max` bytes of input are shown.
std::string Printable(std::string_view s, size_t max = 160) {
  std::string out;
  const size_t n = std::min(s.size(), max);
  size_t i = 0;
  auto hex = [&](unsigned char c) { fmt::format_to(std::back_inserter(out), "\\x{:02x}", c); };
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) {
        hex(c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence passes whole (no overlongs, no surrogates).
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      hex(c);
      ++i;
    }
  }
  if (s.size() > max) fmt::format_to(std::back_inserter(out), "\xe2\x80\xa6 ({} bytes)", s.size());
  return out;
}

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
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

// History text, printable and escaped for HTML text and attributes.
std::string H(std::string_view s, size_t max = 160) { return Esc(Printable(s, max)); }

std::string Num(double v) {
  std::string s = fmt::format("{:.4f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::string HumanDuration(int64_t ns) {
  const bool neg = ns < 0;
  const double a = neg ? -static_cast<double>(ns) : static_cast<double>(ns);
  // At most three significant figures: 1.23, 12.3, 123 of the unit.
  auto in = [&](double unit, std::string_view name) {
    const int precision = a < 10 * unit ? 2 : a < 100 * unit ? 1 : 0;
    return fmt::format("{}{:.{}f} {}", neg ? "-" : "", a / unit, precision, name);
  };
  if (a < 1e3) return fmt::format("{}{:.0f} ns", neg ? "-" : "", a);
  if (a < 1e6) return in(1e3, "\xc2\xb5s");
  if (a < 1e9) return in(1e6, "ms");
  return in(1e9, "s");
}

namespace {

// ---------------------------------------------------------------- model

// Which section an operation is drawn in: its key; a batch in every key it
// writes; ranges in a section of their own.
constexpr const char* kRangeSection = "\x01ranges";

std::vector<std::string> SectionsOf(const Operation& o) {
  if (o.f == "range") return {kRangeSection};
  if (o.f == "batch" && o.input.is_list()) {
    std::vector<std::string> keys;
    for (const Value& item : o.input.items()) {
      const Value* k = item.is_map() ? item.Find("key") : nullptr;
      if (!k) continue;
      std::string key = k->is_string() ? k->as_string() : k->ToString();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    }
    if (!keys.empty()) return keys;
  }
  return {o.key.value_or("")};
}

// A short label drawn inside the box (the key is the section's).
std::string OpLabel(const Operation& o, const std::string& section) {
  const char* mark = o.outcome == EventType::kFail ? " \xe2\x9c\x97" : o.info() ? " ?" : "";
  if (o.f == "batch" && o.input.is_list()) {
    std::string subs;
    for (const Value& item : o.input.items()) {
      const Value* k = item.is_map() ? item.Find("key") : nullptr;
      if (!k || (k->is_string() ? k->as_string() : k->ToString()) != section) continue;
      const Value* f = item.Find("f");
      const Value* v = item.Find("value");
      subs += (subs.empty() ? "" : ", ") + (f ? f->ToString() : std::string("?"));
      if (v && !v->is_nil()) subs += " " + v->ToString();
    }
    return "batch: " + subs + mark;
  }
  if (IsReadFunction(o.f)) {
    if (!o.ok()) return o.f.str() + mark;
    if (o.f == "range") {
      return fmt::format("range {}\xe2\x80\xa6 \xe2\x86\x92 {} pairs", o.key.value_or(""),
                         o.output.is_list() ? o.output.items().size() : 0);
    }
    return o.f.str() + " \xe2\x86\x92 " + o.output.ToString();
  }
  if (o.f == "cas" && o.input.is_list() && o.input.items().size() == 2) {
    return "cas " + o.input.items()[0].ToString() + "\xe2\x86\x92" + o.input.items()[1].ToString() +
           (o.result && !*o.result ? " (no)" : "") + mark;
  }
  if (o.f == "delete") return std::string("delete") + mark;
  return o.f.str() + " " + o.input.ToString() + mark;
}

// What a nemesis action does to the fault window it belongs to.
struct NemesisRole {
  enum Kind { kOpen, kClose, kMark } kind = kMark;
  std::vector<std::string> classes;  // windows it opens (one) or closes
};

NemesisRole RoleOf(const std::string& f, const std::set<std::string>& open) {
  auto starts = [&](std::string_view p) { return f.rfind(p, 0) == 0; };
  if (f == "stop") return {NemesisRole::kClose, {"start"}};
  if (starts("stop-")) return {NemesisRole::kClose, {"start-" + f.substr(5)}};
  if (f == "start" && (open.contains("kill") || open.contains("crash"))) {
    return {NemesisRole::kClose, {"kill", "crash"}};
  }
  if (f == "resume") return {NemesisRole::kClose, {"pause"}};
  if (starts("resume-")) return {NemesisRole::kClose, {"pause-" + f.substr(7)}};
  if (f == "restart" || f == "recover") return {NemesisRole::kClose, {"kill", "crash"}};
  if (f == "reset-clock") return {NemesisRole::kClose, {"bump-clock", "strobe-clock"}};
  if (f == "heal") {
    NemesisRole r{NemesisRole::kClose, {}};
    for (const auto& c : open) {
      if (c.rfind("partition", 0) == 0 || c.rfind("start", 0) == 0) r.classes.push_back(c);
    }
    return r;
  }
  if (f == "start" || starts("start-") || f == "kill" || starts("kill-") || f == "crash" || starts("crash-") ||
      f == "pause" || starts("pause-") || f == "partition" || starts("partition-") || f == "bump-clock" ||
      f == "strobe-clock") {
    return {NemesisRole::kOpen, {f}};
  }
  return {};
}

struct FaultWindow {
  size_t first = 0, last = 0;  // indices into FullReport::nemesis
  bool closed = false;         // false: lasts to the end of the history
  bool mark = false;           // a single action, no window
  std::string label;
};

std::vector<FaultWindow> FaultWindows(const std::vector<NemesisEvent>& nemesis) {
  std::vector<FaultWindow> out;
  std::map<std::string, size_t> open;  // class -> window
  std::set<std::string> open_names;
  constexpr size_t kNoWindow = static_cast<size_t>(-1);
  size_t closing = kNoWindow;  // the window the previous action closed (a sentinel, not an optional:
                               // GCC 12 -O2 takes the optional for uninitialized)
  for (size_t i = 0; i < nemesis.size(); ++i) {
    const NemesisEvent& n = nemesis[i];
    const bool same_as_previous = i > 0 && nemesis[i - 1].f == n.f;
    // The completion of a closing action: the fault ends when it returns.
    if (same_as_previous && closing != kNoWindow) {
      out[closing].last = i;
      continue;
    }
    NemesisRole role = RoleOf(n.f, open_names);
    std::string what = n.f + (n.value.empty() ? "" : " " + n.value);
    if (role.kind == NemesisRole::kOpen) {
      closing = kNoWindow;
      if (open.contains(role.classes[0])) {
        if (!same_as_previous) out[open[role.classes[0]]].label += "; " + what;
        continue;
      }
      open[role.classes[0]] = out.size();
      open_names.insert(role.classes[0]);
      out.push_back({i, i, false, false, what});
    } else if (role.kind == NemesisRole::kClose) {
      bool closed_any = false;
      for (const auto& c : role.classes) {
        auto it = open.find(c);
        if (it == open.end()) continue;
        FaultWindow& w = out[it->second];
        w.last = i;
        w.closed = true;
        w.label += " \xe2\x80\xa6 " + what;
        closing = it->second;
        open.erase(it);
        open_names.erase(c);
        closed_any = true;
      }
      if (!closed_any) {
        closing = kNoWindow;
        out.push_back({i, i, true, true, what});
      }
    } else {
      closing = kNoWindow;
      if (same_as_previous && !out.empty() && out.back().mark) continue;
      out.push_back({i, i, true, true, what});
    }
  }
  return out;
}

// ---------------------------------------------------------------- builder

class Page {
 public:
  explicit Page(const FullReport& r) : r_(r) {}

  // Appends to the page.
  template <typename... Args>
  void Out(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(h_), format, std::forward<Args>(args)...);
  }

  std::string Render() {
    Prepare();
    Head();
    Summary();
    Violations();
    Witness();
    Staleness();
    Timelines();
    h_ += "<div id=\"details\" title=\"click to close\" hidden></div>\n<script>\n";
    h_ += kScript;
    h_ += "</script>\n</body></html>\n";
    return std::move(h_);
  }

 private:
  struct Section {
    std::string key;
    std::vector<size_t> ops;  // all, by call
    size_t flagged = 0;       // violations involving it
    size_t first_flag = SIZE_MAX;
  };

  void Prepare() {
    use_time_ = !r_.ops.empty();
    for (const Operation& o : r_.ops) {
      if (!o.call_time || (o.ret != Operation::kNever && !o.ret_time)) use_time_ = false;
    }
    if (use_time_) {
      base_ = INT64_MAX;
      for (const Operation& o : r_.ops) base_ = std::min(base_, *o.call_time);
      for (const Operation& o : r_.ops) {
        end_ = std::max(end_, (o.ret_time ? *o.ret_time : *o.call_time) - base_);
        pos_time_.emplace_back(o.call, *o.call_time - base_);
        if (o.ret_time) pos_time_.emplace_back(o.ret, *o.ret_time - base_);
      }
      std::sort(pos_time_.begin(), pos_time_.end());
      for (const NemesisEvent& n : r_.nemesis) {
        if (n.time) end_ = std::max(end_, *n.time - base_);
      }
    }
    // The next invocation of the same process, where info ops stop being drawn.
    next_call_.assign(r_.ops.size(), -1);
    absl::flat_hash_map<int64_t, size_t> last;
    for (const Operation& o : r_.ops) {
      if (auto it = last.find(o.process); it != last.end()) next_call_[it->second] = static_cast<int64_t>(o.index);
      last[o.process] = o.index;
    }
    // Violations, in report order, and the operations they flag.
    for (const auto& c : r_.reports) {
      for (const auto& v : c.violations) violations_.push_back({&c, &v});
    }
    if (r_.linearizability && r_.linearizability->witness) {
      const auto& w = *r_.linearizability->witness;
      for (size_t k = 0; k < w.prefix.size(); ++k) lin_order_[w.prefix[k]] = k + 1;
      blocking_ = w.blocking_op;
    }
    // Sections.
    std::map<std::string, Section> by_key;
    for (const Operation& o : r_.ops) {
      for (auto& k : SectionsOf(o)) {
        Section& s = by_key[k];
        s.key = k;
        s.ops.push_back(o.index);
      }
    }
    for (size_t vi = 0; vi < violations_.size(); ++vi) {
      for (size_t op : violations_[vi].v->ops) {
        if (op >= r_.ops.size()) continue;
        for (auto& k : SectionsOf(r_.ops[op])) {
          Section& s = by_key[k];
          ++s.flagged;
          s.first_flag = std::min(s.first_flag, vi);
        }
      }
    }
    for (auto& [k, s] : by_key) sections_.push_back(std::move(s));
    // Flagged keys first (by first violation), then the rest by key.
    std::stable_sort(sections_.begin(), sections_.end(),
                     [](const Section& a, const Section& b) { return a.first_flag < b.first_flag; });
    // Writers: (key, value) -> the first operation that wrote it, to link a
    // read to the write it saw; (offset, op) per key. Only for the keys of
    // operations in violations, so that a big history costs little here.
    absl::flat_hash_set<std::string> wanted;
    for (const auto& [c, v] : violations_) {
      for (size_t op : v->ops) {
        if (op < r_.ops.size()) wanted.insert(r_.ops[op].key.value_or(""));
      }
    }
    for (const Operation& o : r_.ops) {
      auto note = [&](const std::string& key, const Value& v) {
        if (!v.is_nil() && wanted.contains(key)) writer_.try_emplace(key + '\0' + v.ToString(), o.index);
      };
      if (o.ok() && o.offset && o.key && o.f != "batch" && !IsReadFunction(o.f) && wanted.contains(std::string(*o.key))) {
        by_offset_[std::string(*o.key)].emplace_back(*o.offset, o.index);
      }
      if (o.f == "put" || o.f == "write" || o.f == "append") note(o.key.value_or(""), o.input);
      if (o.f == "cas" && o.input.is_list() && o.input.items().size() == 2) {
        note(o.key.value_or(""), o.input.items()[1]);
      }
      if (o.f == "batch" && o.input.is_list()) {
        for (const Value& item : o.input.items()) {
          const Value* k = item.is_map() ? item.Find("key") : nullptr;
          const Value* v = item.is_map() ? item.Find("value") : nullptr;
          if (k && v) note(k->is_string() ? k->as_string() : k->ToString(), *v);
        }
      }
    }
    for (auto& [k, v] : by_offset_) std::sort(v.begin(), v.end());
  }

  std::string Rel(int64_t t) const { return "+" + HumanDuration(t); }

  // Full description of an operation: tooltip, details box, lists.
  std::string Describe(const Operation& o) const {
    std::string s = fmt::format("p{}", o.process);
    auto out = std::back_inserter(s);
    if (o.replica) s += " (" + Printable(*o.replica, 40) + ")";
    s += " " + o.f.str();
    if (o.key) s += " " + Printable(*o.key, 80);
    if (!o.input.is_nil()) s += " " + Printable(o.input.ToString());
    if (IsReadFunction(o.f) && o.ok()) s += " \xe2\x86\x92 " + Printable(o.output.ToString());
    s += " \xc2\xb7 ";
    s += o.ok() ? "ok" : o.outcome == EventType::kFail ? "failed" : "outcome unknown";
    if (o.result && !*o.result) s += " (compare failed)";
    if (use_time_) {
      s += " \xc2\xb7 invoked " + Rel(*o.call_time - base_);
      if (o.ret_time) {
        s += ", returned " + Rel(*o.ret_time - base_) + " (took " + HumanDuration(*o.ret_time - *o.call_time) + ")";
      }
    } else {
      fmt::format_to(out, " \xc2\xb7 event {}", o.call);
      if (o.ret != Operation::kNever) fmt::format_to(out, "\xe2\x80\x93{}", o.ret);
    }
    if (o.offset) fmt::format_to(out, " \xc2\xb7 offset {}", *o.offset);
    if (o.applied) fmt::format_to(out, " \xc2\xb7 served at position {}", *o.applied);
    if (o.op) s += " \xc2\xb7 op " + Printable(*o.op, 40);
    if (o.line > 0) fmt::format_to(out, " \xc2\xb7 line {}", o.line);
    return s;
  }

  // A link to an operation; PatchLists marks those the timelines do not draw.
  std::string OpLink(size_t op, const std::string& role) const {
    if (op >= r_.ops.size()) return "";
    std::string s = fmt::format("<a class=\"oplink\" href=\"#op-{0}\" data-op=\"{0}\">", op);
    if (!role.empty()) s += "<span class=\"role\">" + Esc(role) + "</span> ";
    return s + Esc(Describe(r_.ops[op])) + "</a>";
  }

  // The write a read saw: the first write of the value it returned.
  std::optional<size_t> WriterOf(const Operation& o) const {
    if (!IsReadFunction(o.f) || !o.ok() || o.output.is_nil() || o.f == "range") return std::nullopt;
    auto it = writer_.find(o.key.value_or("") + '\0' + o.output.ToString());
    if (it == writer_.end() || it->second == o.index) return std::nullopt;
    return it->second;
  }

  // For a read served at a log position: the acknowledged write of its key
  // with the highest offset below that position, when the read did not
  // return its value (the write it should have seen).
  std::optional<size_t> ShouldHaveSeen(const Operation& o) const {
    if (!IsReadFunction(o.f) || !o.ok() || !o.applied || o.f == "range") return std::nullopt;
    auto it = by_offset_.find(o.key.value_or(""));
    if (it == by_offset_.end()) return std::nullopt;
    const auto& v = it->second;
    auto at = std::lower_bound(v.begin(), v.end(), std::pair<int64_t, size_t>(*o.applied, 0));
    if (at == v.begin()) return std::nullopt;
    const Operation& w = r_.ops[std::prev(at)->second];
    const bool same = w.f == "delete" ? o.output.is_nil()
                      : w.f == "cas" && w.input.is_list() && w.input.items().size() == 2
                          ? w.input.items()[1] == o.output
                          : w.input == o.output;
    if (same) return std::nullopt;
    return w.index;
  }

  // For a witness: the write the prefix leaves in place on the blocking op's
  // key, i.e. the value a read placed next had to return.
  std::optional<size_t> LastPrefixWrite() const {
    if (!r_.linearizability || !r_.linearizability->witness) return std::nullopt;
    const auto& w = *r_.linearizability->witness;
    const Operation& b = r_.ops[w.blocking_op];
    for (size_t k = w.prefix.size(); k-- > 0;) {
      const Operation& o = r_.ops[w.prefix[k]];
      if (!IsReadFunction(o.f) && o.key == b.key) return o.index;
    }
    return std::nullopt;
  }

  // (op, role) pairs a violation links to.
  std::vector<std::pair<size_t, std::string>> Roles(const CheckReport& c, const Violation& v) const {
    std::vector<std::pair<size_t, std::string>> out;
    auto add = [&](size_t op, std::string role) {
      for (const auto& [o, _] : out) {
        if (o == op) return;
      }
      out.emplace_back(op, std::move(role));
    };
    if (c.checker == "linearizability" && !v.ops.empty()) {
      add(v.ops[0], "cannot be placed:");
      if (auto w = LastPrefixWrite()) add(*w, "write it should have seen (last in the prefix):");
      if (auto w = WriterOf(r_.ops[v.ops[0]])) add(*w, "write whose value it returned:");
      return out;
    }
    for (size_t k = 0; k < v.ops.size(); ++k) {
      size_t op = v.ops[k];
      if (op >= r_.ops.size()) continue;
      const Operation& o = r_.ops[op];
      std::string role;
      if (v.kind == "read-your-writes") {
        role = IsReadFunction(o.f) ? "the read:" : "its own write, which it should have seen:";
      } else if (v.kind == "monotonic-reads") {
        role = k == 0 ? "earlier read:" : "later read, older state:";
      } else {
        role = IsReadFunction(o.f) ? "read:" : "write:";
      }
      add(op, role);
    }
    for (size_t k = 0; k < v.ops.size(); ++k) {
      if (v.ops[k] >= r_.ops.size()) continue;
      if (auto w = ShouldHaveSeen(r_.ops[v.ops[k]])) {
        add(*w, "write it should have seen (the latest acknowledged below the read's position):");
      }
      if (auto w = WriterOf(r_.ops[v.ops[k]])) add(*w, "write whose value it returned:");
    }
    return out;
  }

  void Head() {
    h_ += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>kvcheck: " +
          H(r_.source) + " \xe2\x80\x94 " + VerdictName(r_.Overall()) + "</title>\n<style>\n";
    h_ += kStyle;
    h_ += "</style></head>\n<body data-mode=\"" + std::string(use_time_ ? "time" : "order") + "\" data-has-time=\"" +
          (use_time_ ? "1" : "0") + "\">\n";
  }

  void Summary() {
    const char* overall = VerdictName(r_.Overall());
    Out("<header><h1>kvcheck report <span class=\"badge v-{0}\" id=\"overall\">{0}</span></h1>\n<p id=\"source\">"
        "History <code>{1}</code>: {2} operations",
        overall, H(r_.source, 400), r_.ops.size());
    if (use_time_) h_ += " over " + HumanDuration(end_);
    if (!r_.nemesis.empty()) Out(", {} nemesis actions", r_.nemesis.size());
    h_ += ".</p></header>\n";
    h_ += "<h2>Verdicts</h2>\n<table id=\"verdicts\"><tr><th>checker</th><th>verdict</th><th>summary</th>"
          "<th>violations</th></tr>\n";
    for (const auto& c : r_.reports) {
      Out("<tr class=\"verdict v-{0}\"><td>{1}</td><td>{0}</td><td>{2}</td><td>{3}</td></tr>\n", VerdictName(c.verdict),
          Esc(c.checker), H(c.summary, 2000), c.violation_count);
    }
    h_ += "</table>\n";
  }

  void Violations() {
    if (violations_.empty()) return;
    h_ += "<section id=\"violations\"><h2>Violations</h2>\n<p class=\"note\">Click an operation to find it in its "
          "key's timeline. Link to a violation with <code>#violation-N</code>.</p>\n<ol>\n";
    for (size_t i = 0; i < violations_.size(); ++i) {
      const auto& [c, v] = violations_[i];
      std::string ops;
      for (size_t op : v->ops) {
        if (op < r_.ops.size()) fmt::format_to(std::back_inserter(ops), "{}{}", ops.empty() ? "" : " ", op);
      }
      auto roles = Roles(*c, *v);
      // Highlighted with the violation: its own ops and the writes linked.
      std::string all;
      for (const auto& [op, _] : roles) fmt::format_to(std::back_inserter(all), "{}{}", all.empty() ? "" : " ", op);
      Out("<li class=\"violation\" id=\"violation-{0}\" data-ops=\"{1}\"><a class=\"vlink\" href=\"#violation-{0}\">"
          "{2} / {3}</a>: {4}\n<ul class=\"ops\">",
          i, all, Esc(c->checker), H(v->kind, 80), H(v->message, 2000));
      for (const auto& [op, role] : roles) h_ += "<li>" + OpLink(op, role) + "</li>";
      h_ += "</ul></li>\n";
    }
    h_ += "</ol>\n";
    for (const auto& c : r_.reports) {
      if (c.violation_count > c.violations.size()) {
        Out("<p class=\"note\">\xe2\x80\xa6 and {} more {} violations (a checker reports the first {}).</p>\n",
            c.violation_count - c.violations.size(), Esc(c.checker), kMaxReportedViolations);
      }
    }
    h_ += "</section>\n";
  }

  void Witness() {
    if (!r_.linearizability || !r_.linearizability->witness) return;
    const auto& w = *r_.linearizability->witness;
    h_ += "<section id=\"witness\"><h2>Why it is not linearizable</h2>\n<p class=\"explanation\">" +
          H(w.explanation, 4000) + "</p>\n";
    if (!w.part.empty()) h_ += "<p>Key: <code>" + H(w.part) + "</code></p>\n";
    size_t from = w.prefix.size() > kMaxHtmlPrefixListed ? w.prefix.size() - kMaxHtmlPrefixListed : 0;
    Out("<p>Largest linearizable prefix: {} operations, in linearization order (numbered, and joined by a line, in "
        "the key's timeline):</p>\n<ol id=\"prefix\" start=\"{}\">\n",
        w.prefix.size(), from + 1);
    if (from) Out("<li class=\"note\" value=\"{0}\">\xe2\x80\xa6 {0} earlier operations not listed</li>\n", from);
    for (size_t k = from; k < w.prefix.size(); ++k) h_ += "<li>" + OpLink(w.prefix[k], "") + "</li>\n";
    h_ += "</ol>\n<p id=\"blocking\">Cannot be placed next: " + OpLink(w.blocking_op, "") +
          "<br>State after the prefix: <code>" + H(w.state_after_prefix, 400) + "</code></p></section>\n";
  }

  void Staleness() {
    if (!r_.staleness.available) return;
    const auto& s = r_.staleness;
    h_ += "<section id=\"staleness\"><h2>Staleness</h2><table>\n"
          "<tr><th>figure</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>\n";
    auto row = [&](const char* name, const Quantiles& q, bool ns) {
      auto f = [&](int64_t v) { return ns ? HumanDuration(v) : fmt::to_string(v); };
      Out("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", name, q.count, f(q.p50),
          f(q.p90), f(q.p99), f(q.max));
    };
    row("read: offsets behind the acknowledged end", s.read_offsets_behind, false);
    row("read: time behind the oldest unapplied acknowledged write", s.read_ns_behind, true);
    row("write: from acknowledgement until applied everywhere (upper bound)", s.write_visibility_ns, true);
    h_ += "</table>";
    if (s.writes_never_seen_everywhere) {
      Out("<p class=\"note\">Acknowledged writes never seen applied by every replica: {}.</p>",
          s.writes_never_seen_everywhere);
    }
    h_ += "</section>\n";
  }

  // Time of an event position (for nemesis actions without a time).
  int64_t TimeAtPosition(int64_t position) const {
    auto it = std::lower_bound(pos_time_.begin(), pos_time_.end(), std::pair<int64_t, int64_t>(position, INT64_MIN));
    if (it == pos_time_.begin()) return 0;
    return std::prev(it)->second;
  }

  int64_t NemesisTime(const NemesisEvent& n) const { return n.time ? *n.time - base_ : TimeAtPosition(n.position); }

  void Timelines() {
    h_ += "<section id=\"timeline\"><h2>Timelines, one per key</h2>\n";
    if (r_.ops.empty()) {
      h_ += "<p>No operations.</p></section>\n";
      return;
    }
    h_ += "<p class=\"note\" id=\"clock\">";
    if (use_time_) {
      h_ += "x axis: the events' <code>time</code> (virtual or real), from the first invocation. "
            "<label><input type=\"checkbox\" id=\"order-mode\"> draw on event order instead</label>";
    } else {
      h_ += "<b>This history has no times</b> (some event lacks <code>time</code>): x is event order, "
            "not time.";
    }
    h_ += "</p>\n<p class=\"legend\"><span class=\"op ok\">ok</span> <span class=\"op fail\">failed</span> "
          "<span class=\"op info\">outcome unknown</span> <span class=\"op flag\">in a violation</span> "
          "<span class=\"op lin\">linearized (#n)</span> <span class=\"op blocking\">cannot be placed</span> "
          "<span class=\"nemesis-key\">nemesis window</span> \xc2\xb7 zoom: buttons, or ctrl/alt + wheel; "
          "pan: drag or scroll. Click an operation for its details.</p>\n";
    windows_ = FaultWindows(r_.nemesis);
    if (windows_.size() > kMaxHtmlNemesisWindows) {
      Out("<p class=\"note\" id=\"nemesis-capped\">Shading the first {} of {} nemesis windows and marks.</p>\n",
          kMaxHtmlNemesisWindows, windows_.size());
      windows_.resize(kMaxHtmlNemesisWindows);
    }
    if (r_.nemesis.empty()) {
      h_ += "<p class=\"note\" id=\"nemesis-none\">The history records no nemesis actions: no fault windows "
            "are drawn.</p>\n";
    }

    for (const auto& [c, v] : violations_) flagged_.insert(v->ops.begin(), v->ops.end());
    size_t budget = kMaxHtmlDrawnOps;
    size_t drawn_sections = 0;
    std::vector<const Section*> skipped;
    // First pass decides what is drawn, so links know it.
    struct Plan {
      const Section* s;
      size_t from, to;
    };
    std::vector<Plan> plans;
    for (const Section& s : sections_) {
      if (drawn_sections >= kMaxHtmlKeySections || budget == 0) {
        skipped.push_back(&s);
        continue;
      }
      size_t cap = std::min({kMaxHtmlOpsPerKey, budget, s.ops.size()});
      size_t from = 0;
      if (cap < s.ops.size()) {
        // Centre the window on the first operation worth seeing.
        size_t centre = 0;
        for (size_t k = 0; k < s.ops.size(); ++k) {
          if (flagged_.contains(s.ops[k]) || s.ops[k] == blocking_) {
            centre = k;
            break;
          }
        }
        from = centre > cap / 2 ? std::min(centre - cap / 2, s.ops.size() - cap) : 0;
      }
      plans.push_back({&s, from, from + cap});
      budget -= cap;
      ++drawn_sections;
      for (size_t k = from; k < from + cap; ++k) drawn_.insert(s.ops[k]);
    }
    // Links in the lists above were rendered before: re-render needs drawn_
    // first, so the lists are patched here by rendering them after planning.
    PatchLists();
    for (size_t i = 0; i < plans.size(); ++i) DrawSection(i, *plans[i].s, plans[i].from, plans[i].to);
    if (!skipped.empty()) {
      Out("<p class=\"note\" id=\"keys-not-drawn\">{} more keys not drawn (the page draws at most {} keys and {} "
          "operations; keys with violations first): ",
          skipped.size(), kMaxHtmlKeySections, kMaxHtmlDrawnOps);
      for (size_t k = 0; k < skipped.size() && k < 100; ++k) {
        Out("{}<code>{}</code> ({})", k ? ", " : "", SectionName(skipped[k]->key), skipped[k]->ops.size());
      }
      if (skipped.size() > 100) h_ += ", \xe2\x80\xa6";
      h_ += ".</p>\n";
    }
    h_ += "</section>\n";
  }

  std::string SectionName(const std::string& key) const {
    if (key == kRangeSection) return "range reads";
    if (key.empty()) return "(no key)";
    return H(key, 120);
  }

  void DrawSection(size_t index, const Section& s, size_t from, size_t to) {
    std::vector<size_t> ops(s.ops.begin() + from, s.ops.begin() + to);
    std::vector<int64_t> lanes;
    std::map<int64_t, std::set<std::string>> replicas;
    for (size_t i : ops) {
      lanes.push_back(r_.ops[i].process);
      if (r_.ops[i].replica) replicas[r_.ops[i].process].insert(std::string(*r_.ops[i].replica));
    }
    std::sort(lanes.begin(), lanes.end());
    lanes.erase(std::unique(lanes.begin(), lanes.end()), lanes.end());
    // Time span.
    int64_t t0 = 0, t1 = 1;
    // Event-order ranks: the section's event positions.
    std::vector<int64_t> positions;
    for (size_t i : ops) {
      positions.push_back(r_.ops[i].call);
      if (r_.ops[i].ret != Operation::kNever) positions.push_back(r_.ops[i].ret);
    }
    std::sort(positions.begin(), positions.end());
    if (use_time_) {
      t0 = INT64_MAX;
      t1 = INT64_MIN;
      for (size_t i : ops) {
        const Operation& o = r_.ops[i];
        t0 = std::min(t0, *o.call_time - base_);
        t1 = std::max(t1, (o.ret_time ? *o.ret_time : *o.call_time) - base_);
      }
      if (t1 <= t0) t1 = t0 + 1;
    }
    // Unfinished info ops run to the end of the span plus a margin.
    const double tspan = static_cast<double>(t1 - t0) * 1.02;
    const double nspan = static_cast<double>(positions.size()) + 1;
    auto tx = [&](int64_t t) { return 100.0 * static_cast<double>(t - t0) / tspan; };
    auto rank = [&](int64_t pos) {
      return static_cast<double>(std::lower_bound(positions.begin(), positions.end(), pos) - positions.begin());
    };
    auto ox = [&](double rk) { return 100.0 * rk / nspan; };

    size_t flags = 0;
    for (const auto& [c, v] : violations_) {
      for (size_t op : v->ops) {
        if (op < r_.ops.size()) {
          auto keys = SectionsOf(r_.ops[op]);
          if (std::find(keys.begin(), keys.end(), s.key) != keys.end()) {
            ++flags;
            break;
          }
        }
      }
    }
    const bool witness_key = r_.linearizability && r_.linearizability->witness &&
                             SectionsOf(r_.ops[blocking_]) == std::vector<std::string>{s.key};
    const std::string sid = fmt::format("key-{}", index);
    Out("<section class=\"key{}\" id=\"{}\" data-key=\"{}\"><h3>", flags ? " flagged" : "", sid, H(s.key, 120));
    h_ += s.key == kRangeSection ? "range reads" : s.key.empty() ? "(no key)" : "key <code>" + H(s.key, 120) + "</code>";
    Out(" <span class=\"meta\">{} operations, {} processes", s.ops.size(), lanes.size());
    if (flags) Out(", <b>{} violation{}</b>", flags, flags > 1 ? "s" : "");
    if (witness_key) h_ += ", <b>witness</b>";
    h_ += "</span></h3>\n";
    if (ops.size() < s.ops.size()) {
      Out("<p class=\"note capped\">Showing operations {}\xe2\x80\x93{} of {} on this key (at most {} per key and {} "
          "in all), around its first violation.</p>\n",
          from + 1, to, s.ops.size(), kMaxHtmlOpsPerKey, kMaxHtmlDrawnOps);
    }
    h_ += "<div class=\"controls\"><button data-zoom=\"in\" title=\"zoom in\">+</button><button data-zoom=\"out\" "
          "title=\"zoom out\">\xe2\x88\x92</button><button data-zoom=\"fit\">fit</button></div>\n";
    h_ += "<div class=\"chart\"><div class=\"labels\"><div class=\"axis-pad\"></div>";
    for (int64_t p : lanes) {
      std::string who;
      auto it = replicas.find(p);
      if (it != replicas.end() && it->second.size() == 1) who = " \xc2\xb7 " + H(*it->second.begin(), 24);
      Out("<div class=\"lab\">p{}{}</div>", p, who);
    }
    Out("</div><div class=\"vp\"><div class=\"track\" data-t0=\"{}\" data-t1=\"{}\" data-n=\"{}\"><div "
        "class=\"axis\"></div><div class=\"lanes\" style=\"height:{}px\">",
        t0, Num(static_cast<double>(t0) + tspan), positions.size() + 1, lanes.size() * 24);
    // Nemesis windows.
    for (const FaultWindow& w : windows_) {
      const NemesisEvent& a = r_.nemesis[w.first];
      const NemesisEvent& b = r_.nemesis[w.last];
      double xl, xw, ol, ow;
      if (use_time_) {
        double l = tx(NemesisTime(a)), rr = w.closed ? tx(NemesisTime(b)) : 100.0;
        if (rr < 0 || l > 100) continue;
        xl = std::max(0.0, l);
        xw = std::max(0.0, std::min(100.0, rr) - xl);
      } else {
        xl = xw = 0;
      }
      ol = ox(rank(a.position));
      ow = std::max(0.0, (w.closed ? ox(rank(b.position)) : 100.0) - ol);
      if (!use_time_) {
        xl = ol;
        xw = ow;
      }
      std::string title = "nemesis: " + Printable(w.label, 400);
      if (use_time_) {
        title += " (" + Rel(NemesisTime(a)) + (w.closed && !w.mark ? " to " + Rel(NemesisTime(b)) : "") +
                 (w.closed ? "" : ", to the end") + ")";
      }
      h_ += "<div class=\"nemesis" + std::string(w.mark ? " mark" : "") + "\" data-x=\"" + Num(xl) + "," + Num(xw) +
            "," + Num(ol) + "," + Num(ow) + "\" style=\"left:" + Num(xl) + "%;width:" + Num(xw) + "%\" title=\"" +
            Esc(title) + "\"><span>" + H(w.label, 60) + "</span></div>";
    }
    for (size_t li = 0; li < lanes.size(); ++li) {
      Out("<div class=\"lane\" data-process=\"{}\" data-lane=\"{}\">", lanes[li], li);
      for (size_t i : ops) {
        const Operation& o = r_.ops[i];
        if (o.process != lanes[li]) continue;
        // Geometry in both modes.
        double xl = 0, xw = 0;
        bool open = o.ret == Operation::kNever;
        int64_t next = next_call_[i];
        if (use_time_) {
          xl = tx(*o.call_time - base_);
          double xr = o.ret_time ? tx(*o.ret_time - base_)
                      : next >= 0 && r_.ops[next].call_time ? tx(*r_.ops[next].call_time - base_)
                                                            : 100.0;
          xw = std::max(0.0, std::min(100.0, xr) - xl);
        }
        double ol = ox(rank(o.call) + 0.5);
        double orr = !open ? ox(rank(o.ret) + 0.5) : next >= 0 ? ox(rank(r_.ops[next].call)) : 100.0;
        double ow = std::max(0.0, orr - ol);
        if (!use_time_) {
          xl = ol;
          xw = ow;
        }
        std::string cls = std::string("op ") + (o.ok() ? "ok" : o.outcome == EventType::kFail ? "fail" : "info");
        if (open) cls += " open";
        if (flagged_.contains(i)) cls += " flag";
        auto lin = lin_order_.find(i);
        const bool in_witness = witness_key && lin != lin_order_.end();
        if (in_witness) cls += " lin";
        if (witness_key && i == blocking_) cls += " blocking";
        Out("<div class=\"{}\" id=\"{}-op-{}\" data-op=\"{}\"", cls, sid, i, i);
        if (in_witness) Out(" data-lin=\"{}\"", lin->second);
        Out(" data-x=\"{0},{1},{2},{3}\" style=\"left:{0}%;width:{1}%\" title=\"{4}\">", Num(xl), Num(xw), Num(ol),
            Num(ow), Esc(Describe(o)));
        if (in_witness) Out("<b>#{}</b> ", lin->second);
        h_ += H(OpLabel(o, s.key), 60) + "</div>";
      }
      h_ += "</div>";
    }
    if (witness_key) h_ += "<svg class=\"path\" preserveAspectRatio=\"none\"></svg>";
    h_ += "</div></div></div></div></section>\n";
  }

  // The violation and witness lists were written before the timelines
  // decided what is drawn: mark the links to undrawn operations now.
  void PatchLists() {
    std::string out;
    out.reserve(h_.size());
    const std::string needle = "<a class=\"oplink\" href=\"#op-";
    size_t pos = 0;
    for (;;) {
      size_t at = h_.find(needle, pos);
      if (at == std::string::npos) break;
      size_t num = at + needle.size();
      size_t end = h_.find('"', num);
      size_t op = std::stoul(h_.substr(num, end - num));
      out.append(h_, pos, at - pos);
      if (drawn_.contains(op)) {
        out += needle;
      } else {
        out += "<a class=\"oplink undrawn\" title=\"not drawn: beyond the timeline's size limits\" href=\"#op-";
      }
      pos = num;
    }
    out.append(h_, pos, std::string::npos);
    h_ = std::move(out);
  }

  static constexpr const char* kStyle = R"css(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 1.5em 4em;color:#1d2330;background:#fafbfc}
h1{font-size:1.5em;margin:.8em 0 .2em}h2{font-size:1.2em;margin:1.4em 0 .4em}h3{font-size:1em;margin:.2em 0}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#eef0f3;padding:0 .25em;border-radius:3px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d5d9e0;padding:.25em .6em;text-align:left;vertical-align:top}
.badge{font-size:.7em;padding:.1em .5em;border-radius:1em;vertical-align:middle}
.v-valid{background:#dff3e0}.v-invalid{background:#fbdcdc}.v-unknown{background:#fff1c2}.v-skipped{background:#eceef1}
.note{color:#5b6475;font-size:.92em}
#violations>ol>li{margin:.4em 0;padding:.3em .5em;border-left:3px solid transparent}
#violations>ol>li.selected{border-left-color:#d33;background:#fff3f3}
.vlink{font-weight:600;color:#b01e1e;text-decoration:none}
ul.ops{margin:.2em 0;padding-left:1.2em;font-size:.92em}
.oplink{color:#1f4fa8;text-decoration:none;cursor:pointer}.oplink:hover{text-decoration:underline}
.oplink.undrawn{color:#777}.role{color:#5b6475}
#witness{border-left:4px solid #d33;padding-left:1em}
#prefix{max-height:16em;overflow:auto;font-size:.92em;background:#fff;border:1px solid #e2e5ea;padding:.4em 2.5em}
section.key{background:#fff;border:1px solid #e2e5ea;border-radius:6px;padding:.5em .8em;margin:.8em 0}
section.key.flagged{border-color:#e8a3a3}
.meta{font-weight:normal;color:#5b6475;font-size:.9em}
.controls{float:right;margin-top:-1.6em}.controls button{font:inherit;min-width:2.2em;margin-left:.2em;cursor:pointer}
.chart{display:flex;clear:both;margin-top:.3em}
.labels{flex:none;width:7.5em;font-size:12px}.axis-pad{height:20px}
.lab{height:24px;line-height:22px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:#39414f}
.vp{flex:1;overflow-x:auto;overflow-y:hidden;cursor:grab;position:relative}.vp.drag{cursor:grabbing}
.track{position:relative;width:100%;min-width:100%}
.axis{position:relative;overflow:hidden;height:20px;border-bottom:1px solid #ccd1d9;font-size:11px;color:#5b6475}
.tick{position:absolute;top:2px;padding-left:3px;border-left:1px solid #ccd1d9;height:16px;white-space:nowrap}
.lanes{position:relative;overflow:hidden}
.lane{position:relative;box-sizing:border-box;height:24px;border-bottom:1px solid #f0f2f5}
.op{position:absolute;top:3px;height:18px;min-width:3px;box-sizing:border-box;font-size:11px;line-height:16px;
 padding:0 3px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;border-radius:3px;border:1px solid rgba(0,0,0,.18);cursor:pointer}
.legend .op{position:static;display:inline-block;min-width:0;cursor:default}
.op.ok{background:#9fd8a4}.op.fail{background:#d4d7dc;color:#555}.op.info{background:#f6c977}
.op.open{background:repeating-linear-gradient(135deg,#f6c977 0 6px,#fbe3b3 6px 12px)}
.op.flag{border:2px solid #d33}.op.lin{box-shadow:inset 0 -3px 0 #3465c7}
.op.blocking{background:#e04848;color:#fff}
.op.hl{outline:3px solid #1f6feb;outline-offset:1px;z-index:3;animation:pulse 1s ease-out 2}
@keyframes pulse{50%{outline-color:#9cc3ff}}
.nemesis{position:absolute;top:0;bottom:0;background:rgba(130,90,200,.13);border-left:1px dashed #8a5cc8;min-width:2px;
 font-size:10px;color:#6c43a8;overflow:hidden;white-space:nowrap;pointer-events:auto}
.nemesis span{position:absolute;bottom:1px;left:3px}
.nemesis.mark{background:none;border-left:2px solid #8a5cc8;width:0}
.nemesis-key{background:rgba(130,90,200,.2);border-left:1px dashed #8a5cc8;padding:0 .4em}
svg.path{position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none;overflow:visible;z-index:2}
svg.path polyline{fill:none;stroke:#3465c7;stroke-width:1.5;stroke-opacity:.75}
#details{position:fixed;left:1em;right:1em;bottom:.6em;background:#1d2330;color:#fff;padding:.5em .8em;border-radius:6px;
 font-size:13px;box-shadow:0 2px 10px rgba(0,0,0,.3);z-index:10}
)css";

  static constexpr const char* kScript = R"js(
(function () {
  'use strict';
  var body = document.body;
  var mode = body.dataset.mode;
  var MAXZ = 4096;
  function dur(ns) {
    var a = Math.abs(ns), s = ns < 0 ? '-' : '';
    function f(v) { return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0); }
    if (a < 1e3) return s + a.toFixed(0) + ' ns';
    if (a < 1e6) return s + f(a / 1e3) + ' \u00b5s';
    if (a < 1e9) return s + f(a / 1e6) + ' ms';
    return s + f(a / 1e9) + ' s';
  }
  function nice(x) {
    var p = Math.pow(10, Math.floor(Math.log10(x))), m = x / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function place(el) {
    var x = el.dataset.x.split(','), k = mode === 'time' ? 0 : 2;
    el.style.left = x[k] + '%';
    el.style.width = x[k + 1] + '%';
  }
  function ticks(sec) {
    var track = sec.querySelector('.track'), axis = sec.querySelector('.axis');
    var lo, hi;
    if (mode === 'time') { lo = +track.dataset.t0; hi = +track.dataset.t1; } else { lo = 0; hi = +track.dataset.n; }
    axis.textContent = '';
    var px = track.clientWidth || 1000;
    var step = nice(Math.max((hi - lo) / Math.max(px / 110, 1), mode === 'time' ? 1 : 1));
    for (var v = Math.ceil(lo / step) * step; v < hi; v += step) {
      var t = document.createElement('span');
      t.className = 'tick';
      t.style.left = ((v - lo) / (hi - lo) * 100) + '%';
      t.textContent = mode === 'time' ? '+' + dur(v) : 'event ' + v;
      axis.appendChild(t);
    }
  }
  function path(sec) {
    var svg = sec.querySelector('svg.path');
    if (!svg) return;
    var ops = Array.prototype.slice.call(sec.querySelectorAll('.op[data-lin]'));
    ops.sort(function (a, b) { return a.dataset.lin - b.dataset.lin; });
    var lanes = sec.querySelector('.lanes'), h = lanes.clientHeight || 24;
    svg.setAttribute('viewBox', '0 0 100 ' + h);
    var prev = -1, pts = [];
    ops.forEach(function (el) {
      var l = parseFloat(el.style.left), w = parseFloat(el.style.width);
      var x = Math.min(Math.max(prev, l + Math.min(w / 2, 0.2)), l + w);
      prev = x;
      var y = el.parentNode.dataset.lane * 24 + 12;
      pts.push(x.toFixed(4) + ',' + y);
    });
    var b = sec.querySelector('.op.blocking');
    if (b) pts.push(parseFloat(b.style.left).toFixed(4) + ',' + (b.parentNode.dataset.lane * 24 + 12));
    svg.innerHTML = '<polyline vector-effect="non-scaling-stroke" points="' + pts.join(' ') + '"/>';
  }
  function layout(sec) {
    sec.querySelectorAll('.op,.nemesis').forEach(place);
    ticks(sec);
    path(sec);
  }
  function zoom(sec, z, anchorPx) {
    var vp = sec.querySelector('.vp'), track = sec.querySelector('.track');
    var old = +(sec.dataset.zoom || 1);
    z = Math.min(MAXZ, Math.max(1, z));
    if (anchorPx === undefined) anchorPx = vp.clientWidth / 2;
    var frac = (vp.scrollLeft + anchorPx) / (track.clientWidth || 1);
    sec.dataset.zoom = z;
    track.style.width = (z * 100) + '%';
    vp.scrollLeft = frac * track.clientWidth - anchorPx;
    if (z !== old) ticks(sec);
  }
  function sectionOf(el) { return el.closest('section.key'); }
  // Brings an operation into view: zoomed so that it is at least 40px wide.
  function reveal(el) {
    var sec = sectionOf(el), vp = sec.querySelector('.vp'), track = sec.querySelector('.track');
    var w = parseFloat(el.style.width) / 100 * track.clientWidth, z = +(sec.dataset.zoom || 1);
    if (w < 40 && w > 0) zoom(sec, z * Math.min(64, 40 / w));
    var left = parseFloat(el.style.left) / 100 * track.clientWidth;
    vp.scrollLeft = left - vp.clientWidth / 3;
    sec.scrollIntoView({block: 'center'});
  }
  function clear() {
    document.querySelectorAll('.op.hl').forEach(function (e) { e.classList.remove('hl'); });
    document.querySelectorAll('.violation.selected').forEach(function (e) { e.classList.remove('selected'); });
  }
  function highlight(ids, scroll) {
    var first = null;
    ids.forEach(function (id) {
      document.querySelectorAll('.op[data-op="' + id + '"]').forEach(function (e) {
        e.classList.add('hl');
        if (!first) first = e;
      });
    });
    if (first && scroll) reveal(first);
    return first;
  }
  function details(el) {
    var d = document.getElementById('details');
    d.textContent = el ? el.title : '';
    d.hidden = !el;
  }
  function selectViolation(i, scroll) {
    var li = document.getElementById('violation-' + i);
    if (!li) return false;
    clear();
    li.classList.add('selected');
    var first = highlight(li.dataset.ops.split(' ').filter(Boolean), scroll);
    if (scroll && !first) li.scrollIntoView({block: 'center'});
    return true;
  }
  function selectOp(id, scroll) {
    clear();
    var first = highlight([id], scroll);
    details(first);
    return !!first;
  }
  function fromHash(scroll) {
    var m = /^#violation-(\d+)$/.exec(location.hash);
    if (m) return selectViolation(m[1], scroll);
    m = /^#op-(\d+)$/.exec(location.hash);
    if (m) return selectOp(m[1], scroll);
    return false;
  }
  var secs = document.querySelectorAll('section.key');
  secs.forEach(function (sec) {
    layout(sec);
    var vp = sec.querySelector('.vp');
    sec.querySelector('.controls').addEventListener('click', function (e) {
      var b = e.target.dataset.zoom, z = +(sec.dataset.zoom || 1);
      if (b === 'in') zoom(sec, z * 2); else if (b === 'out') zoom(sec, z / 2); else if (b === 'fit') zoom(sec, 1);
    });
    vp.addEventListener('wheel', function (e) {
      if (!e.ctrlKey && !e.altKey) return;
      e.preventDefault();
      var r = vp.getBoundingClientRect();
      zoom(sec, +(sec.dataset.zoom || 1) * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX - r.left);
    }, {passive: false});
    var drag = null;
    vp.addEventListener('mousedown', function (e) { drag = {x: e.clientX, s: vp.scrollLeft, moved: false}; });
    window.addEventListener('mousemove', function (e) {
      if (!drag) return;
      if (Math.abs(e.clientX - drag.x) > 3) { drag.moved = true; vp.classList.add('drag'); }
      vp.scrollLeft = drag.s - (e.clientX - drag.x);
    });
    window.addEventListener('mouseup', function () {
      if (drag && drag.moved) vp.dataset.dragged = '1';
      drag = null;
      vp.classList.remove('drag');
    });
    vp.addEventListener('click', function (e) {
      if (vp.dataset.dragged) { delete vp.dataset.dragged; return; }
      var op = e.target.closest('.op');
      if (op) { selectOp(op.dataset.op, false); history.replaceState(null, '', '#op-' + op.dataset.op); }
    });
  });
  document.addEventListener('click', function (e) {
    var a = e.target.closest('a.oplink,a.vlink');
    if (!a) return;
    e.preventDefault();
    history.replaceState(null, '', a.getAttribute('href'));
    if (a.classList.contains('vlink')) selectViolation(a.getAttribute('href').slice(11), true);
    else if (!selectOp(a.dataset.op, true)) details({title: 'Not drawn: beyond the timeline\'s size limits.'});
  });
  document.getElementById('details').addEventListener('click', function () { details(null); });
  var order = document.getElementById('order-mode');
  if (order) order.addEventListener('change', function () {
    mode = order.checked ? 'order' : 'time';
    body.dataset.mode = mode;
    secs.forEach(layout);
  });
  window.addEventListener('hashchange', function () { fromHash(true); });
  window.addEventListener('resize', function () { secs.forEach(function (s) { ticks(s); }); });
  if (!fromHash(true)) selectViolation(0, false);
  body.dataset.ready = '1';
})();
)js";

  const FullReport& r_;
  std::string h_;
  bool use_time_ = false;
  int64_t base_ = 0, end_ = 0;
  std::vector<std::pair<int64_t, int64_t>> pos_time_;
  std::vector<int64_t> next_call_;
  struct Flagged {
    const CheckReport* c;
    const Violation* v;
  };
  std::vector<Flagged> violations_;
  absl::flat_hash_map<size_t, size_t> lin_order_;
  size_t blocking_ = SIZE_MAX;
  std::vector<Section> sections_;
  absl::flat_hash_map<std::string, size_t> writer_;
  absl::flat_hash_map<std::string, std::vector<std::pair<int64_t, size_t>>> by_offset_;  // key -> (offset, op)
  absl::flat_hash_set<size_t> drawn_, flagged_;
  std::vector<FaultWindow> windows_;
};

}  // namespace

std::string HtmlReport(const FullReport& report) { return Page(report).Render(); }

}  // namespace kvlog::checker
