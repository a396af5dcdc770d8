#include "kv/testing/log_doubles.h"

#include <utility>

namespace kvlog::kv::testing {
namespace {

class ControlledReader final : public log::LogReader {
 public:
  ControlledReader(std::unique_ptr<log::LogReader> inner, LogControls& controls, Runtime& runtime)
      : inner_(std::move(inner)), controls_(controls), runtime_(runtime) {}

  Result<std::vector<log::LogEntry>> Poll(std::size_t max_entries, log::Duration timeout) override {
    if (controls_.stall_reader.load()) {
      runtime_.SleepFor(std::chrono::milliseconds(1));
      ++controls_.stalled_polls;
      return std::vector<log::LogEntry>{};
    }
    if (!stash_.empty()) return std::exchange(stash_, {});
    auto entries = inner_->Poll(max_entries, timeout);
    if (!entries) return entries;
    {
      std::lock_guard lock(controls_.mu);
      for (log::LogEntry& e : *entries) {
        if (controls_.corrupt_offsets.contains(e.offset)) {
          e.record = MakeError(ErrorCode::kCorrupt, "test double corrupted the record");
        }
      }
    }
    if (controls_.stall_reader.load()) {
      // Stalled while the inner poll waited: keep what it read for later.
      stash_ = std::move(*entries);
      return std::vector<log::LogEntry>{};
    }
    return entries;
  }
  log::Offset Position() const override {
    return stash_.empty() ? inner_->Position() : stash_.front().offset;
  }
  std::optional<log::Offset> KnownEnd() const override { return inner_->KnownEnd(); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::LogReader> inner_;
  LogControls& controls_;
  Runtime& runtime_;
  std::vector<log::LogEntry> stash_;  // Only the polling thread touches it.
};

class ControlledLogImpl final : public log::Log {
 public:
  ControlledLogImpl(std::unique_ptr<log::Log> inner, LogControls& controls, Runtime& runtime)
      : inner_(std::move(inner)), controls_(controls), runtime_(runtime) {}

  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    controls_.appends.fetch_add(1);
    controls_.records_appended.fetch_add(static_cast<int>(records.size()));
    if (const int64_t shift = controls_.ack_offset_shift.load(); shift != 0) {
      done = [shift, done = std::move(done)](log::AppendResult r) {
        if (r) {
          for (log::Offset& o : *r) o += shift;
        }
        done(std::move(r));
      };
    }
    for (int n = controls_.duplicate_appends.load(); n > 0;) {
      if (controls_.duplicate_appends.compare_exchange_weak(n, n - 1)) {
        inner_->Append(records, [](log::AppendResult) {});  // The copy whose acknowledgement was lost.
        break;
      }
    }
    if (!controls_.hold_acks.load()) {
      inner_->Append(records, std::move(done));
      return;
    }
    // Commit now, acknowledge later: the late-ack shape.
    auto held = std::make_shared<LogControls::HeldAck>();
    held->done = std::move(done);
    {
      std::lock_guard lock(controls_.mu);
      controls_.held.push_back(held);
    }
    LogControls& controls = controls_;
    inner_->Append(records, [held, &controls](log::AppendResult r) {
      log::AppendCallback deliver;
      {
        std::lock_guard lock(controls.mu);
        held->result = std::move(r);
        if (held->released) deliver = std::exchange(held->done, nullptr);
      }
      if (deliver) deliver(std::move(*held->result));
    });
  }

  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    auto reader = inner_->OpenReader(from, options);
    if (!reader) return reader;
    return std::unique_ptr<log::LogReader>(std::make_unique<ControlledReader>(std::move(*reader), controls_, runtime_));
  }
  Result<log::Offset> EndOffset(log::Duration timeout) override { return inner_->EndOffset(timeout); }
  std::string Name() const override { return inner_->Name(); }
  void PrepareAppends() override { inner_->PrepareAppends(); }
  std::string ReconnectHint() const override {
    {
      std::lock_guard lock(controls_.mu);
      if (!controls_.reconnect_hint.empty()) return controls_.reconnect_hint;
    }
    return inner_->ReconnectHint();
  }
  void Close() override {
    // Held acknowledgements fail with kClosed before Close returns, as the seam requires.
    // The inner log fails or delivers what it still holds before its Close
    // returns; anything still held here then fails with kClosed.
    inner_->Close();
    std::vector<log::AppendCallback> fail;
    {
      std::lock_guard lock(controls_.mu);
      for (auto& h : controls_.held) {
        if (h->done) fail.push_back(std::exchange(h->done, nullptr));
      }
      controls_.held.clear();
    }
    for (auto& done : fail) done(MakeError(ErrorCode::kClosed, "log closed with the acknowledgement held"));
  }

 private:
  std::unique_ptr<log::Log> inner_;
  LogControls& controls_;
  Runtime& runtime_;
};

}  // namespace

void LogControls::ReleaseAcks() {
  std::vector<std::pair<log::AppendCallback, log::AppendResult>> run;
  {
    std::lock_guard lock(mu);
    for (auto& h : held) {
      h->released = true;
      if (h->result && h->done) run.emplace_back(std::exchange(h->done, nullptr), *h->result);
    }
    held.clear();
  }
  for (auto& [done, result] : run) done(std::move(result));
}

std::unique_ptr<log::Log> ControlledLog(std::unique_ptr<log::Log> inner, LogControls& controls, Runtime& runtime) {
  return std::make_unique<ControlledLogImpl>(std::move(inner), controls, runtime);
}

}  // namespace kvlog::kv::testing
