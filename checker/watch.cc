#include "checker/watch.h"

#include <algorithm>
#include <map>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "nlohmann/json.hpp"

namespace kvlog::checker {
namespace {

using Group = std::pair<int64_t, std::vector<WatchChange>>;

bool Matches(const WatchSession& s, const std::string& key) {
  return s.prefix ? key.starts_with(s.key) : key == s.key;
}

std::string ChangesText(const std::vector<WatchChange>& changes) {
  std::string out = "[";
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (i) out += ", ";
    out += changes[i].key + "=" + (changes[i].value ? "'" + *changes[i].value + "'" : std::string("(tombstone)"));
  }
  return out + "]";
}

std::string VersionsText(const std::vector<Group>& expected, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to && i < from + 5; ++i) {
    fmt::format_to(std::back_inserter(out), "{}{}", i > from ? ", " : "", expected[i].first);
  }
  if (to - from > 5) fmt::format_to(std::back_inserter(out), ", ... ({} in all)", to - from);
  return out;
}

struct SessionEnd {
  std::optional<int64_t> fell_behind;
  std::optional<int64_t> last;  // The last change version delivered (or the start).
};

}  // namespace

CheckReport CheckWatches(const WatchHistory& history) {
  CheckReport report;
  report.checker = "watch";
  if (history.sessions.empty()) return report.Skip("no watch sessions");
  // The log's changes grouped by version, in order.
  std::vector<Group> groups;
  for (const LogChange& c : history.log) {
    if (groups.empty() || groups.back().first != c.version) groups.push_back({c.version, {}});
    groups.back().second.push_back(c.change);
  }
  for (std::size_t i = 1; i < groups.size(); ++i) {
    if (groups[i].first <= groups[i - 1].first) {
      report.verdict = Verdict::kUnknown;
      report.summary = fmt::format("the log's changes are not in version order (version {} after {})",
                                   groups[i].first, groups[i - 1].first);
      return report;
    }
  }
  std::map<std::string, SessionEnd> ends;
  std::size_t delivered = 0, judged = 0;
  for (const WatchSession& s : history.sessions) {
    auto add = [&](std::string kind, const std::string& message, int line) {
      report.Add(Violation{std::move(kind),
                           fmt::format("watch {} (replica {}, {} '{}') line {}: {}", s.id, s.replica,
                                       s.prefix ? "prefix" : "key", s.key, line, message),
                           {}});
    };
    std::vector<Group> expected;
    for (const Group& g : groups) {
      std::vector<WatchChange> mine;
      for (const WatchChange& c : g.second) {
        if (Matches(s, c.key)) mine.push_back(c);
      }
      if (!mine.empty()) expected.push_back({g.first, std::move(mine)});
    }
    std::optional<int64_t> start = s.from_start ? std::optional<int64_t>(history.log_start - 1) : s.after;
    // Index of the next expected group; set once the start is known.
    std::optional<std::size_t> next;
    auto index_after = [&](int64_t v) {
      return static_cast<std::size_t>(
          std::upper_bound(expected.begin(), expected.end(), v, [](int64_t x, const Group& g) { return x < g.first; }) -
          expected.begin());
    };
    if (start) next = index_after(*start);
    std::optional<int64_t> last = start;
    bool ended = false;
    SessionEnd end;
    if (!s.received.empty()) ++judged;
    // Every expected change at or below `upto` must have been delivered.
    auto covered = [&](int64_t upto, const std::string& kind, const std::string& what, int line) {
      if (!next || *next >= expected.size() || expected[*next].first > upto) return;
      const std::size_t missing_to = index_after(upto);
      add(kind, what + ", but version(s) " + VersionsText(expected, *next, missing_to) +
                    " of the watched keys were never delivered",
          line);
    };
    for (const WatchReceived& r : s.received) {
      if (ended) {
        add("after-end", "an event after the stream ended (fell behind, failed or ended)", r.line);
        break;
      }
      switch (r.kind) {
        case WatchReceived::Kind::kChanges: {
          ++delivered;
          if (last && r.version <= *last) {
            add(r.version == *last ? "duplicate" : "out-of-order",
                r.version == *last ? fmt::format("version {} delivered again", r.version)
                                   : fmt::format("version {} came after version {}", r.version, *last),
                r.line);
            break;
          }
          auto it = std::lower_bound(expected.begin(), expected.end(), r.version,
                                     [](const Group& g, int64_t v) { return g.first < v; });
          if (it == expected.end() || it->first != r.version) {
            add("phantom",
                fmt::format("version {} {}: the log made no change to the watched keys at that version", r.version,
                            ChangesText(r.changes)),
                r.line);
          } else {
            const std::size_t k = static_cast<std::size_t>(it - expected.begin());
            if (!next) next = k;  // A "now" session: judged from its first change.
            if (k > *next) {
              add("skipped",
                  fmt::format("version {} came, but the earlier version(s) {} of the watched keys were never delivered",
                              r.version, VersionsText(expected, *next, k)),
                  r.line);
            }
            if (it->second != r.changes) {
              add("mismatch",
                  fmt::format("version {} delivered {}; the log's changes to the watched keys there are {}", r.version,
                              ChangesText(r.changes), ChangesText(it->second)),
                  r.line);
            }
            next = k + 1;
          }
          last = r.version;
          break;
        }
        case WatchReceived::Kind::kProgress:
          covered(r.version - 1, "early-progress", fmt::format("progress at position {}", r.version), r.line);
          break;
        case WatchReceived::Kind::kFellBehind:
          if (last && r.version < *last) {
            add("fell-behind",
                fmt::format("fell behind at version {}, below version {} already delivered: resuming there repeats "
                            "changes",
                            r.version, *last),
                r.line);
          }
          covered(r.version, "fell-behind", fmt::format("fell behind saying resume after version {}", r.version),
                  r.line);
          end.fell_behind = r.version;
          ended = true;
          break;
        case WatchReceived::Kind::kError:
        case WatchReceived::Kind::kEnd:
          ended = true;
          break;
      }
    }
    end.last = last;
    if (s.resumes) {
      auto prev = ends.find(*s.resumes);
      if (prev == ends.end()) {
        add("resume", "resumes watch " + *s.resumes + ", which no earlier session is", s.line);
      } else {
        const std::optional<int64_t> want = prev->second.fell_behind ? prev->second.fell_behind : prev->second.last;
        if (want && s.after != want) {
          add("resume",
              fmt::format("resumes watch {} after version {}, but that one said to resume after {}", *s.resumes,
                          s.after ? fmt::to_string(*s.after) : std::string("now"), *want),
              s.line);
        }
      }
    }
    ends[s.id] = end;
  }
  report.verdict = report.violation_count ? Verdict::kInvalid : Verdict::kValid;
  report.summary = fmt::format("{} watch sessions ({} with events), {} change events against {} log versions; {} "
                               "violation(s)",
                               history.sessions.size(), judged, delivered, groups.size(), report.violation_count);
  return report;
}

