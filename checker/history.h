// History: what a test run recorded, the contract between the recorder (the
// simulator, or a real-cluster run) and the checkers. See checker/README.md for
// the JSONL format that carries it.
//
// A history holds three kinds of records:
//   - events: one per invocation and one per completion of an operation, in
//     the real-time order in which they happened (file order is time order);
//   - final states: per replica, the applied position it ended at and the
//     digest of its state there (see digest.h);
//   - the log itself, when the recorder could read it back.
//
// Positions follow the log seam: `applied` = N means every record with an
// offset < N has been applied (N is the next offset to read). Offsets need not
// be dense.
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "checker/function_name.h"
#include "checker/level.h"
#include "checker/optional_int.h"
#include "checker/optional_string.h"
#include "checker/status.h"
#include "checker/value.h"
#include "checker/watch.h"

namespace kvlog::checker {

enum class EventType : uint8_t { kInvoke, kOk, kFail, kInfo };

// "invoke", "ok", "fail", "info".
const char* EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);

// One invocation or completion.
//   f: put | get | delete | batch | range | cas | read | write | append
//      | incr | transfer
//   value: put/write/append: the value written; get/read: on the completion,
//     the value read (nil = absent); cas: [expected new]; batch: a list of
//     {f, key, value} maps; range: on the completion, a list of [key value];
//     incr (the counter workload, checker/counter.h): the amount added, and
//     on the completion the counter's new value; transfer (the bank
//     workload, checker/bank.h): {from, to, amount}, result false when its
//     transaction's compares failed.
struct Event {
  int64_t process = 0;
  EventType type = EventType::kInvoke;
  std::string f;
  OptionalString key;  // absent in single-register histories
  Value value;
  std::optional<int64_t> time;  // ns, virtual or real
  // kvlog-only, on completions:
  std::optional<int64_t> offset;   // the log offset a write landed at
  std::optional<int64_t> applied;  // the replica position a read was served at
  OptionalString replica;  // client (replica) id
  OptionalString op;       // unique operation id, if the recorder also
                           // stamps it on the log record
  std::optional<bool> result;          // cas on ok: false = compare failed
  // Reads, on the invocation: the read level it used (kv::ReadLevel) --
  // "local", "bounded", "at_least" or "linearizable" -- and its bound: the
  // lag in records for bounded, the position token for at_least. Absent in
  // histories that do not say (judged as local by the read-levels check).
  LevelName level;  // one byte (level.h); reads like an optional<string>
  int line = 0;     // where it was read from (reports)
  std::optional<int64_t> bound;
  // Set by a reader whose value is known to be a list of [key value] pairs
  // (the JSONL scanner's range results): the pairer then does not check
  // each pair again. False: checked (a range's completion must hold pairs).
  bool pairs_checked = false;
};

// A replica's state at the end of the run.
struct FinalState {
  std::string replica;
  int64_t applied = 0;  // position (next offset to read)
  std::string digest;   // StateDigest::Hex of its key/value state
  int line = 0;
};

// One record of the log. 120 bytes (the optional fields are
// optional_string.h's and optional_int.h's): a large history's log is
// its second largest block of memory, after its operations.
struct LogRecord {
  int64_t offset = 0;
  std::string key;
  OptionalString value;     // absent = tombstone (delete)
  OptionalString expected;  // cas condition; absent = key absent
  OptionalString writer;    // replica id of the writer
  OptionalString op;        // operation id, matches Event::op
  // TTL: the value's expiry deadline (ns on the writers' wall clock, see
  // expiry.h); absent = never expires. JSONL: "deadline" on the log line.
  OptionalInt deadline;
  int line = 0;
  FunctionName f = FunctionName::kPut;  // put | delete | cas (one byte)
};

// What a fault injector did (Jepsen's :nemesis process, or a JSONL
// {"nemesis": ...} line). Not judged: reports shade the fault windows.
struct NemesisEvent {
  EventType type = EventType::kInfo;
  std::string f;      // e.g. start, stop, kill, start-partition
  std::string value;  // Value::ToString of its value
  std::optional<int64_t> time;  // ns, as Event::time
  int64_t position = 0;  // the number of client events before it (event order)
  int line = 0;
};

// An operation: an invocation paired with its completion.
struct Operation {
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  size_t index = 0;  // position in the vector PairOperations returns
  int64_t process = 0;
  FunctionName f;  // one byte (function_name.h); reads like a string
  // kOk, kFail, or kInfo (also when the history ends before a completion).
  EventType outcome = EventType::kInfo;
  OptionalString key;  // 16 bytes (optional_string.h); reads like std::optional<std::string>
  Value input;   // the invocation's value
  Value output;  // the completion's value (nil when not ok)
  int64_t call = 0;      // position of the invocation in the event order
  int64_t ret = kNever;  // position of the completion; kNever for info
  // Eight bytes each (optional_int.h); read like std::optional<int64_t>.
  OptionalInt call_time, ret_time;
  OptionalInt offset, applied;
  OptionalString replica, op;
  std::optional<bool> result;
  LevelName level;  // Event::level and bound, of the invocation (one byte,
                    // beside result: no padding added)
  int line = 0;     // line of the invocation
  OptionalInt bound;

  bool ok() const { return outcome == EventType::kOk; }
  bool info() const { return outcome == EventType::kInfo; }
  // The value the operation is about: the completion's for reads, the
  // invocation's otherwise (a Jepsen read is invoked with nil).
  const Value& value() const { return ok() && !output.is_nil() ? output : input; }
};

