#include "kv/watch.h"

#include <algorithm>

#include <fmt/format.h>

namespace kvlog::kv {

std::string_view WatchEventTypeName(WatchEvent::Type type) {
  switch (type) {
    case WatchEvent::Type::kChanges: return "changes";
    case WatchEvent::Type::kProgress: return "progress";
    case WatchEvent::Type::kFellBehind: return "fell-behind";
  }
  return "unknown";
}

Watcher::~Watcher() {
  hub_->Cancel(*state_);
  hub_->Forget(*state_);
}

Result<WatchEvent> Watcher::Next(Duration timeout) { return hub_->Next(*state_, timeout); }

Result<WatchEvent> Watcher::Next(Duration timeout, const std::stop_token& stop) {
  return hub_->Next(*state_, timeout, stop);
}

void Watcher::Cancel() { hub_->Cancel(*state_); }

std::size_t Watcher::Buffered() const {
  std::unique_lock lock(*hub_->mu_);
  return state_->buffer.size();
}

uint64_t Watcher::id() const { return state_->id; }

namespace internal {
namespace {

std::string Describe(const WatcherState& w) {
  return fmt::format("watch {} of {} '{}'", w.id, w.prefix ? "prefix" : "key", w.key);
}

}  // namespace

bool WatcherState::Matches(std::string_view k) const { return prefix ? k.starts_with(key) : k == key; }

void WatchHub::IndexLocked(WatcherState& w) {
  if (w.prefix) {
    by_prefix_[w.key].push_back(&w);
    ++prefix_lengths_[w.key.size()];
  } else {
    by_key_[w.key].push_back(&w);
  }
}

void WatchHub::UnindexLocked(WatcherState& w) {
  auto& map = w.prefix ? by_prefix_ : by_key_;
  auto it = map.find(w.key);
  if (it == map.end()) return;
  auto& list = it->second;
  auto at = std::find(list.begin(), list.end(), &w);
  if (at == list.end()) return;
  list.erase(at);
  if (list.empty()) map.erase(it);
  if (w.prefix) {
    auto length = prefix_lengths_.find(w.key.size());
    if (--length->second == 0) prefix_lengths_.erase(length);
  }
}

template <typename F>
void WatchHub::ForEachMatchLocked(std::string_view key, F&& f) {
  if (!by_key_.empty()) {
    // Debian's absl has its own string_view, which the maps look up by.
    if (auto it = by_key_.find(absl::string_view(key.data(), key.size())); it != by_key_.end()) {
      for (WatcherState* w : it->second) f(w);
    }
  }
  for (const auto& [length, count] : prefix_lengths_) {
    if (length > key.size()) break;
    if (auto it = by_prefix_.find(absl::string_view(key.data(), length)); it != by_prefix_.end()) {
      for (WatcherState* w : it->second) f(w);
    }
  }
}

void WatchHub::StopLocked(WatcherState& w) {
  w.covered = CoveredLocked(w);
  w.live = false;
}

WatchHub::WatchHub(Runtime& runtime, std::string client_id, std::size_t history_events, std::size_t history_bytes)
    : runtime_(runtime),
      client_id_(std::move(client_id)),
      history_events_(history_events),
      history_bytes_(history_bytes),
      mu_(runtime.NewMutex()) {}

void WatchHub::Start(log::Offset position) {
  std::unique_lock lock(*mu_);
  log_start_ = history_begin_ = position_ = position;
}

template <typename It>
void WatchHub::OfferEventLocked(It begin, It end, uint64_t publish, std::vector<WatcherState*>& woken,
                                std::vector<WatcherState*>& touched) {
  const Version version = begin->version;
  touched.clear();
  for (It c = begin; c != end; ++c) {
    ForEachMatchLocked(c->change.key, [&](WatcherState* w) {
      if (!w->live || version <= w->after) return;
      if (w->pending_version != version) {
        w->pending_version = version;
        w->pending.clear();
        touched.push_back(w);
      }
      w->pending.push_back(c->change);
    });
  }
  if (touched.size() > 1) {
    std::sort(touched.begin(), touched.end(), [](const WatcherState* a, const WatcherState* b) { return a->id < b->id; });
  }
  for (WatcherState* w : touched) {
    OfferLocked(*w, version, std::move(w->pending));
    w->pending = {};
    if (w->notified_in != publish) {
      w->notified_in = publish;
      woken.push_back(w);
    }
  }
}

void WatchHub::Publish(std::span<Mutation> batch, log::Offset position) {
  std::unique_lock lock(*mu_);
  const bool keep = history_events_ > 0 && history_bytes_ > 0;
  if (!keep && watchers_.empty()) {
    position_ = history_begin_ = std::max(position_, position);
    return;
  }
  // The batch's changes, moved (never copied) into the window, or into a
  // scratch run when no window is kept; one event per record: a record's
  // mutations share its offset.
  std::deque<HistoryChange> unkept;
  std::deque<HistoryChange>& out = keep ? history_ : unkept;
  const std::size_t first_new = out.size();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Mutation& m = batch[i];
    const bool starts = i == 0 || m.version != batch[i - 1].version;
    out.push_back(HistoryChange{m.version, starts, WatchChange{std::move(m.key), std::move(m.value)}});
    if (keep) {
      history_size_ += Bytes(out.back().change);
      history_held_ += starts;
    }
  }

