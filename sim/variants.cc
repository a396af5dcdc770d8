#include "sim/variants.h"

#include <algorithm>

namespace kvlog::sim {
namespace {

class BrokenReader final : public log::LogReader {
 public:
  BrokenReader(std::unique_ptr<log::LogReader> inner, bool early_ack, bool reorder)
      : inner_(std::move(inner)), early_ack_(early_ack), reorder_(reorder) {}

  Result<std::vector<log::LogEntry>> Poll(std::size_t max_entries, log::Duration timeout) override {
    auto entries = inner_->Poll(max_entries, timeout);
    if (entries && reorder_) std::reverse(entries->begin(), entries->end());
    return entries;
  }
  log::Offset Position() const override { return inner_->Position() + (early_ack_ ? 1 : 0); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::LogReader> inner_;
  const bool early_ack_;
  const bool reorder_;
};

class BrokenLog final : public log::Log {
 public:
  BrokenLog(std::unique_ptr<log::Log> inner, bool early_ack, bool reorder)
      : inner_(std::move(inner)), early_ack_(early_ack), reorder_(reorder) {}

  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    inner_->Append(records, std::move(done));
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    auto reader = inner_->OpenReader(from, options);
    if (!reader) return reader;
    return std::unique_ptr<log::LogReader>(std::make_unique<BrokenReader>(std::move(*reader), early_ack_, reorder_));
  }
  Result<log::Offset> EndOffset(log::Duration timeout) override { return inner_->EndOffset(timeout); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<log::Log> inner_;
  const bool early_ack_;
  const bool reorder_;
};

}  // namespace

std::vector<std::string> BrokenVariantNames() { return {"early-ack", "reorder"}; }

Result<LogWrapper> VariantWrapper(const std::string& name) {
  if (name.empty() || name == "correct") return LogWrapper(nullptr);
  bool early_ack = name == "early-ack";
  bool reorder = name == "reorder";
  if (!early_ack && !reorder) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown client variant '" + name + "'; known: correct, early-ack, reorder");
  }
  return LogWrapper([early_ack, reorder](std::unique_ptr<log::Log> log) -> std::unique_ptr<log::Log> {
    return std::make_unique<BrokenLog>(std::move(log), early_ack, reorder);
  });
}

}  // namespace kvlog::sim
