// Jepsen's exchange formats, read and written by hand (Debian ships no C++ EDN
// library). Only the EDN subset Jepsen histories use is supported: maps,
// vectors, lists, keywords, strings, integers, nil, booleans, comments, and
// commas as whitespace. Anything else is an error with file, line and reason.
//
//   Jepsen EDN:  either one vector of op maps (Knossos) or one op map per
//     line (Porcupine kv): {:process 0, :type :invoke, :f :put, :key "k", :value "v"}
//   Jepsen log:  lines "INFO  jepsen.util - 3\t:ok\t:cas\t[1 4]" (Porcupine etcd).
//     There a :fail :cas means the compare failed: it becomes an ok cas with
//     result=false, which models must check (Porcupine's etcd semantics).
// Ops of the :nemesis process are not client operations: they go to
// History::nemesis (reports shade them), not to the events.
#pragma once

#include <string>
#include <string_view>

#include "checker/history.h"
#include "checker/status.h"

namespace kvlog::checker {

Result<History> ParseJepsenEdn(std::string_view text, const std::string& source);
Result<History> ParseJepsenLog(std::string_view text, const std::string& source);

// Writes the events as one EDN vector of op maps, one map per line, readable by
// Clojure's reader (clojure.edn/read-string) and by Knossos. Final states and
// the log are not part of Jepsen's format and are not written; an ok cas with
// result=false is written as Jepsen's :fail cas. Jepsen's conventions hold:
// after an :info completion the process's later operations are written under a
// fresh process id (the :info operation may still be running), and a :fail or
// :info completion carries its invocation's :value. Fails if an `f` cannot be
// a keyword.
Result<std::string> WriteJepsenEdn(const History& history);

// One value as EDN (strings quoted, lists as vectors, maps with keyword keys
// where the key can be one).
std::string EdnValue(const Value& v);

// Text as an EDN string literal, with quotes.
std::string EdnString(std::string_view s);

}  // namespace kvlog::checker