  // Live watchers take the new events. The index finds the watchers each
  // change matches; a watcher gets one event per record with the record's
  // changes it matches, in the record's order. Watchers are offered a record
  // in id order (the order of watchers_), as a scan of them would.
  const uint64_t publish = ++publishes_;
  std::vector<WatcherState*> woken;
  if (!watchers_.empty()) {
    std::vector<WatcherState*> touched;
    for (std::size_t i = first_new; i < out.size();) {
      std::size_t j = i + 1;
      while (j < out.size() && !out[j].starts) ++j;
      OfferEventLocked(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(j),
                       publish, woken, touched);
      i = j;
    }
  }
  // Live watchers' covered position is position_ (CoveredLocked). Only a
  // watcher that took an event (or fell behind) here can have a consumer
  // waiting for one: a consumer waits only on an empty buffer.
  position_ = std::max(position_, position);
  if (woken.size() > 1) {
    std::sort(woken.begin(), woken.end(), [](const WatcherState* a, const WatcherState* b) { return a->id < b->id; });
  }
  for (WatcherState* w : woken) w->ready->NotifyOne();

  // The window: evict the oldest events beyond its bounds; it then holds
  // every change at or above the version after the last one evicted.
  if (keep) {
    while (!history_.empty() && (history_held_ > history_events_ || history_size_ > history_bytes_)) {
      history_begin_ = history_.front().version + 1;
      do {
        history_size_ -= Bytes(history_.front().change);
        history_.pop_front();
      } while (!history_.empty() && !history_.front().starts);
      --history_held_;
    }
  } else {
    history_begin_ = position_;
  }
}

void WatchHub::OfferLocked(WatcherState& w, Version version, std::vector<WatchChange> changes) {
  if (w.buffer.size() >= w.buffer_events) {
    // Never wait for the consumer, never drop silently: stop here and say
    // where to resume.
    w.live = false;
    w.fell_behind = version - 1;
    w.covered = version;  // Every change below `version` went to the buffer.
    return;
  }
  w.buffer.push_back(WatchEvent{WatchEvent::Type::kChanges, version, std::move(changes)});
}

void WatchHub::CatchUpLocked(WatcherState& w) {
  if (w.live || w.fell_behind || w.failed || w.ended) return;
  if (w.cursor < history_begin_) {
    // The window moved past this watcher while it caught up.
    w.fell_behind = w.cursor - 1;
    return;
  }
  auto it = std::lower_bound(history_.begin(), history_.end(), w.cursor,
                             [](const HistoryChange& c, Version v) { return c.version < v; });
  while (it != history_.end() && w.buffer.size() < w.buffer_events) {
    auto next = it + 1;
    while (next != history_.end() && !next->starts) ++next;
    w.cursor = it->version + 1;
    if (it->version > w.after) {
      std::vector<WatchChange> mine;
      for (auto c = it; c != next; ++c) {
        if (w.Matches(c->change.key)) mine.push_back(c->change);
      }
      if (!mine.empty()) w.buffer.push_back(WatchEvent{WatchEvent::Type::kChanges, it->version, std::move(mine)});
    }
    it = next;
  }
  if (it == history_.end()) {
    w.live = true;  // Publish offers it everything from here on.
    w.covered = position_;
  } else {
    w.covered = w.cursor;
  }
}

Result<WatchEvent> WatchHub::Next(WatcherState& w, Duration timeout, const std::stop_token& stop) {
  const TimePoint deadline = runtime_.Now() + std::max(timeout, Duration::zero());
  // A stop request wakes the wait; the callback takes mu_, so it is made
  // before the lock and destroyed after it.
  const std::stop_callback on_stop(stop, [this, &w] {
    std::unique_lock stop_lock(*mu_);
    w.ready->NotifyAll();
  });
  std::unique_lock lock(*mu_);
  while (true) {
    if (w.cancelled) return MakeError(ErrorCode::kClosed, Describe(w) + " was cancelled");
    if (w.ended) return MakeError(ErrorCode::kClosed, Describe(w) + " has ended");
    if (stop.stop_requested()) {
      return MakeError(ErrorCode::kCancelled, Describe(w) + ": Next cancelled (stop requested); the watch goes on");
    }
    CatchUpLocked(w);
    if (!w.buffer.empty()) {
      WatchEvent e = std::move(w.buffer.front());
      w.buffer.pop_front();
      w.last_event = runtime_.Now();
      return e;
    }
    if (w.fell_behind) {
      w.ended = true;
      return WatchEvent{WatchEvent::Type::kFellBehind, *w.fell_behind, {}};
    }
    if (w.failed) {
      w.ended = true;
      return std::unexpected(*w.failed);
    }
    const TimePoint now = runtime_.Now();
    const bool progress = w.live && w.progress_interval > Duration::zero();
    if (progress && now >= w.last_event + w.progress_interval) {
      w.last_event = now;
      return WatchEvent{WatchEvent::Type::kProgress, CoveredLocked(w), {}};
    }
    if (now >= deadline) {
      return MakeError(ErrorCode::kTimeout,
                       fmt::format("{}: no event within {} ms", Describe(w),
                                   std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
    }
    TimePoint wake = deadline;
    if (progress) wake = std::min(wake, w.last_event + w.progress_interval);
    w.ready->WaitUntil(lock, wake);
  }
}

void WatchHub::Cancel(WatcherState& w) {
  std::unique_lock lock(*mu_);
  w.cancelled = true;
  StopLocked(w);
  w.buffer.clear();
  w.ready->NotifyAll();
}

void WatchHub::Forget(WatcherState& w) {
  std::unique_lock lock(*mu_);
  UnindexLocked(w);
  watchers_.remove_if([&](const std::shared_ptr<WatcherState>& p) { return p.get() == &w; });
}

void WatchHub::Lost(log::Offset position, const std::string& why) {
  std::unique_lock lock(*mu_);
  for (const auto& w : watchers_) {
    if (w->ended || w->cancelled || w->fell_behind) continue;
    StopLocked(*w);
    w->failed = Error(ErrorCode::kDataLoss, Describe(*w) + " on client " + client_id_ +
                                                ": the log lost records below the applier (" + why +
                                                "); changes may be missing, so the watch ends");
    w->ready->NotifyAll();
  }
  history_.clear();
  history_size_ = 0;
  history_held_ = 0;
  position_ = std::max(position_, position);
  history_begin_ = position_;
}

void WatchHub::Close() {
  std::unique_lock lock(*mu_);
  closed_ = true;
  for (const auto& w : watchers_) {
    if (w->ended || w->cancelled || w->failed) continue;
    StopLocked(*w);
    w->failed = Error(ErrorCode::kClosed, Describe(*w) + ": client " + client_id_ + " closed");
    w->ready->NotifyAll();
  }
}

Result<std::unique_ptr<Watcher>> WatchHub::Watch(const WatchOptions& options) {
  if (options.key.empty() && !options.prefix) {
    return MakeError(ErrorCode::kInvalidArgument, "watch: key is empty (set prefix to watch every key)");
  }
  if (options.buffer_events == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "watch: buffer_events is 0; it must be at least 1");
  }
  if (options.progress_interval < Duration::zero()) {
    return MakeError(ErrorCode::kInvalidArgument, "watch: progress_interval is negative");
  }
  if (options.start.kind == WatchStart::Kind::kAfter && options.start.after < kNoVersion) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("watch: start version {} is below -1 (After(-1) is the start of the log)",
                                 options.start.after));
  }
  auto w = std::make_shared<WatcherState>();
  w->key = options.key;
  w->prefix = options.prefix;
  w->buffer_events = options.buffer_events;
  w->progress_interval = options.progress_interval;
  w->ready = runtime_.NewCondVar();
  w->last_event = runtime_.Now();
  std::unique_lock lock(*mu_);
  if (closed_) return MakeError(ErrorCode::kClosed, fmt::format("watch: client {} is closed", client_id_));
  w->id = next_id_++;
  // Every change from `from` on is wanted.
  Version from = position_;
  switch (options.start.kind) {
    case WatchStart::Kind::kNow:
      break;
    case WatchStart::Kind::kFromStart:
      from = log_start_;
      break;
    case WatchStart::Kind::kAfter:
      from = options.start.after + 1;
      break;
  }
  const Version oldest_after = history_begin_ - 1;
  if (from < history_begin_) {
    const std::string asked = options.start.kind == WatchStart::Kind::kFromStart
                                  ? fmt::format("the start of the log (offset {})", log_start_)
                                  : fmt::format("after version {}", options.start.after);
    return MakeError(ErrorCode::kCompacted,
                     fmt::format("watch: cannot start {}: client {}'s watch history holds only changes after version "
                                 "{} (the oldest start available is After({})); the window is "
                                 "ClientOptions::watch_history_events = {} and watch_history_bytes = {})",
                                 asked, client_id_, oldest_after, oldest_after, history_events_, history_bytes_));
  }
  w->after = from - 1;
  if (from >= position_) {
    w->live = true;
    w->covered = position_;
  } else {
    w->cursor = from;
    w->covered = from;
  }
  IndexLocked(*w);
  watchers_.push_back(w);
  return std::unique_ptr<Watcher>(new Watcher(shared_from_this(), std::move(w)));
}

Version WatchHub::OldestWatchableAfter() const {
  std::unique_lock lock(*mu_);
  return history_begin_ - 1;
}

std::size_t WatchHub::HistoryEvents() const {
  std::unique_lock lock(*mu_);
  return history_held_;
}

std::vector<WatcherStats> WatchHub::Stats() const {
  std::unique_lock lock(*mu_);
  std::vector<WatcherStats> out;
  for (const auto& w : watchers_) {
    WatcherStats s;
    s.id = w->id;
    s.key = w->key;
    s.prefix = w->prefix;
    s.covered = CoveredLocked(*w);
    s.lag = position_ - s.covered;
    s.buffered = w->buffer.size();
    s.ended = w->ended || w->cancelled || w->fell_behind.has_value() || w->failed.has_value();
    out.push_back(s);
  }
  return out;
}

}  // namespace internal
}  // namespace kvlog::kv
