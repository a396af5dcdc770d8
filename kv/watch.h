// Watch: a stream of every change to a key (or under a prefix), in log order,
// from a version on, with etcd's guarantees.
//
//   kv::WatchOptions w;
//   w.key = "user/";
//   w.prefix = true;
//   w.start = kv::WatchStart::After(version);   // or FromStart(), Now()
//   auto watcher = client->Watch(w);
//   while (true) {
//     auto event = (*watcher)->Next(std::chrono::seconds(1));
//     if (!event) break;  // cancelled, closed, data loss, or kTimeout (no event in time)
//     switch (event->type) { ... }
//   }
//
// Why a pull iterator and not a callback. The applier is the one task that
// moves a client's state forward; a callback run there would let one slow
// consumer stall every write and read-your-writes wait of the client (the
// client's hooks already run there, and must not block). A callback run
// elsewhere would need a task per watcher that kv/ would have to spawn. A pull
// iterator needs neither: the applier only copies an event into the
// watcher's bounded buffer (never blocks, never waits for the consumer), and
// the consumer blocks in Next() on a runtime condition variable, so it works
// the same on real threads and on the simulator's fibers, and the consumer
// decides which task (thread or fiber) does the waiting.
//
// Guarantees (each checked by checker/watch.h over recorded histories):
//  - Ordered: change events come in log order, versions strictly increasing.
//  - Complete: no change to a watched key after the start is skipped; a
//    transaction's (or an atomic batch's) changes to watched keys come
//    together in one event, with the record's offset as their version.
//    Tombstones come as changes without a value.
//  - Unique: no version is delivered twice by one watcher.
//  - Bounded: each watcher buffers at most WatchOptions::buffer_events events.
//    When the applier has an event for a watcher whose buffer is full, it
//    does not wait and does not drop the event silently: the watcher stops
//    taking events, the consumer receives what is buffered, then one
//    kFellBehind event whose version V says where to resume
//    (WatchStart::After(V) delivers exactly the continuation), and the stream
//    ends (Next then fails with kClosed).
//  - Progress: a watcher with no event for WatchOptions::progress_interval
//    gets a kProgress event with a position P: every change to a watched key
//    below P has been delivered before it. A quiet watcher knows it is current.
//
// History: where a watch from the past comes from. A watch may start before
// the client's applied position (resume after a reconnect, FromStart). The
// client cannot answer that by reading the log again with a second reader: a
// conditional record's or a transaction's effect depends on the state at its
// offset, which only the applier knows as it goes. So the applier keeps the
// changes it applied in a bounded history window (ClientOptions::
// watch_history_events and watch_history_bytes), filled from the start-up
// replay on, like etcd's watchable store keeps revisions until compaction. A
// watch starting inside the window is served from it, then live; a watch
// starting before the window fails at once with kCompacted, whose message
// names the oldest start the client can serve (also in Client::Stats()). No
// silent partial history. FromStart() is served while the window still holds
// everything since the log's start as this client read it. A compacted topic
// holds only each key's latest records, so FromStart then delivers what the
// log holds, as a replay would: the overwritten values are gone from the log
// itself. If the log loses records below the applier (retention,
// truncation), every watcher ends with kDataLoss and the window restarts at
// the applier's new position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kv/storage.h"
#include "log/status.h"
#include "runtime/runtime.h"

namespace kvlog::kv {

// Where a watch starts.
struct WatchStart {
  enum class Kind {
    kNow,        // Changes after the client's applied position when Watch is called.
    kFromStart,  // Every change from the start of the log.
    kAfter,      // Changes with a version greater than `after`.
  };
  Kind kind = Kind::kNow;
  Version after = kNoVersion;

  static WatchStart Now() { return {}; }
  static WatchStart FromStart() { return {Kind::kFromStart, kNoVersion}; }
  static WatchStart After(Version version) { return {Kind::kAfter, version}; }
};

// One change: a value written, or a tombstone (no value).
struct WatchChange {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const WatchChange&, const WatchChange&) = default;
};

struct WatchEvent {
  enum class Type {
    kChanges,     // `changes` were made by the record at offset `version`.
    kProgress,    // Every change below position `version` has been delivered.
    kFellBehind,  // The buffer overflowed; resume with WatchStart::After(version). Last event.
  };
  Type type = Type::kChanges;
  Version version = kNoVersion;
  std::vector<WatchChange> changes;  // kChanges only.
  friend bool operator==(const WatchEvent&, const WatchEvent&) = default;
};

