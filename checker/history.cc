#include "checker/history.h"

#include <algorithm>

namespace kvlog::checker {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kInvoke:
      return "invoke";
    case EventType::kOk:
      return "ok";
    case EventType::kFail:
      return "fail";
    case EventType::kInfo:
      return "info";
  }
  return "?";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  if (name == "invoke") return EventType::kInvoke;
  if (name == "ok") return EventType::kOk;
  if (name == "fail") return EventType::kFail;
  if (name == "info") return EventType::kInfo;
  return std::nullopt;
}

bool IsReadFunction(std::string_view f) {
  return f == "read" || f == "get" || f == "range";
}

bool KnownFunction(std::string_view f) {
  return f == "put" || f == "get" || f == "delete" || f == "batch" || f == "range" || f == "cas" || f == "read" ||
         f == "write" || f == "append" || f == "incr" || f == "transfer";
}

OperationPairer::OperationPairer(std::string source) : source_(std::move(source)) {}

std::optional<Error> OperationPairer::Add(const Event& e, int64_t position) {
  auto error = [&](std::string reason) { return Error{source_, e.line, std::move(reason)}; };
  if (!KnownFunction(e.f)) {
    return error("unknown f '" + e.f +
                 "': the checkers know put, get, delete, batch, range, cas, read, write, append, incr and transfer");
  }
  auto it = std::find_if(pending_.begin(), pending_.end(), [&](const auto& p) { return p.first == e.process; });
  if (e.type == EventType::kInvoke) {
    if (it != pending_.end()) {
      return error("process " + std::to_string(e.process) + " invokes while its operation from line " +
                   std::to_string(ops_[it->second].line) + " is still pending");
    }
    pending_.emplace_back(e.process, ops_.size());
    Operation& op = ops_.emplace_back();  // built in place: an Operation is ~300 bytes
    op.index = ops_.size() - 1;
    op.process = e.process;
    op.f = e.f;
    op.key = e.key;
    op.input = e.value;
    op.call = position;
    op.call_time = e.time;
    op.replica = e.replica;
    op.op = e.op;
    op.line = e.line;
    op.level = e.level;
    op.bound = e.bound;
    return std::nullopt;
  }
  if (it == pending_.end()) {
    return error(std::string(EventTypeName(e.type)) + " completion for process " + std::to_string(e.process) +
                 " that has no pending invocation");
  }
  Operation& op = ops_[it->second];
  *it = pending_.back();
  pending_.pop_back();
  if (op.f != e.f) {
    return error("completion f '" + e.f + "' does not match invocation f '" + op.f + "' (line " +
                 std::to_string(op.line) + ")");
  }
  op.outcome = e.type;
  if (e.type == EventType::kOk) op.output = e.value;
  if (e.type != EventType::kInfo) {
    op.ret = position;
    op.ret_time = e.time;
  }
  if (e.offset) op.offset = e.offset;
  if (e.applied) op.applied = e.applied;
  if (e.replica) op.replica = e.replica;
  if (e.op) op.op = e.op;
  op.result = e.result;
  return std::nullopt;
}

Result<std::vector<Operation>> OperationPairer::Finish() { return std::move(ops_); }

Result<std::vector<Operation>> PairOperations(const History& history) {
  if (history.ops) return *history.ops;
  OperationPairer pairer(history.source);
  for (size_t i = 0; i < history.events.size(); ++i) {
    if (auto error = pairer.Add(history.events[i], static_cast<int64_t>(i))) return std::unexpected(*error);
  }
  return pairer.Finish();
}

}  // namespace kvlog::checker
