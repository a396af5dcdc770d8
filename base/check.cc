#include "base/check.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace kvlog::base {
namespace {

thread_local const ScopedCheckContext* innermost = nullptr;

}  // namespace

ScopedCheckContext::ScopedCheckContext(std::string text) : text_(std::move(text)), outer_(innermost) {
  innermost = this;
}

ScopedCheckContext::~ScopedCheckContext() { innermost = outer_; }

std::string CheckContextForTesting() {
  std::string out;
  for (const ScopedCheckContext* c = innermost; c != nullptr; c = c->outer_) out = c->text_ + "\n" + out;
  return out;
}

CheckFailure::CheckFailure(const char* file, int line, std::string condition)
    : file_(file), line_(line), condition_(std::move(condition)) {}

CheckFailure::~CheckFailure() {
  const std::string message = message_.str();
  std::fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file_, line_, condition_.c_str(), message.empty() ? "" : ": ",
               message.c_str());
  const std::string context = CheckContextForTesting();
  if (!context.empty()) std::fprintf(stderr, "%s", context.c_str());
  std::fflush(stderr);
  std::abort();
}

namespace internal {

std::string TakeCheckText(std::string* text) {
  std::unique_ptr<std::string> owned(text);
  return std::move(*owned);
}

}  // namespace internal
}  // namespace kvlog::base
