#include "checker/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>
#include <type_traits>
#include <utility>

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

// Both through FunctionName's codes (one list of the names, no string compares).
bool IsReadFunction(std::string_view f) { return FunctionName(FunctionName::KnownCode(f)).is_read(); }

bool KnownFunction(std::string_view f) { return FunctionName::KnownCode(f) != FunctionName::kEmpty; }

OperationPairer::OperationPairer(std::string source) : source_(std::move(source)) {}

namespace {

// An event's field for an operation: moved out when the event is an rvalue
// (`E` is `Event&&`: a streaming reader's event dies in the pairer anyway),
// copied when it is `const Event&`.
template <typename E, typename T>
decltype(auto) TakeField(T& field) {
  if constexpr (std::is_lvalue_reference_v<E>) {
    return static_cast<const T&>(field);
  } else {
    return std::move(field);
  }
}

}  // namespace

std::vector<std::pair<int64_t, size_t>>::iterator OperationPairer::PendingOf(int64_t process) {
  return std::find_if(pending_.begin(), pending_.end(), [&](const auto& p) { return p.first == process; });
}

// The one body of both Adds: `E` is `const Event&` (fields copied) or
// `Event&&` (fields moved: a streaming reader's event dies here anyway).
template <typename E>
std::optional<Error> OperationPairer::AddImpl(E&& e, int64_t position) {
  auto error = [&](std::string reason) { return Error{source_, e.line, std::move(reason)}; };
  const FunctionName::Code f = FunctionName::KnownCode(e.f);
  if (f == FunctionName::kEmpty) {
    return error(fmt::format(
        "unknown f '{}': the checkers know put, get, delete, batch, range, cas, read, write, append, incr and transfer",
        e.f));
  }
  for (const auto* field : {&e.time, &e.offset, &e.applied, &e.bound}) {
    if (*field == OptionalInt::kAbsent) [[unlikely]] {
      return error(fmt::format("{} is out of range: an event's time, offset, applied and bound must be above it",
                               OptionalInt::kAbsent));
    }
  }
  auto it = PendingOf(e.process);
  if (e.type == EventType::kInvoke) {
    if (it != pending_.end()) {
      return error(fmt::format("process {} invokes while its operation from line {} is still pending", e.process,
                               ops_[it->second].line));
    }
    pending_.emplace_back(e.process, ops_.size());
    Operation& op = ops_.emplace_back();  // built in place: an Operation is 152 bytes
    op.index = ops_.size() - 1;
    op.process = e.process;
    op.f = f;
    // The operation is in cache now; DefaultChecks asks later, when it is not.
    kinds_.transfer = kinds_.transfer || f == FunctionName::kTransfer;
    kinds_.incr = kinds_.incr || f == FunctionName::kIncr;
    // (Event and Operation hold their strings alike: a short one is copied
    // as 16 bytes, a long one moved when the event is.)
    op.key = TakeField<E>(e.key);
    op.input = TakeField<E>(e.value);
    op.call = position;
    op.call_time = e.time;
    op.replica = TakeField<E>(e.replica);
    op.op = TakeField<E>(e.op);
    op.line = e.line;
    op.level = e.level;
    op.bound = e.bound;
    return std::nullopt;
  }
  if (it == pending_.end()) {
    if (continues_) {  // its invocation may be in the earlier part: Splice decides
      orphans_.emplace_back(std::forward<E>(e), position);
      return std::nullopt;
    }
    return error(fmt::format("{} completion for process {} that has no pending invocation", EventTypeName(e.type),
                             e.process));
  }
  Operation& op = ops_[it->second];
  *it = pending_.back();
  pending_.pop_back();
  return Complete(op, std::forward<E>(e), position);
}

template <typename E>
std::optional<Error> OperationPairer::Complete(Operation& op, E&& e, int64_t position) {
  if (op.f != e.f) {
    return Error{source_, e.line,
                 fmt::format("completion f '{}' does not match invocation f '{}' (line {})", e.f, op.f, op.line)};
  }
  if (e.type == EventType::kOk && op.f == "range") {
    // Every check reads a range's result as [key value] pairs; anything else
    // would be skipped by them, and a history with a malformed result would
    // then read as valid.
    if (!e.value.is_list()) {
      return Error{source_, e.line, "a range's result must be a list of [key value] pairs"};
    }
    const auto& pairs = e.value.items();
    for (size_t i = 0; i < pairs.size() && !e.pairs_checked; ++i) {
      if (!pairs[i].is_list() || pairs[i].items().size() != 2) {
        return Error{source_, e.line,
                     fmt::format("item {} of a range's result is not a [key value] pair (a list of two)", i)};
      }
    }
  }
  op.outcome = e.type;
  if (e.type == EventType::kOk) op.output = TakeField<E>(e.value);
  if (e.type != EventType::kInfo) {
    op.ret = position;
    op.ret_time = e.time;
  }
  if (e.offset) op.offset = e.offset;
  if (e.applied) op.applied = e.applied;
  if (e.replica && e.replica != op.replica) op.replica = TakeField<E>(e.replica);
  if (e.op && e.op != op.op) op.op = TakeField<E>(e.op);
  op.result = e.result;
  return std::nullopt;
}

