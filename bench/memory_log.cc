#include "bench/memory_log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace kvlog::bench {
namespace {

using Records = std::shared_ptr<const std::vector<log::Record>>;

class MemoryReader final : public log::LogReader {
 public:
  MemoryReader(Records records, log::Offset from, const log::ReadOptions& options)
      : records_(std::move(records)), options_(options), position_(std::clamp<log::Offset>(from, 0, Size())) {}

  Result<std::vector<log::LogEntry>> Poll(std::size_t max_entries, log::Duration timeout) override {
    std::vector<log::LogEntry> out;
    const log::Offset start = position_.load();
    const log::Offset end = std::min<log::Offset>(Size(), start + static_cast<log::Offset>(max_entries));
    out.reserve(static_cast<std::size_t>(end - start));
    for (log::Offset o = start; o < end; ++o) {
      out.push_back(log::LogEntry{o, options_.Copy((*records_)[static_cast<std::size_t>(o)])});
    }
    position_.store(end);
    if (out.empty()) {
      // Nothing will ever arrive: wait out the timeout unless closed first.
      std::unique_lock lock(mu_);
      closed_cv_.wait_for(lock, timeout, [&] { return closed_; });
      if (closed_) return MakeError(ErrorCode::kClosed, "memory log reader closed");
    }
    return out;
  }

  log::Offset Position() const override { return position_.load(); }

  void Close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    closed_cv_.notify_all();
  }

 private:
  log::Offset Size() const { return static_cast<log::Offset>(records_->size()); }

  Records records_;
  const log::ReadOptions options_;
  std::atomic<log::Offset> position_;
  std::mutex mu_;
  std::condition_variable closed_cv_;
  bool closed_ = false;
};

class FixedMemoryLog final : public log::Log {
 public:
  explicit FixedMemoryLog(Records records) : records_(std::move(records)) {}

  void Append(std::span<const log::Record>, log::AppendCallback done) override {
    done(MakeError(ErrorCode::kUnavailable, "the memory log is read-only"));
  }
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    return std::unique_ptr<log::LogReader>(new MemoryReader(records_, from, options));
  }
  Result<log::Offset> EndOffset(log::Duration) override { return static_cast<log::Offset>(records_->size()); }
  void Close() override {}

 private:
  Records records_;
};

}  // namespace

std::unique_ptr<log::Log> MemoryLog(Records records) { return std::make_unique<FixedMemoryLog>(std::move(records)); }

}  // namespace kvlog::bench
