// Writes: every write a history invoked, one per key it touches (a batch
// yields one per sub-operation), with what the log says about it. Shared by
// the session, durability and staleness checks.
//
// A write is named by its operation id ("op") when the recorder stamps one on
// both the event and the log record, otherwise by (key, value): values written
// by workloads are unique, so a value names its write. Deletes carry no value:
// they are named by op id or by the offset their completion reported.
#ifndef KVLOG_CHECKER_WRITES_H_
#define KVLOG_CHECKER_WRITES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "checker/history.h"

namespace kvlog::checker {

struct Write {
  size_t op = 0;  // Operation::index
  std::string f;  // put | write | delete | cas | append
  std::string key;
  std::optional<std::string> value;  // nil for delete
  std::optional<std::string> op_id;
  std::optional<int64_t> offset;  // reported by the completion
  // A batch may write the same (key, value) more than once (deletes of one key,
  // say): this write is the ordinal-th of `same` such writes in its operation,
  // and owns every same-th of their log records from the ordinal-th on.
  size_t ordinal = 0;
  size_t same = 1;
  // Took effect for sure (ok, and not a cas whose compare failed).
  bool definite = false;
  // May have taken effect (info, pending, or a cas with a failed compare that
  // still appended its record).
  bool possible = false;
};

class WriteIndex {
 public:
  WriteIndex(const History& history, const std::vector<Operation>& ops);

  const std::vector<Write>& writes() const { return writes_; }
  // Log offsets of the records naming this write (several = duplicated).
  std::vector<int64_t> LogOffsets(const Write& w) const;
  // The version (log offset) a read of `value` on `key` saw: from the log, or
  // else from the offset the write's completion reported.
  std::optional<int64_t> VersionOf(std::string_view key, std::string_view value) const;
  // Whether some write of `value` to `key` was invoked at all.
  bool Invoked(std::string_view key, std::string_view value) const;
  bool InvokedOpId(const std::string& op_id) const;
  // The latest log record of `key` with offset < position, or nullptr.
  const LogRecord* StateAt(const std::string& key, int64_t position) const;

  static std::string KvName(const std::string& key, const std::string& value);

 private:
  // What is known about one (key, value) name; one map keeps it to one lookup.
  struct KvEntry {
    int64_t log_first = -1;  // offset of its first log record
    uint32_t log_count = 0;  // how many log records carry it
    uint32_t invoked = 0;    // how many writes of it were invoked
    int64_t reported = -1;   // offset an acknowledged write reported, or -1
  };

  const History& history_;
  std::vector<Write> writes_;
  absl::flat_hash_map<std::string, KvEntry> kv_;
  absl::flat_hash_map<std::string, std::vector<int64_t>> log_dups_;  // kv name -> offsets, when > 1
  absl::flat_hash_map<std::string, std::vector<int64_t>> log_by_op_;
  absl::flat_hash_map<std::string, std::vector<size_t>> log_by_key_;  // indices into history.log
  absl::flat_hash_map<std::string, size_t> invoked_op_;
};

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_WRITES_H_