// "changes", "progress", "fell-behind".
std::string_view WatchEventTypeName(WatchEvent::Type type);

struct WatchOptions {
  static constexpr std::size_t kDefaultBufferEvents = 1024;

  // The key watched, or with `prefix`, every key that begins with it (the
  // empty prefix watches every key).
  std::string key;
  bool prefix = false;
  WatchStart start;
  // Events this watcher holds for its consumer before it falls behind; 1 or more.
  std::size_t buffer_events = kDefaultBufferEvents;
  // A kProgress event after this long without an event; zero: never.
  Duration progress_interval = std::chrono::seconds(1);
};

// What Client::Stats() reports of one watcher.
struct WatcherStats {
  uint64_t id = 0;
  std::string key;
  bool prefix = false;
  // Every change below this position has been handed to the watcher's buffer.
  log::Offset covered = 0;
  // Records the watcher is behind the applier (applied position - covered).
  int64_t lag = 0;
  std::size_t buffered = 0;
  bool ended = false;  // Fell behind, cancelled, or failed.
};

namespace internal {
class WatchHub;
struct WatcherState;
}  // namespace internal

// A running watch. Made by Client::Watch. Thread-safe; one consumer at a
// time calls Next. May outlive its client (Next then fails with kClosed).
class Watcher {
 public:
  ~Watcher();  // Cancels.
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // The next event, waiting at most `timeout` for one (a progress event
  // counts). kTimeout when none came in time (the watch goes on); kClosed
  // once cancelled, after the client closed, or after kFellBehind was
  // delivered; kDataLoss when the log lost records below the applier.
  Result<WatchEvent> Next(Duration timeout);
  // The same, and a stop requested on `stop` (before or during the wait)
  // fails this Next with kCancelled at once; the watch goes on (Cancel ends
  // it).
  Result<WatchEvent> Next(Duration timeout, const std::stop_token& stop);
  // Ends the watch: a Next blocked now and every later one fail with kClosed.
  // Idempotent; safe from any task.
  void Cancel();
  // Events buffered and not yet taken by Next.
  std::size_t Buffered() const;
  uint64_t id() const;

 private:
  friend class internal::WatchHub;
  Watcher(std::shared_ptr<internal::WatchHub> hub, std::shared_ptr<internal::WatcherState> state)
      : hub_(std::move(hub)), state_(std::move(state)) {}
  std::shared_ptr<internal::WatchHub> hub_;
  std::shared_ptr<internal::WatcherState> state_;
};

namespace internal {

// Per watcher: guarded by WatchHub::mu_.
struct WatcherState {
  uint64_t id = 0;
  std::string key;
  bool prefix = false;
  std::size_t buffer_events = 0;
  Duration progress_interval{0};
  std::unique_ptr<CondVar> ready;
  // Versions at or below this are not delivered (the start).
  Version after = kNoVersion;
  // Live: the applier pushes events into `buffer`. Not live: catching up from
  // the history window, next reading from version `cursor`.
  bool live = false;
  Version cursor = 0;
  std::deque<WatchEvent> buffer;
  // Every change below it is in `buffer` or taken. While live, the hub's
  // position stands for it (WatchHub::CoveredLocked), so a Publish does not
  // visit every watcher to move it.
  log::Offset covered = 0;
  std::optional<Version> fell_behind;  // Resume after this; delivered after the buffer.
  std::optional<Error> failed;  // Ends the stream after the buffer.
  bool ended = false;           // Nothing more: Next fails with kClosed.
  bool cancelled = false;
  TimePoint last_event{};
  // Publish's scratch: the changes of the record at `pending_version` that
  // this watcher takes, and the Publish call that last woke it.
  Version pending_version = kNoVersion - 1;
  std::vector<WatchChange> pending;
  uint64_t notified_in = 0;

  bool Matches(std::string_view k) const;
};

// The history window and the watchers of one client. The applier calls
// Start once, then Publish after every batch it applies; Publish never blocks
// on a consumer.
class WatchHub : public std::enable_shared_from_this<WatchHub> {
 public:
  WatchHub(Runtime& runtime, std::string client_id, std::size_t history_events, std::size_t history_bytes);

