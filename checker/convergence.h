// Convergence: replicas that reached the same applied position hold the same
// state digest, and (when the history carries the log) that digest equals the
// digest of folding the log's records with offset < position (put sets,
// delete removes, cas sets when the key's value equals `expected`).
#pragma once

#include <map>
#include <string>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kvlog::checker {

CheckReport CheckConvergence(const History& history);

// The state after applying the log's records with offset < position.
std::map<std::string, std::string> FoldLog(const std::vector<LogRecord>& log, int64_t position);

}  // namespace kvlog::checker
