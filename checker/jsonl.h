// JSONL, the native history format: one JSON object per line. See README.md.
//   {"process":0,"type":"invoke","f":"put","key":"k","value":"v1","time":10}
//   {"process":0,"type":"ok","f":"put","key":"k","value":"v1","time":25,"offset":7,"replica":"c0"}
//   {"final":{"replica":"c0","applied":8,"digest":"9b1e0a6c3f00d2aa"}}
//   {"log":{"offset":7,"key":"k","value":"v1","writer":"c0"}}
//   {"nemesis":{"type":"info","f":"start","value":"partition","time":40}}
//                    (a fault injector's action; reports shade fault windows)
//   {"expiry":{"skew_bound":2000000,"reclaimed_before":90000000}}
//                    (a TTL run's clock facts; log lines carry "deadline")
//   {"change":12,"key":"k1","value":"v"}, {"watch":"w3",...}, {"log_start":0}
//                    (what watchers received: checker/watch.h)
//   {"meta":{...}}   (ignored: free-form run description)
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <string_view>

#include "checker/history.h"
#include "checker/status.h"

namespace kvlog::checker {

// Parses JSONL text. `source` names the file in errors. Blank lines are
// allowed; anything else that is not a valid record is an error.
Result<History> ParseJsonl(std::string_view text, const std::string& source);
Result<History> ReadJsonlFile(const std::string& path);
struct JsonlReadOptions {
  // Pair the events into History::ops as they are read and keep none of them
  // (an 800 K-operation history then never holds events and operations both).
  bool pair_events = false;
  // Called now and then with the number of bytes read so far.
  std::function<void(uint64_t bytes)> progress;
  // The stream's size in bytes, when known (0: not): the log's vector then
  // grows once to what the rest of the stream can hold instead of doubling.
  uint64_t size_hint = 0;
  // Event and log lines of the usual shape are read by a field scanner
  // straight into their Event / LogRecord; any other line, or one the
  // scanner declines (anything unusual or invalid), by the general parser,
  // which gives every error message. Tests: false reads every line the
  // general way (the scanner's reference); `scanned`, when set, is given the
  // number of lines the scanner read.
  bool fast_path = true;
  uint64_t* scanned = nullptr;
  // ReadJsonlFile with pair_events: a file of at least `parallel_min_bytes`
  // is read by two threads when `threads` >= 2, each a part of its lines
  // (split at the first line from the middle, or from byte `split_at` when
  // not 0: tests), and the parts joined in order. The history is the one a
  // single reader gives, errors included: any error, or anything the join
  // does not handle, and the file is read again by one thread.
  int threads = 1;
  uint64_t parallel_min_bytes = uint64_t{32} << 20;
  uint64_t split_at = 0;
  int* parts = nullptr;  // when set: 2 if read in two parts, 1 if whole
};
// Reads JSONL from a stream a block at a time (the text is never held
// whole); repeated strings and range pairs share one copy in memory.
Result<History> ReadJsonl(std::istream& in, const std::string& source, const JsonlReadOptions& options = {});
// The same from a file, on `options.threads` threads when it is large (see
// JsonlReadOptions::threads).
Result<History> ReadJsonlFile(const std::string& path, const JsonlReadOptions& options);

// One line (no newline) for each kind of record.
std::string EventToJsonl(const Event& event);
std::string FinalToJsonl(const FinalState& final_state);
std::string LogRecordToJsonl(const LogRecord& record);
std::string NemesisToJsonl(const NemesisEvent& nemesis);
std::string ExpiryToJsonl(const ExpiryBounds& bounds);
// The whole history: events (nemesis lines among them, where they happened),
// then log records, then final states.
std::string WriteJsonl(const History& history);
// What follows the events in WriteJsonl (the expiry line, the log, or a line
// saying it was captured and empty, final states, then the watch history): a recorder that streamed the
// events with EventToJsonl writes this after them, and the bytes are
// WriteJsonl's.
std::string JsonlTail(const History& history);

}  // namespace kvlog::checker
