#include "checker/convergence.h"

#include <fmt/format.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"

#include "checker/digest.h"

namespace kvlog::checker {
namespace {

template <typename Map>
void Apply(const LogRecord& r, Map* state) {
  if (r.f == "cas") {
    auto it = state->find(r.key);
    bool matches = r.expected ? (it != state->end() && it->second == *r.expected) : it == state->end();
    if (!matches) return;
  }
  if (r.value) {
    (*state)[r.key] = *r.value;
  } else {
    state->erase(r.key);
  }
}

}  // namespace

std::map<std::string, std::string> FoldLog(const std::vector<LogRecord>& log, int64_t position) {
  std::map<std::string, std::string> state;
  for (const LogRecord& r : log) {
    if (r.offset >= position) break;
    Apply(r, &state);
  }
  return state;
}

CheckReport CheckConvergence(const History& history) {
  CheckReport rep;
  rep.checker = "convergence";
  if (history.finals.empty()) return rep.Skip("no final states recorded");
  std::vector<const FinalState*> finals;
  for (const auto& f : history.finals) finals.push_back(&f);
  std::stable_sort(finals.begin(), finals.end(),
                   [](const FinalState* a, const FinalState* b) { return a->applied < b->applied; });
  absl::flat_hash_map<std::string, std::string> state;  // sorted only to digest
  size_t next_record = 0;
  size_t groups = 0;
  for (size_t i = 0; i < finals.size();) {
    size_t j = i;
    while (j < finals.size() && finals[j]->applied == finals[i]->applied) ++j;
    ++groups;
    const int64_t position = finals[i]->applied;
    for (size_t k = i + 1; k < j; ++k) {
      if (finals[k]->digest != finals[i]->digest) {
        rep.Add({"divergence",
                 fmt::format("replicas {} and {} both applied up to position {} but hold different states ({} vs {})",
                             finals[i]->replica, finals[k]->replica, position, finals[i]->digest, finals[k]->digest),
                 {}});
      }
    }
    if (history.has_log) {
      while (next_record < history.log.size() && history.log[next_record].offset < position) {
        Apply(history.log[next_record++], &state);
      }
      std::vector<const std::pair<const std::string, std::string>*> sorted;
      sorted.reserve(state.size());
      for (const auto& kv : state) sorted.push_back(&kv);
      std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
      StateDigest digest;
      for (const auto* kv : sorted) digest.Add(kv->first, kv->second);
      const std::string expected = digest.Hex();
      for (size_t k = i; k < j; ++k) {
        if (finals[k]->digest != expected) {
          rep.Add({"digest-mismatch",
                   fmt::format("replica {} at position {} has digest {} but folding the log gives {}",
                               finals[k]->replica, position, finals[k]->digest, expected),
                   {}});
        }
      }
    }
    i = j;
  }
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = fmt::format("{} replicas at {} position(s), {}; {} violation(s)", finals.size(), groups,
                            history.has_log ? "compared with the log" : "log not recorded", rep.violation_count);
  return rep;
}

}  // namespace kvlog::checker