std::optional<Error> OperationPairer::Add(const Event& e, int64_t position) { return AddImpl(e, position); }

std::optional<Error> OperationPairer::Add(Event&& e, int64_t position) { return AddImpl(std::move(e), position); }

void OperationPairer::Reserve(size_t operations) { ops_.reserve(operations); }

bool OperationPairer::Splice(OperationPairer&& later, int64_t events_before, int lines_before) {
  OperationPairer b = std::move(later);
  later = OperationPairer(source_);
  // Where each process pending here first appears among the later part's
  // invocations (a pairer reading on would refuse an invocation while one is
  // pending, and a kept-aside completion after one).
  absl::flat_hash_map<int64_t, int64_t> first_call;  // process -> position in the later part
  for (const auto& [process, index] : pending_) first_call.emplace(process, Operation::kNever);
  for (const Operation& op : b.ops_) {
    auto it = first_call.find(op.process);
    if (it != first_call.end() && op.call < it->second) it->second = op.call;
  }
  for (auto& [e, position] : b.orphans_) {
    auto it = PendingOf(e.process);
    if (it == pending_.end() || first_call.at(e.process) < position) return false;
    Operation& op = ops_[it->second];
    *it = pending_.back();
    pending_.pop_back();
    e.line += lines_before;
    if (Complete(op, std::move(e), position + events_before)) return false;
  }
  for (const auto& [process, index] : pending_) {
    if (first_call.at(process) != Operation::kNever) return false;
  }
  const size_t ops_before = ops_.size();
  kinds_.transfer = kinds_.transfer || b.kinds_.transfer;
  kinds_.incr = kinds_.incr || b.kinds_.incr;
  for (const auto& [process, index] : b.pending_) pending_.emplace_back(process, index + ops_before);
  if (ops_.capacity() < ops_before + b.ops_.size()) ops_.reserve(ops_before + b.ops_.size());
  for (Operation& op : b.ops_) {
    op.index += ops_before;
    op.call += events_before;
    if (op.ret != Operation::kNever) op.ret += events_before;
    op.line += lines_before;
    ops_.push_back(std::move(op));
  }
  return true;
}

Result<std::vector<Operation>> OperationPairer::Finish() { return std::move(ops_); }

namespace {

// One pairer over history.events[begin, end), positions and lines as in the
// history. Reserves for every operation (half the events at least, all of
// them at most; the half spares the vector of 152-byte operations its
// doublings, each one a copy of all): `reserve_events` is the number of
// events to reserve for.
std::optional<Error> PairRange(const History& history, size_t begin, size_t end, size_t reserve_events,
                               OperationPairer& pairer) {
  pairer.Reserve(reserve_events / 2 + 1);
  for (size_t i = begin; i < end; ++i) {
    if (auto error = pairer.Add(history.events[i], static_cast<int64_t>(i))) return error;
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<Operation>> PairOperations(const History& history, int threads, size_t parallel_min_events) {
  if (history.ops) return *history.ops;
  const size_t n = history.events.size();
  if (threads >= 2 && n >= parallel_min_events && n >= 2) {
    // The later half on a worker, joined on (OperationPairer::Splice). Any
    // error, or a join that one pairer would have refused, and the history
    // is paired again on this thread alone: that gives the error one pairer
    // gives, at its line.
    const size_t mid = n / 2;
    OperationPairer earlier(history.source), later(history.source);
    later.ContinueEarlierPart();
    std::optional<Error> later_error;
    std::thread worker([&] { later_error = PairRange(history, mid, n, n - mid, later); });
    std::optional<Error> earlier_error = PairRange(history, 0, mid, n, earlier);
    worker.join();
    if (!earlier_error && !later_error && earlier.Splice(std::move(later), 0, 0)) return earlier.Finish();
  }
  OperationPairer pairer(history.source);
  if (auto error = PairRange(history, 0, n, n, pairer)) return std::unexpected(*error);
  return pairer.Finish();
}

}  // namespace kvlog::checker