// What the expiry check (expiry.h) needs to know of a TTL run's clocks:
// JSONL {"expiry": {"skew_bound": B, "time_origin": O, "reclaimed_before": R}}
// (ns; "time_origin" 0 and "reclaimed_before" absent may be left out).
struct ExpiryBounds {
  int64_t skew_bound_ns = 0;   // Every replica's wall clock is within this of true time.
  int64_t time_origin_ns = 0;  // Added to event times to give true wall time.
  std::optional<int64_t> reclaimed_before;  // Every janitor ran after deadlines up to this.
  int line = 0;
};

// Which of the functions that choose a history's checks (DefaultChecks)
// its operations use: gathered while pairing, so that choosing needs no
// pass over every operation afterwards.
struct OperationKinds {
  bool transfer = false;  // some operation's f is "transfer"
  bool incr = false;      // some operation's f is "incr"
};

struct History {
  std::string source;  // file name, for reports
  std::vector<Event> events;
  std::vector<NemesisEvent> nemesis;  // in event order
  std::vector<FinalState> finals;
  std::vector<LogRecord> log;  // in offset order
  bool has_log = false;        // the recorder captured the log (maybe empty)
  // Set instead of `events` when the reader paired the events as it read them
  // (ReadOptions::pair_events): a large history then never holds both.
  std::optional<std::vector<Operation>> ops;
  // Set with `ops` by the reader that paired them: what their functions are
  // (CheckHistory(History&&) moves `ops` out and leaves this describing them).
  std::optional<OperationKinds> op_kinds;
  // A TTL run's clock facts, for the expiry check.
  std::optional<ExpiryBounds> expiry;
  // What watchers received (watch.h), for the watch check: JSONL
  // {"change": ...}, {"watch": ...} and {"log_start": ...} lines.
  std::optional<WatchHistory> watch;
};

// Pairs each invocation with the next completion of the same process. An
// error names the line of a completion without an invocation, or of a second
// invocation while one is pending.
// The f of every client event must be one the checkers know (KnownFunction):
// another is an error naming its line.
// With `threads` >= 2 and kParallelPairMinEvents events or more, the later
// half of the events is paired on a second thread (the same operations, the
// same errors).
inline constexpr size_t kParallelPairMinEvents = 131072;
Result<std::vector<Operation>> PairOperations(const History& history, int threads = 1,
                                              size_t parallel_min_events = kParallelPairMinEvents);

// PairOperations one event at a time, for readers that do not keep events.
class OperationPairer {
 public:
  explicit OperationPairer(std::string source);
  // Events in history order; `position` is the event's index in that order.
  // An error names the event's line.
  std::optional<Error> Add(const Event& event, int64_t position);
  // The same, taking the event's strings and values instead of copying them.
  std::optional<Error> Add(Event&& event, int64_t position);
  // Room for this many operations (a hint: more may be added).
  void Reserve(size_t operations);
  // Operations begun so far, and the room for them.
  size_t operations() const { return ops_.size(); }
  size_t capacity() const { return ops_.capacity(); }
  // What the operations begun so far use (after Splice, both parts').
  const OperationKinds& kinds() const { return kinds_; }
  Result<std::vector<Operation>> Finish();

  // Reading one history in two parts at once (the JSONL reader's two
  // threads): the later part's pairer is told so, and a completion it gets
  // for a process with nothing pending is kept aside (for the earlier part's
  // pending invocation) instead of being an error.
  void ContinueEarlierPart() { continues_ = true; }
  // Joins `later` (the pairer of the events after this one's, which
  // ContinueEarlierPart) on to this one: its operations follow, their
  // indices, event positions and lines moved on by this part's operations,
  // `events_before` and `lines_before`, and the completions it kept aside
  // complete this part's pending invocations. True when the result is what
  // one pairer given every event in order would hold; false when that pairer
  // would have refused an event (a completion with nothing pending, an
  // invocation while one is pending, a completion whose f is not its
  // invocation's, across the join): the caller then reads the history in one
  // part, which gives the error. `later` is left empty either way.
  bool Splice(OperationPairer&& later, int64_t events_before, int lines_before);

 private:
  template <typename E>
  std::optional<Error> AddImpl(E&& event, int64_t position);
  // The completion `e` (at `position`) of `op`: an error when its f is not op's.
  template <typename E>
  std::optional<Error> Complete(Operation& op, E&& e, int64_t position);
  // This part's pending invocation of `process`, or pending_.end().
  std::vector<std::pair<int64_t, size_t>>::iterator PendingOf(int64_t process);

  std::string source_;
  std::vector<Operation> ops_;
  std::vector<std::pair<int64_t, size_t>> pending_;  // process -> op index, few
  OperationKinds kinds_;
  // ContinueEarlierPart: completions with nothing pending here, in order,
  // with their positions.
  bool continues_ = false;
  std::vector<std::pair<Event, int64_t>> orphans_;
};

// put, get, delete, batch, range, cas, read, write, append, incr, transfer.
bool KnownFunction(std::string_view f);
// (Templates taking exactly a FunctionName: a std::string converts to both.)
template <std::same_as<FunctionName> F>
bool KnownFunction(F f) {
  return f.known();
}

// Whether `f` only observes state (read, get, range).
bool IsReadFunction(std::string_view f);
template <std::same_as<FunctionName> F>
bool IsReadFunction(F f) {
  return f.is_read();
}

}  // namespace kvlog::checker
