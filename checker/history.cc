#include "checker/history.h"

#include "absl/container/flat_hash_map.h"

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

Result<std::vector<Operation>> PairOperations(const History& history) {
  std::vector<Operation> ops;
  ops.reserve(history.events.size() / 2 + 1);
  absl::flat_hash_map<int64_t, size_t> pending;  // process -> op index
  for (size_t i = 0; i < history.events.size(); ++i) {
    const Event& e = history.events[i];
    if (e.type == EventType::kInvoke) {
      auto [it, inserted] = pending.try_emplace(e.process, ops.size());
      if (!inserted) {
        return MakeError(history.source, e.line,
                         "process " + std::to_string(e.process) +
                             " invokes while its operation from line " +
                             std::to_string(ops[it->second].line) +
                             " is still pending");
      }
      Operation& op = ops.emplace_back();  // built in place: an Operation is ~400 bytes
      op.index = ops.size() - 1;
      op.process = e.process;
      op.f = e.f;
      op.key = e.key;
      op.input = e.value;
      op.call = static_cast<int64_t>(i);
      op.call_time = e.time;
      op.replica = e.replica;
      op.op = e.op;
      op.line = e.line;
      continue;
    }
    auto it = pending.find(e.process);
    if (it == pending.end()) {
      return MakeError(history.source, e.line,
                       std::string(EventTypeName(e.type)) + " completion for process " +
                           std::to_string(e.process) + " that has no pending invocation");
    }
    Operation& op = ops[it->second];
    pending.erase(it);
    if (op.f != e.f) {
      return MakeError(history.source, e.line,
                       "completion f '" + e.f + "' does not match invocation f '" +
                           op.f + "' (line " + std::to_string(op.line) + ")");
    }
    op.outcome = e.type;
    if (e.type == EventType::kOk) op.output = e.value;
    if (e.type != EventType::kInfo) {
      op.ret = static_cast<int64_t>(i);
      op.ret_time = e.time;
    }
    if (e.offset) op.offset = e.offset;
    if (e.applied) op.applied = e.applied;
    if (e.replica) op.replica = e.replica;
    if (e.op) op.op = e.op;
    op.result = e.result;
  }
  return ops;
}

}  // namespace kvlog::checker
