// A log whose connection could not be made: every call reports why. The live
// runners hand one to a client slot whose Kafka log failed to open.
#pragma once

#include <memory>
#include <span>
#include <utility>

#include "log/log.h"

namespace kvlog::sim::live {

class FailedLog final : public log::Log {
 public:
  explicit FailedLog(Error error) : error_(std::move(error)) {}
  void Append(std::span<const log::Record>, log::AppendCallback done) override { done(std::unexpected(error_)); }
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset, const log::ReadOptions&) override {
    return std::unexpected(error_);
  }
  Result<log::Offset> EndOffset(log::Duration) override { return std::unexpected(error_); }
  void Close() override {}

 private:
  Error error_;
};

}  // namespace kvlog::sim::live
