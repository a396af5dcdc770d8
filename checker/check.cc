#include "checker/check.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "checker/convergence.h"
#include "checker/durability.h"
#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/session.h"
#include "checker/writes.h"

namespace kvlog::checker {

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "jsonl") return Format::kJsonl;
  if (name == "edn" || name == "jepsen-edn" || name == "jepsen-edn-lines") return Format::kJepsenEdn;
  if (name == "jepsen-log" || name == "log") return Format::kJepsenLog;
  return std::nullopt;
}

Format SniffFormat(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return Format::kJsonl;
  if (text[i] == '[' || text[i] == '(' || text[i] == ';') return Format::kJepsenEdn;
  if (text[i] == '{') {
    size_t j = text.find_first_not_of(" \t\r\n", i + 1);
    return j != std::string_view::npos && text[j] == ':' ? Format::kJepsenEdn : Format::kJsonl;
  }
  return Format::kJepsenLog;
}

Result<History> ParseHistory(std::string_view text, Format format, const std::string& source) {
  switch (format) {
    case Format::kJsonl:
      return ParseJsonl(text, source);
    case Format::kJepsenEdn:
      return ParseJepsenEdn(text, source);
    case Format::kJepsenLog:
      return ParseJepsenLog(text, source);
  }
  return MakeError(source, 0, "unknown format");
}

Result<History> ReadHistoryFile(const std::string& path, std::optional<Format> format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(path, 0, "cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  return ParseHistory(text, format ? *format : SniffFormat(text), path);
}

Verdict FullReport::Overall() const {
  bool unknown = false;
  for (const auto& r : reports) {
    if (r.verdict == Verdict::kInvalid) return Verdict::kInvalid;
    unknown = unknown || r.verdict == Verdict::kUnknown;
  }
  return unknown ? Verdict::kUnknown : Verdict::kValid;
}

int ExitCode(Verdict overall) {
  switch (overall) {
    case Verdict::kValid:
    case Verdict::kSkipped:
      return 0;
    case Verdict::kInvalid:
      return 1;
    case Verdict::kUnknown:
      return 2;
  }
  return 2;
}

Result<FullReport> CheckHistory(const History& history, Format format, const CheckOptions& options) {
  auto ops = PairOperations(history);
  if (!ops) return std::unexpected(ops.error());
  FullReport out;
  out.source = history.source;
  out.ops = std::move(*ops);
  out.nemesis = history.nemesis;

  std::vector<std::string> checks = options.checks;
  if (checks.empty()) {
    checks = format == Format::kJsonl ? std::vector<std::string>{"session", "convergence", "durability"}
                                      : std::vector<std::string>{"linearizability"};
  }
  auto wants = [&](std::string_view c) { return std::find(checks.begin(), checks.end(), c) != checks.end(); };
  for (const auto& c : checks) {
    if (c != "linearizability" && c != "session" && c != "convergence" && c != "durability") {
      return MakeError("", 0, "unknown check '" + c + "'");
    }
  }

  if (wants("linearizability")) {
    const std::string model_name = options.model.empty() ? ChooseModel(out.ops) : options.model;
    auto model = MakeModel(model_name);
    if (!model) return MakeError("", 0, "unknown model '" + model_name + "'");
    out.model = model_name;
    out.linearizability = CheckLinearizability(out.ops, *model, options.linearizability);
    out.reports.push_back(LinearizabilityReport(*model, *out.linearizability));
  }
  WriteIndex writes(history, out.ops);
  if (wants("session")) out.reports.push_back(CheckSessions(history, out.ops, writes));
  if (wants("convergence")) out.reports.push_back(CheckConvergence(history));
  if (wants("durability")) out.reports.push_back(CheckDurability(history, out.ops, writes));
  out.staleness = MeasureStaleness(out.ops);
  return out;
}

}  // namespace kvlog::checker