namespace {

nlohmann::json ChangesJson(const std::vector<WatchChange>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const WatchChange& c : changes) {
    out.push_back(nlohmann::json::array({c.key, c.value ? nlohmann::json(*c.value) : nlohmann::json(nullptr)}));
  }
  return out;
}

const char* KindName(WatchReceived::Kind k) {
  switch (k) {
    case WatchReceived::Kind::kChanges: return "changes";
    case WatchReceived::Kind::kProgress: return "progress";
    case WatchReceived::Kind::kFellBehind: return "fell-behind";
    case WatchReceived::Kind::kError: return "error";
    case WatchReceived::Kind::kEnd: return "end";
  }
  return "?";
}

}  // namespace

std::string WatchToJsonl(const WatchHistory& h) {
  std::ostringstream out;
  out << nlohmann::json{{"log_start", h.log_start}}.dump() << '\n';
  for (const LogChange& c : h.log) {
    out << nlohmann::json{{"change", c.version},
                          {"key", c.change.key},
                          {"value", c.change.value ? nlohmann::json(*c.change.value) : nlohmann::json(nullptr)}}
               .dump()
        << '\n';
  }
  for (const WatchSession& s : h.sessions) {
    nlohmann::json head{{"watch", s.id}, {"replica", s.replica}, {"key", s.key}, {"prefix", s.prefix}};
    if (s.from_start) head["from_start"] = true;
    if (s.after) head["after"] = *s.after;
    if (s.resumes) head["resumes"] = *s.resumes;
    out << head.dump() << '\n';
    for (const WatchReceived& r : s.received) {
      nlohmann::json e{{"watch", s.id}, {"event", KindName(r.kind)}};
      if (r.kind == WatchReceived::Kind::kChanges || r.kind == WatchReceived::Kind::kProgress ||
          r.kind == WatchReceived::Kind::kFellBehind) {
        e["version"] = r.version;
      }
      if (r.kind == WatchReceived::Kind::kChanges) e["changes"] = ChangesJson(r.changes);
      if (r.kind == WatchReceived::Kind::kError) e["message"] = r.message;
      out << e.dump() << '\n';
    }
  }
  return out.str();
}