  // The applier's first position (the log's start as its reader found it).
  void Start(log::Offset position);
  // The applier applied `batch` (in log order; a record's mutations share
  // its offset as version) and now stands at `position`. The window takes
  // the batch's keys and values by move (no copy per change): the batch is
  // left holding moved-from mutations, for the caller to clear.
  void Publish(std::span<Mutation> batch, log::Offset position);
  // The log lost records below the applier, which now stands at `position`:
  // every watcher ends with kDataLoss; the window restarts there.
  void Lost(log::Offset position, const std::string& why);
  // Every watcher ends with kClosed; later Watch calls fail.
  void Close();

  Result<std::unique_ptr<Watcher>> Watch(const WatchOptions& options);

  // The smallest V for which WatchStart::After(V) is served (the window
  // holds every change above it).
  Version OldestWatchableAfter() const;
  std::vector<WatcherStats> Stats() const;
  std::size_t HistoryEvents() const;

 private:
  friend class kv::Watcher;
  // The window is one flat run of changes, not a vector per event: a
  // replay's record costs no allocation of its own here. An event is the
  // changes from one that `starts` an event up to the next such one (a
  // record's mutations, published together, share its offset).
  struct HistoryChange {
    Version version = kNoVersion;
    bool starts = false;
    WatchChange change;
  };
  // What a change counts against watch_history_bytes.
  static std::size_t Bytes(const WatchChange& c) {
    return c.key.size() + (c.value ? c.value->size() : 0) + sizeof(WatchChange);
  }
  // Under mu_: offers the event [begin, end) of `changes` to the live
  // watchers it matches (an event for each, with its matching changes).
  template <typename It>
  void OfferEventLocked(It begin, It end, uint64_t publish, std::vector<WatcherState*>& woken,
                        std::vector<WatcherState*>& touched);
  // Under mu_: moves a watcher that is catching up forward through the
  // window, into its buffer, until the buffer is full or it is live.
  void CatchUpLocked(WatcherState& w);
  // Under mu_: adds an event for a live watcher, or makes it fall behind.
  void OfferLocked(WatcherState& w, Version version, std::vector<WatchChange> changes);
  Result<WatchEvent> Next(WatcherState& w, Duration timeout, const std::stop_token& stop = {});
  void Cancel(WatcherState& w);
  void Forget(WatcherState& w);
  // Under mu_: the watcher's covered position (the hub's while it is live).
  log::Offset CoveredLocked(const WatcherState& w) const { return w.live ? position_ : w.covered; }
  // Under mu_: the watcher takes no more events from Publish.
  void StopLocked(WatcherState& w);
  // Under mu_: the index of watchers by key and by prefix.
  void IndexLocked(WatcherState& w);
  void UnindexLocked(WatcherState& w);
  // Under mu_: calls f(w) for every indexed watcher that matches `key`
  // (exact-key watchers of it, then prefix watchers by prefix length).
  template <typename F>
  void ForEachMatchLocked(std::string_view key, F&& f);

  Runtime& runtime_;
  const std::string client_id_;
  const std::size_t history_events_;
  const std::size_t history_bytes_;
  std::unique_ptr<Mutex> mu_;
  std::deque<HistoryChange> history_;  // Guarded by mu_. In version order.
  std::size_t history_size_ = 0;       // Guarded by mu_. Bytes in history_.
  std::size_t history_held_ = 0;       // Guarded by mu_. Events in history_ (changes that start one).
  log::Offset log_start_ = 0;         // Guarded by mu_. Where the applier started.
  log::Offset history_begin_ = 0;     // Guarded by mu_. history_ holds every change at or above it.
  log::Offset position_ = 0;          // Guarded by mu_. The applier's position.
  bool closed_ = false;               // Guarded by mu_.
  uint64_t next_id_ = 1;              // Guarded by mu_.
  std::list<std::shared_ptr<WatcherState>> watchers_;  // Guarded by mu_. In id order.
  // The index Publish looks changes up in (guarded by mu_), so a change visits
  // only the watchers it matches, not all of them: exact-key watchers by key;
  // prefix watchers by prefix, with the distinct prefix lengths in use (and
  // how many watchers have each), so a key is looked up once per length.
  absl::flat_hash_map<std::string, std::vector<WatcherState*>> by_key_;
  absl::flat_hash_map<std::string, std::vector<WatcherState*>> by_prefix_;
  std::map<std::size_t, std::size_t> prefix_lengths_;
  uint64_t publishes_ = 0;  // Guarded by mu_. Publish calls so far.
};

}  // namespace internal
}  // namespace kvlog::kv
