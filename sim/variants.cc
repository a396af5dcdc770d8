#include "sim/variants.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "kv/command.h"

namespace kvlog::sim {
namespace {

// "trust-ack": the headers of each record this connection appended, by the
// offset the log acknowledged it at. Shared by the log and its readers.
struct AckedHeaders {
  std::mutex mu;  // No critical section blocks: safe under the fiber runtime.
  std::map<log::Offset, std::vector<log::Header>> by_offset;
};

class BrokenReader final : public log::LogReader {
 public:
  BrokenReader(std::unique_ptr<log::LogReader> inner, bool early_ack, bool reorder,
               std::shared_ptr<AckedHeaders> acked)
      : inner_(std::move(inner)), early_ack_(early_ack), reorder_(reorder), acked_(std::move(acked)) {}

  Result<std::vector<log::LogEntry>> Poll(std::size_t max_entries, log::Duration timeout) override {
    auto entries = inner_->Poll(max_entries, timeout);
    if (entries && reorder_) std::reverse(entries->begin(), entries->end());
    if (entries && acked_) {
      // Whatever the log holds at an offset it acknowledged to this
      // connection reads as the appended record: the client can no longer
      // tell that the log lost its write, as if it did not check.
      std::lock_guard lock(acked_->mu);
      for (log::LogEntry& e : *entries) {
        auto it = acked_->by_offset.find(e.offset);
        if (it != acked_->by_offset.end() && e.record) e.record->headers = it->second;
      }
    }
    return entries;
  }
  log::Offset Position() const override { return inner_->Position() + (early_ack_ ? 1 : 0); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::LogReader> inner_;
  const bool early_ack_;
  const bool reorder_;
  const std::shared_ptr<AckedHeaders> acked_;
};

class BrokenLog final : public log::Log {
 public:
  BrokenLog(std::unique_ptr<log::Log> inner, bool early_ack, bool reorder, bool trust_ack)
      : inner_(std::move(inner)),
        early_ack_(early_ack),
        reorder_(reorder),
        acked_(trust_ack ? std::make_shared<AckedHeaders>() : nullptr) {}

  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    if (!acked_) return inner_->Append(records, std::move(done));
    std::vector<std::vector<log::Header>> headers;
    for (const log::Record& r : records) headers.push_back(r.headers);
    inner_->Append(records, [acked = acked_, headers = std::move(headers),
                             done = std::move(done)](log::AppendResult result) {
      if (result) {
        std::lock_guard lock(acked->mu);
        for (std::size_t i = 0; i < result->size() && i < headers.size(); ++i) {
          acked->by_offset[(*result)[i]] = headers[i];
        }
      }
      done(std::move(result));
    });
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    log::ReadOptions read = options;
    if (acked_) {
      // The substituted headers must reach the client whatever it asked for.
      read.headers = true;
      read.headers_switch = nullptr;
    }
    auto reader = inner_->OpenReader(from, read);
    if (!reader) return reader;
    return std::unique_ptr<log::LogReader>(
        std::make_unique<BrokenReader>(std::move(*reader), early_ack_, reorder_, acked_));
  }
  Result<log::Offset> EndOffset(log::Duration timeout) override { return inner_->EndOffset(timeout); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::Log> inner_;
  const bool early_ack_;
  const bool reorder_;
  const std::shared_ptr<AckedHeaders> acked_;
};

}  // namespace

// "writer-cas": conditions decided by the writer, not the log. The client reads
// the key's local version and asks for a write on condition of it; this log
// strips the condition from the record, so the write is appended as if the
// writer's own (local, maybe stale) check had been the decision.
class WriterCasLog final : public log::Log {
 public:
  explicit WriterCasLog(std::unique_ptr<log::Log> inner) : inner_(std::move(inner)) {}
  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    std::vector<log::Record> copy(records.begin(), records.end());
    for (log::Record& r : copy) {
      if (!r.value || !kv::internal::IsCommand(*r.value)) continue;
      auto command = kv::internal::DecodeCommand(*r.value);
      if (!command) continue;
      command->compares.clear();
      r.value = kv::internal::EncodeCommand(*command);
    }
    inner_->Append(copy, std::move(done));
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    return inner_->OpenReader(from, options);
  }
  Result<log::Offset> EndOffset(log::Duration timeout) override { return inner_->EndOffset(timeout); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::Log> inner_;
};

// "stale-end": a linearizable (or bounded) read that skips the end-offset
// fetch: after the first call (the start-up replay's), EndOffset answers with
// that first end offset instead of asking the log.
class StaleEndLog final : public log::Log {
 public:
  explicit StaleEndLog(std::unique_ptr<log::Log> inner) : inner_(std::move(inner)) {}
  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    inner_->Append(records, std::move(done));
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    return inner_->OpenReader(from, options);
  }
  Result<log::Offset> EndOffset(log::Duration timeout) override {
    {
      std::lock_guard lock(mu_);
      if (first_) return *first_;
    }
    auto end = inner_->EndOffset(timeout);  // Not under mu_: it may block.
    std::lock_guard lock(mu_);
    if (end && !first_) first_ = *end;
    return end;
  }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::Log> inner_;
  std::mutex mu_;  // No critical section blocks: safe under the fiber runtime.
  std::optional<log::Offset> first_;
};

// "txn-split": a transaction applied record by record. A command with several
// writes becomes one record per write: the first carries the conditions (under
// a writer name of its own, so no replica takes it for a duplicate), each
// other write follows unconditionally, the last keeping the original
// record's identity so the client finds its own record at the offset it is
// told. Every replica decides each record on its own: a reader can land
// between them, and when the first's conditions fail the rest still apply.
class TxnSplitLog final : public log::Log {
 public:
  explicit TxnSplitLog(std::unique_ptr<log::Log> inner) : inner_(std::move(inner)) {}
  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    std::vector<log::Record> out;
    std::vector<std::size_t> last;  // Per input record, the index of its last output record.
    for (const log::Record& r : records) {
      auto command = r.value && kv::internal::IsCommand(*r.value) ? kv::internal::DecodeCommand(*r.value)
                                                                   : Result<kv::internal::Command>(std::unexpected(
                                                                         Error(ErrorCode::kInvalidArgument, "")));
      if (!command || command->then_writes.size() < 2) {
        out.push_back(r);
        last.push_back(out.size() - 1);
        continue;
      }
      const std::size_t n = command->then_writes.size();
      for (std::size_t i = 0; i < n; ++i) {
        kv::internal::Command part;
        part.writer = i + 1 == n ? command->writer : fmt::format("{}#split{}", command->writer, i);
        part.seq = command->seq;
        if (i == 0) part.compares = command->compares;
        part.then_writes = {command->then_writes[i]};
        log::Record piece = r;
        if (i + 1 < n) piece.headers.clear();  // Only the last is the client's own.
        piece.key = kv::internal::CommandRecordKey(part);
        piece.value = kv::internal::EncodeCommand(part);
        out.push_back(std::move(piece));
      }
      last.push_back(out.size() - 1);
    }
    inner_->Append(out, [last = std::move(last), done = std::move(done)](log::AppendResult result) {
      if (result) {
        std::vector<log::Offset> offsets;
        for (std::size_t i : last) offsets.push_back(i < result->size() ? (*result)[i] : log::kNoOffset);
        result = std::move(offsets);
      }
      done(std::move(result));
    });
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    return inner_->OpenReader(from, options);
  }
  Result<log::Offset> EndOffset(log::Duration timeout) override { return inner_->EndOffset(timeout); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::Log> inner_;
};

std::vector<std::string> BrokenVariantNames() {
  return {"early-ack", "reorder", "trust-ack", "writer-cas", "stale-end", "txn-split"};
}

Result<LogWrapper> VariantWrapper(const std::string& name) {
  if (name.empty() || name == "correct") return LogWrapper(nullptr);
  if (name == "writer-cas") {
    return LogWrapper([](std::unique_ptr<log::Log> log) -> std::unique_ptr<log::Log> {
      return std::make_unique<WriterCasLog>(std::move(log));
    });
  }
  if (name == "txn-split") {
    return LogWrapper([](std::unique_ptr<log::Log> log) -> std::unique_ptr<log::Log> {
      return std::make_unique<TxnSplitLog>(std::move(log));
    });
  }
  if (name == "stale-end") {
    return LogWrapper([](std::unique_ptr<log::Log> log) -> std::unique_ptr<log::Log> {
      return std::make_unique<StaleEndLog>(std::move(log));
    });
  }
  bool early_ack = name == "early-ack";
  bool reorder = name == "reorder";
  bool trust_ack = name == "trust-ack";
  if (!early_ack && !reorder && !trust_ack) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown client variant '" + name +
                         "'; known: correct, early-ack, reorder, trust-ack, writer-cas, stale-end, txn-split");
  }
  return LogWrapper([early_ack, reorder, trust_ack](std::unique_ptr<log::Log> log) -> std::unique_ptr<log::Log> {
    return std::make_unique<BrokenLog>(std::move(log), early_ack, reorder, trust_ack);
  });
}

}  // namespace kvlog::sim