WatchJsonlReader::WatchJsonlReader(std::string source) { h_.source = std::move(source); }

std::optional<Error> WatchJsonlReader::Add(std::string_view line, int n) {
  const std::string& source = h_.source;
  auto error = [&](std::string reason) { return Error{source, n, std::move(reason)}; };
  auto optional_string = [](const nlohmann::json& v) -> std::optional<std::string> {
    if (v.is_null()) return std::nullopt;
    return v.get<std::string>();
  };
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return error("not a JSON object");
  try {
    if (j.contains("log_start")) {
      h_.log_start = j.at("log_start").get<int64_t>();
    } else if (j.contains("change")) {
      LogChange c;
      c.version = j.at("change").get<int64_t>();
      c.change.key = j.at("key").get<std::string>();
      c.change.value = optional_string(j.value("value", nlohmann::json(nullptr)));
      if (!h_.log.empty() && c.version < h_.log.back().version) {
        return error(fmt::format("log change version {} goes back (previous {})", c.version, h_.log.back().version));
      }
      h_.log.push_back(std::move(c));
    } else if (j.contains("watch") && !j.contains("event")) {
      WatchSession s;
      s.id = j.at("watch").get<std::string>();
      s.replica = j.value("replica", std::string());
      s.key = j.at("key").get<std::string>();
      s.prefix = j.value("prefix", false);
      s.from_start = j.value("from_start", false);
      if (j.contains("after")) s.after = j.at("after").get<int64_t>();
      if (j.contains("resumes")) s.resumes = j.at("resumes").get<std::string>();
      s.line = n;
      if (sessions_.contains(s.id)) return error("watch '" + s.id + "' declared twice");
      sessions_[s.id] = h_.sessions.size();
      h_.sessions.push_back(std::move(s));
    } else if (j.contains("watch")) {
      const std::string id = j.at("watch").get<std::string>();
      auto it = sessions_.find(id);
      if (it == sessions_.end()) return error("event of watch '" + id + "' before its declaration");
      WatchReceived r;
      r.line = n;
      const std::string kind = j.at("event").get<std::string>();
      if (kind == "changes") {
        r.kind = WatchReceived::Kind::kChanges;
        for (const auto& c : j.at("changes")) {
          if (!c.is_array() || c.size() != 2) return error("a change is not [key, value]");
          r.changes.push_back(WatchChange{c[0].get<std::string>(), optional_string(c[1])});
        }
      } else if (kind == "progress") {
        r.kind = WatchReceived::Kind::kProgress;
      } else if (kind == "fell-behind") {
        r.kind = WatchReceived::Kind::kFellBehind;
      } else if (kind == "error") {
        r.kind = WatchReceived::Kind::kError;
        r.message = j.value("message", std::string());
      } else if (kind == "end") {
        r.kind = WatchReceived::Kind::kEnd;
      } else {
        return error("unknown watch event '" + kind + "'; known: changes, progress, fell-behind, error, end");
      }
      if (j.contains("version")) {
        r.version = j.at("version").get<int64_t>();
      } else if (r.kind != WatchReceived::Kind::kError && r.kind != WatchReceived::Kind::kEnd) {
        return error("a " + kind + " event needs a version");
      }
      h_.sessions[it->second].received.push_back(std::move(r));
    } else {
      return error("neither a log change, a log_start, a watch nor a watch event");
    }
  } catch (const nlohmann::json::exception& e) {
    return error(std::string("bad field: ") + e.what());
  }
  return std::nullopt;
}

Result<WatchHistory> ParseWatchJsonl(const std::string& text, const std::string& source) {
  WatchJsonlReader reader(source);
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (auto e = reader.Add(line, ++n)) return std::unexpected(*e);
  }
  return reader.Finish();
}

}  // namespace kvlog::checker
