#include "log/sim/broker.h"

#include <algorithm>
#include <atomic>

namespace kvlog::log::sim {

class Reader final : public LogReader {
 public:
  Reader(Broker& broker, Offset from) : broker_(broker), position_(from) {}

  Result<std::vector<LogEntry>> Poll(std::size_t max_entries, Duration timeout) override {
    Runtime& rt = broker_.runtime_;
    const TimePoint deadline = rt.Now() + timeout;
    std::vector<LogEntry> out;
    std::unique_lock lock(*broker_.mu_);
    broker_.appended_->WaitUntil(lock, deadline, [&] { return closed_.load() || broker_.end_ > position_.load(); });
    if (closed_.load()) return MakeError(ErrorCode::kClosed, "simulated log reader is closed");
    position_.store(broker_.ReadLocked(position_.load(), max_entries, out));
    return out;
  }

  Offset Position() const override { return position_.load(); }

  void Close() override {
    closed_.store(true);
    std::unique_lock lock(*broker_.mu_);
    broker_.appended_->NotifyAll();
  }

 private:
  Broker& broker_;
  std::atomic<Offset> position_;
  std::atomic<bool> closed_{false};
};

class Connection final : public Log {
 public:
  explicit Connection(Broker& broker) : broker_(broker) {}

  void Append(std::span<const Record> records, AppendCallback done) override {
    if (closed_.load()) {
      done(MakeError(ErrorCode::kClosed, "simulated log connection is closed"));
      return;
    }
    done(broker_.Commit(records));
  }

  Result<std::unique_ptr<LogReader>> OpenReader(Offset from) override {
    if (closed_.load()) return MakeError(ErrorCode::kClosed, "simulated log connection is closed");
    return std::make_unique<Reader>(broker_, std::max<Offset>(from, 0));
  }

  Result<Offset> EndOffset(Duration /*timeout*/) override {
    if (closed_.load()) return MakeError(ErrorCode::kClosed, "simulated log connection is closed");
    return broker_.end_offset();
  }

  void Close() override { closed_.store(true); }

 private:
  Broker& broker_;
  std::atomic<bool> closed_{false};
};

Broker::Broker(Runtime& runtime)
    : runtime_(runtime), mu_(runtime.NewMutex()), appended_(runtime.NewCondVar()) {}

Broker::~Broker() = default;

std::unique_ptr<Log> Broker::Connect() { return std::make_unique<Connection>(*this); }

std::vector<Offset> Broker::Commit(std::span<const Record> records) {
  std::vector<Offset> offsets;
  offsets.reserve(records.size());
  std::unique_lock lock(*mu_);
  for (const Record& r : records) {
    offsets.push_back(end_);
    entries_.push_back(LogEntry{end_, r});
    ++end_;
  }
  appended_->NotifyAll();
  return offsets;
}

Offset Broker::ReadLocked(Offset position, std::size_t max, std::vector<LogEntry>& out) const {
  position = std::max(position, start_);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), position,
                             [](const LogEntry& e, Offset o) { return e.offset < o; });
  for (; it != entries_.end() && out.size() < max; ++it) {
    out.push_back(*it);
  }
  // Past the last entry read; at the end, past any trailing gap too.
  if (it == entries_.end()) return end_;
  return it->offset;
}

std::vector<LogEntry> Broker::Entries() const {
  std::unique_lock lock(*mu_);
  return entries_;
}

Offset Broker::end_offset() const {
  std::unique_lock lock(*mu_);
  return end_;
}

}  // namespace kvlog::log::sim
