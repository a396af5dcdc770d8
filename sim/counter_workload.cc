#include "sim/counter_workload.h"

#include <atomic>
#include <charconv>

#include <fmt/format.h>

namespace kvlog::sim {
namespace {

using checker::Event;
using checker::EventType;
using checker::Value;

// Whether a failed write is known not to have taken effect: refused input, a
// record every replica skips, or (Update) every attempt's condition failed.
bool NeverApplied(const Error& e) {
  return e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kCorrupt ||
         e.code() == ErrorCode::kConflict;
}

struct CounterState {
  CounterOptions options;
  std::atomic<int64_t> token{-1};  // The highest offset an increment returned.
};

std::string KeyOf(int i) { return fmt::format("n{}", i); }

void Read(CounterState& st, OpContext& ctx, const std::string& key, kv::ReadLevel level) {
  if (level.kind == kv::ReadLevel::Kind::kAtLeast) {
    const int64_t token = st.token.load();
    level = token < 0 ? kv::ReadLevel::Local() : kv::ReadLevel::AtLeast(token);
  }
  Event invoke;
  invoke.f = "get";
  invoke.key = key;
  RecordReadLevel(level, invoke);
  ctx.invoke(invoke);
  kv::ReadInfo info;
  auto entry = ctx.client->GetEntry(key, kv::ReadOptions{level, ctx.call.timeout}, &info);
  Event done;
  done.f = "get";
  done.key = key;
  if (entry || entry.error().code() == ErrorCode::kNotFound) {
    done.type = EventType::kOk;
    if (entry) done.value = Value::String(entry->value);
    done.applied = info.position;
  } else {
    done.type = EventType::kFail;  // A read changes nothing.
  }
  ctx.complete(std::move(done));
}

void Increment(CounterState& st, OpContext& ctx, const std::string& key) {
  Event invoke;
  invoke.f = "incr";
  invoke.key = key;
  invoke.value = Value::Int(1);
  ctx.invoke(invoke);
  int64_t wrote = 0;
  auto result = ctx.client->Update(
      key,
      [&](const std::optional<std::string>& current) -> Result<std::string> {
        int64_t n = 0;
        if (current) {
          auto [end, ec] = std::from_chars(current->data(), current->data() + current->size(), n);
          if (ec != std::errc() || end != current->data() + current->size()) {
            return MakeError(ErrorCode::kInvalidArgument, "counter " + key + " holds '" + *current + "'");
          }
        }
        wrote = n + 1;
        return std::to_string(wrote);
      },
      ctx.call);
  Event done;
  done.f = "incr";
  done.key = key;
  if (result) {
    done.type = EventType::kOk;
    done.value = Value::Int(wrote);
    done.offset = *result;
    int64_t seen = st.token.load();
    while (seen < *result && !st.token.compare_exchange_weak(seen, *result)) {
    }
  } else {
    done.type = NeverApplied(result.error()) ? EventType::kFail : EventType::kInfo;
  }
  ctx.complete(std::move(done));
}

}  // namespace

std::shared_ptr<const CustomWorkload> CounterWorkload(const CounterOptions& options) {
  CounterOptions o = options;
  if (o.counters < 1) o.counters = 1;
  if (o.read_levels.empty()) o.read_levels = {kv::ReadLevel::Local()};
  auto w = std::make_shared<CustomWorkload>();
  w->start = [o] {
    auto st = std::make_shared<CounterState>();  // This run's token.
    st->options = o;
    CustomOps ops;
    ops.op = [st](OpContext& ctx) {
      const std::string key = KeyOf(static_cast<int>(ctx.rng->Below(static_cast<uint64_t>(st->options.counters))));
      if (static_cast<int>(ctx.rng->Below(100)) < st->options.incr_percent) {
        Increment(*st, ctx, key);
      } else {
        const auto& levels = st->options.read_levels;
        Read(*st, ctx, key, levels[ctx.rng->Below(levels.size())]);
      }
    };
    ops.finish = [st](OpContext& ctx) {
      for (int i = 0; i < st->options.counters; ++i) Read(*st, ctx, KeyOf(i), kv::ReadLevel::Linearizable());
    };
    return ops;
  };
  return w;
}

}  // namespace kvlog::sim
