// Workloads: N clients (replicas), each a process issuing a random mix of
// operations over a small key space, with every invocation and completion
// recorded as a checker::History. The same runner drives the simulated log
// under the fiber runtime and a Kafka log under real threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/rng.h"
#include "checker/history.h"
#include "kv/client.h"
#include "kv/dedup_window.h"
#include "log/log.h"
#include "runtime/runtime.h"
#include "sim/clock_skew.h"

namespace kvlog::sim {

struct OperationMix {
  int put = 40;
  int get = 30;
  int del = 10;
  int batch = 10;
  int range = 10;
  // Compare-and-set on one key: reads the key's local value and version, then
  // PutIf (PutIfAbsent when missing) with a new unique value. Recorded as
  // cas [expected new]; a kConflict completes ok with result false.
  int cas = 0;
  // An async put (kv::Client::PutAsync): the process goes on to its next
  // operation without waiting, keeping up to WorkloadOptions::max_async_writes
  // in flight. Each is recorded as a put of a process of its own (a "lane" of
  // the issuing process, reused once its write completed: operations of one
  // history process never overlap) on the same replica; its completion is
  // recorded when the client calls back (ok with the offset; fail for
  // kResourceExhausted at the in-flight limit, nothing appended; info for
  // what may have committed). Checkers count it as the replica's own once
  // acknowledged (checker/session.h).
  int put_async = 0;
};

// What a custom workload's step gets (CustomWorkload).
struct OpContext {
  kv::Client* client = nullptr;  // The process's replica.
  int64_t process = 0;
  int n = 0;            // The operation's number in its process.
  std::string op_id;    // Unique; stamp it on the records (CallOptions::op_id).
  kv::CallOptions call;  // The workload's timeout and op_id.
  base::Rng* rng = nullptr;  // The process's own: a named fork of the run's seed.
  std::vector<kv::Client*> clients;  // Setup only: every slot's client.
  // Record an invocation (process, replica and op filled in when unset) and
  // its completion (counted as completed or unknown by its type).
  std::function<void(checker::Event)> invoke;
  std::function<void(checker::Event)> complete;
};

// A workload with operations of its own (sim/counter_workload.h,
// sim/bank_workload.h): when WorkloadOptions::custom is set, each operation
// is `op` instead of one drawn from the mix; crashes, final states and
// recording stay the runner's.
struct CustomOps {
  // Before the processes start, on slot 0's client (process 0). An error
  // stops the workload.
  std::function<Status(OpContext&)> setup;
  std::function<void(OpContext&)> op;
  // After the run, per replica, once it has synced to the log's end (as a
  // fresh process): final reads.
  std::function<void(OpContext&)> finish;
};
struct CustomWorkload {
  // Called once per run: the operations and whatever state they share, fresh
  // for each run (a sweep reuses one WorkloadOptions for every seed).
  std::function<CustomOps()> start;
};

// Lets a nemesis outside the workload (a live run's mock schedule or broker
// nemesis, on a thread of its own) record its actions in the history, among
// the events, as they happen. Thread-safe.
class NemesisChannel {
 public:
  // Records action `f` (e.g. "kill-broker") with `value`, timed now; false
  // (and dropped) when no workload is recording: before it starts, after it ends.
  bool Record(const std::string& f, const std::string& value);
  // The workload runner's side.
  void Attach(std::function<void(std::string, std::string)> sink);
  void Detach();

