// The watch check: judges what each watcher received against the log.
//
// A watch history holds the log's changes (what every replica applied, in
// offset order: a record's changes share its offset as version) and one
// session per watch: which key or prefix it watched, where it started, and
// every event it received, in order. It is judged per session:
//   - ordered:   change versions strictly increase ("out-of-order");
//   - unique:    no version twice ("duplicate");
//   - no skip:   the versions received are exactly the log's versions that
//                touch the watched keys after the start, with none missing
//                between two received ones ("skipped");
//   - atomic and consistent with the log: each event holds exactly the
//                changes of its version to watched keys, in the log's order,
//                with the log's values ("mismatch"; a version the log does not
//                hold for those keys is "phantom");
//   - progress:  a progress event at P comes after every change below P
//                ("early-progress");
//   - fell behind at V: every change at or below V was delivered before it,
//                and nothing follows it ("fell-behind");
//   - resumable: a session that resumes another starts exactly after the
//                version that one said to resume from, or after its last
//                change ("resume").
// A session that started "now" (no recorded start) is judged from its first
// change on. A session refused with kCompacted (no events) is not judged.
//
// JSONL form (one object per line; see checker/README.md):
//   {"change": 12, "key": "k1", "value": "v"}                  (value null: tombstone)
//   {"watch": "w3", "replica": "c1", "key": "k", "prefix": true, "after": 11, "resumes": "w2"}
//                     ("after" absent: now; "from_start": true: the log's start, "log_start" on the log line)
//   {"watch": "w3", "event": "changes", "version": 12, "changes": [["k1", "v"], ["k2", null]]}
//   {"watch": "w3", "event": "progress", "version": 20}
//   {"watch": "w3", "event": "fell-behind", "version": 15}
//   {"watch": "w3", "event": "error", "message": "..."}
//   {"watch": "w3", "event": "end"}
//   {"log_start": 0}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/status.h"
#include "checker/verdict.h"

namespace kvlog::checker {

struct WatchChange {
  std::string key;
  std::optional<std::string> value;  // absent = tombstone
  friend bool operator==(const WatchChange&, const WatchChange&) = default;
};

// One change the log made: `version` is its record's offset.
struct LogChange {
  int64_t version = 0;
  WatchChange change;
};

struct WatchReceived {
  enum class Kind { kChanges, kProgress, kFellBehind, kError, kEnd };
  Kind kind = Kind::kChanges;
  int64_t version = 0;
  std::vector<WatchChange> changes;
  std::string message;  // kError
  int line = 0;
};

struct WatchSession {
  std::string id;
  std::string replica;
  std::string key;
  bool prefix = false;
  bool from_start = false;
  std::optional<int64_t> after;  // absent and not from_start: "now"
  std::optional<std::string> resumes;
  std::vector<WatchReceived> received;
  int line = 0;
};

struct WatchHistory {
  std::string source;
  int64_t log_start = 0;
  std::vector<LogChange> log;  // in version order
  std::vector<WatchSession> sessions;
};

CheckReport CheckWatches(const WatchHistory& history);

// The JSONL form above. Errors name the line.
Result<WatchHistory> ParseWatchJsonl(const std::string& text, const std::string& source);
std::string WatchToJsonl(const WatchHistory& history);

// ParseWatchJsonl one line at a time: checker/jsonl.cc hands it the watch
// lines of a history file (those whose object has a "change", "watch" or
// "log_start" field).
class WatchJsonlReader {
 public:
  explicit WatchJsonlReader(std::string source);
  // A line of the JSONL form above; an error names `line_no`.
  std::optional<Error> Add(std::string_view line, int line_no);
  const WatchHistory& history() const { return h_; }
  WatchHistory Finish() { return std::move(h_); }

 private:
  WatchHistory h_;
  std::map<std::string, std::size_t> sessions_;
};

}  // namespace kvlog::checker