 private:
  std::mutex mu_;
  std::function<void(std::string, std::string)> sink_;
};

struct WorkloadOptions {
  int clients = 3;
  int ops_per_client = 100;
  int keys = 5;            // Keys "k0" .. "k{keys-1}".
  int max_batch = 4;       // Records per batch op, 1..max_batch.
  OperationMix mix;
  // The level of every get (kv::ReadLevel): local by default.
  kv::ReadLevel get_level;
  Duration max_think = std::chrono::milliseconds(5);  // Pause before each op, uniform in [0, max_think].
  Duration op_timeout = std::chrono::seconds(2);
  Duration startup_timeout = std::chrono::seconds(30);
  Duration final_sync_timeout = std::chrono::seconds(60);
  // Client crash-and-restart events spread over the run (the nemesis).
  int crashes = 0;
  Duration crash_window = std::chrono::seconds(1);  // Crashes happen in [0, crash_window).
  Duration restart_delay = std::chrono::milliseconds(50);
  uint64_t seed = 0;
  // If set, each event goes here as it is recorded (in history order, with
  // its time) instead of into WorkloadResult::history.events: a long run then
  // keeps no events in memory. Called under the recorder's lock.
  std::function<void(const checker::Event&)> event_sink;
  // Fault actions known in advance (outages, failovers, reader pauses), each
  // timed in ns since the workload started, in time order. Each is recorded
  // among the events where its time falls (History::nemesis, or nemesis_sink),
  // so reports shade the fault windows; those after the run's end are left
  // out. Client crashes and restarts are recorded as they happen.
  std::vector<checker::NemesisEvent> planned_nemesis;
  // With event_sink: where nemesis actions go, in order with the events (a
  // nemesis action is handed over before the first event at or after it).
  std::function<void(const checker::NemesisEvent&)> nemesis_sink;
  // Set: the operations are this workload's, not the mix's.
  std::shared_ptr<const CustomWorkload> custom;
  // Set: the store each client opens on (slot, and how many times that slot
  // restarted: 0 for its first client), instead of a fresh in-memory store.
  // A durable store that outlives a crash (kv/testing/crashable_storage.h)
  // makes a restarted client resume from what the crash left; returning null
  // fails the open. Called from the workload's tasks; must be deterministic.
  std::function<std::unique_ptr<kv::Storage>(int slot, int restarts)> storage;
  // Set: actions recorded there go into the history while the workload runs.
  std::shared_ptr<NemesisChannel> external_nemesis;
  // Client knobs (kv::ClientOptions) the swarm varies; unset: the client's defaults.
  std::optional<std::size_t> max_poll_records;
  std::optional<Duration> poll_timeout;
  std::optional<Duration> poll_error_backoff;
  std::optional<std::size_t> max_writes_in_flight;
  std::optional<bool> wait_for_write_slot;
  // OperationMix::put_async: a process's async puts in flight at most; the
  // next waits for one to complete.
  int max_async_writes = 8;
  // Set (live runs with a broker nemesis): a client that has done its
  // ops_per_client goes on while this says true. Unset in the simulator.
  std::function<bool()> keep_going;
  // The clock-skew fault: client slot i's wall clock (Runtime::WallNow, which
  // only TTLs read) is off by clock_skews[i % size()]; none if empty. Steady
  // time, and the history's times, stay the runtime's.
  std::vector<ClockSkew> clock_skews;
};

// The history's name of a read level ("local", "bounded", "at_least",
// "linearizable") and its bound (bounded: the lag; at_least: the position),
// as Event::level and Event::bound carry them.
void RecordReadLevel(const kv::ReadLevel& level, checker::Event& invoke);

// Makes client slot `slot`'s connection to the log (again after a crash).
using ConnectFn = std::function<std::unique_ptr<log::Log>(int slot)>;
// Lets a test break the client on purpose: wraps each connection.
using LogWrapper = std::function<std::unique_ptr<log::Log>(std::unique_ptr<log::Log>)>;

struct WorkloadResult {
  checker::History history;  // Events (unless streamed) and final states; the caller adds the log.
  int64_t ops_completed = 0;   // ok or fail
  int64_t ops_unknown = 0;     // info
  int64_t crashes = 0;
  int64_t data_loss = 0;       // writes that failed with kDataLoss (recorded as info)
  int64_t reader_data_loss = 0;  // the clients' kv::Client::reader_data_loss(), summed
  // The clients' kv::ClientStats, summed: writes that found
  // max_writes_in_flight reached and waited for a slot, or (async, without
  // wait_for_write_slot) failed with kResourceExhausted.
  int64_t writes_waited_at_limit = 0;
  int64_t writes_refused_at_limit = 0;
  int64_t async_writes = 0;  // OperationMix::put_async operations issued
  std::vector<std::string> errors;  // Things that stopped the workload itself.
};

// Runs the workload to completion on `runtime`. Call from a task of that
// runtime (under the simulator: inside SimRuntime::Run).
WorkloadResult RunWorkload(Runtime& runtime, const WorkloadOptions& options, const ConnectFn& connect,
                           const LogWrapper& wrap = nullptr);

// Reads a log from the start up to its end offset through the seam, as the
// checker's records. Corrupt entries are left out: no replica applies them.
Result<std::vector<checker::LogRecord>> ReadLogForHistory(log::Log& log, Duration timeout);

// The checker's record of one log record.
checker::LogRecord ToLogRecord(log::Offset offset, const log::Record& record);

// The checker's records of a log read in offset order: plain records as
// ToLogRecord gives them; command records (kv/command.h) translated. A one-key
// condition on a version becomes cas with the value the key held at that
// version as `expected` (the workload's values are unique, so comparing values
// decides as comparing versions does); on absence, cas with no expected value.
// A duplicate command (a retry that committed twice) is left out, as every
// replica ignores it; so is a duplicate plain record (the same writer and
// seq headers again, decided by the replicas' own window,
// kv/dedup_window.h). Any other command (a transaction, an atomic batch, a
// condition on presence or with a delete) is decided here as every replica
// decides it, and becomes the plain put and delete records of the writes it
// applied, all at its offset, the last to each key (none when its condition
// failed and it has no else writes).
class LogRecordTranslator {
 public:
  Result<std::vector<checker::LogRecord>> Translate(log::Offset offset, const log::Record& record);

 private:
  // The value each record wrote to each key.
  std::map<std::pair<log::Offset, std::string>, std::optional<std::string>> written_;
  std::set<std::pair<std::string, uint64_t>> seen_;  // Commands' (writer, seq).
  kv::internal::PlainDedup plain_;                   // Plain records', as the replicas keep it.
  std::map<std::string, log::Offset> versions_;      // Each present key's version.
  void Wrote(log::Offset offset, const std::string& key, const checker::OptionalString& value);
};

}  // namespace kvlog::sim
