#include "sim/bank_workload.h"

#include <charconv>

#include <fmt/format.h>

namespace kvlog::sim {
namespace {

using checker::Event;
using checker::EventType;
using checker::Value;

std::string Account(int i) { return fmt::format("acct{}", i); }

std::optional<int64_t> BalanceOf(const std::string& s) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

bool NeverApplied(const Error& e) {
  return e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kCorrupt;
}

// The opening deposit: one atomic batch, retried until acknowledged (applying
// it twice changes nothing: no transfer runs before it is done), then every
// client waits until it has applied it.
Status Open(const BankOptions& o, OpContext& ctx) {
  std::vector<Value> items;
  for (int i = 0; i < o.accounts; ++i) {
    items.push_back(Value::Map({"f", "key", "value"}, {Value::String("put"), Value::String(Account(i)),
                                                       Value::String(std::to_string(o.opening_balance))}));
  }
  const Value deposit = Value::List(std::move(items));
  Error last(ErrorCode::kInternal, "no attempt");
  for (int attempt = 0; attempt < 20; ++attempt) {
    Event invoke;
    invoke.f = "batch";
    invoke.value = deposit;
    invoke.op = fmt::format("{}.{}", ctx.op_id, attempt);
    ctx.invoke(invoke);
    auto batch = ctx.client->Batch();
    for (int i = 0; i < o.accounts; ++i) batch.Put(Account(i), std::to_string(o.opening_balance));
    kv::CallOptions call = ctx.call;
    call.op_id = *invoke.op;
    auto result = batch.Atomic().Execute(call);
    Event done = invoke;
    if (result) {
      done.type = EventType::kOk;
      done.offset = *result;
      ctx.complete(std::move(done));
      for (kv::Client* c : ctx.clients) {
        if (Status s = c->WaitApplied(*result, ctx.call); !s) return s;
      }
      return OkStatus();
    }
    done.type = NeverApplied(result.error()) ? EventType::kFail : EventType::kInfo;
    ctx.complete(std::move(done));
    last = result.error();
  }
  return std::unexpected(last);
}

void ReadAll(OpContext& ctx, const kv::ReadLevel& level) {
  Event invoke;
  invoke.f = "range";
  invoke.key = "acct";
  RecordReadLevel(level, invoke);
  ctx.invoke(invoke);
  kv::ReadInfo info;
  auto got = ctx.client->Range(kv::KeyConstraint{"acct", "acct\xff"}, {}, kv::ReadOptions{level, ctx.call.timeout},
                               &info);
  Event done;
  done.f = "range";
  done.key = "acct";
  if (got) {
    std::vector<Value> pairs;
    for (const auto& kv : *got) pairs.push_back(Value::List({Value::String(kv.key), Value::String(kv.value)}));
    done.type = EventType::kOk;
    done.value = Value::List(std::move(pairs));
    done.applied = info.position;
  } else {
    done.type = EventType::kFail;
  }
  ctx.complete(std::move(done));
}

void Transfer(const BankOptions& o, OpContext& ctx) {
  auto& rng = *ctx.rng;
  const int from = static_cast<int>(rng.Below(static_cast<uint64_t>(o.accounts)));
  const int to = (from + 1 + static_cast<int>(rng.Below(static_cast<uint64_t>(o.accounts - 1)))) % o.accounts;
  const int64_t amount = 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(std::max<int64_t>(o.max_amount, 1))));
  Event invoke;
  invoke.f = "transfer";
  invoke.value = Value::Map({"from", "to", "amount"},
                            {Value::String(Account(from)), Value::String(Account(to)), Value::Int(amount)});
  ctx.invoke(invoke);
  Event done = invoke;
  // Both balances and versions as this replica holds them; the transaction
  // holds only if both accounts are still at those versions where it lands.
  auto a = ctx.client->GetEntry(Account(from));
  auto b = ctx.client->GetEntry(Account(to));
  // Plain values beside the flags: GCC -O1 (the TSan build) takes *optional
  // here for maybe uninitialised.
  const std::optional<int64_t> from_balance = a ? BalanceOf(a->value) : std::nullopt;
  const std::optional<int64_t> to_balance = b ? BalanceOf(b->value) : std::nullopt;
  const bool ba = from_balance.has_value(), bb = to_balance.has_value();
  const int64_t from_amount = ba ? from_balance.value() : 0;
  if (!ba || !bb || from_amount < amount) {
    // Nothing to move (or an account this replica cannot read): refused, no write.
    done.type = ba && bb ? EventType::kOk : EventType::kFail;
    if (ba && bb) done.result = false;
    ctx.complete(std::move(done));
    return;
  }
  auto result = ctx.client->Transaction()
                    .If(kv::Condition::VersionIs(Account(from), a->version))
                    .If(kv::Condition::VersionIs(Account(to), b->version))
                    .Put(Account(from), std::to_string(from_amount - amount))
                    .Put(Account(to), std::to_string(to_balance.value() + amount))
                    .Commit(ctx.call);
  if (result) {
    done.type = EventType::kOk;
    done.result = result->succeeded;
    done.offset = result->offset;
  } else {
    done.type = NeverApplied(result.error()) ? EventType::kFail : EventType::kInfo;
  }
  ctx.complete(std::move(done));
}

}  // namespace

std::shared_ptr<const CustomWorkload> BankWorkload(const BankOptions& options) {
  auto o = std::make_shared<BankOptions>(options);
  o->accounts = std::max(o->accounts, 2);
  if (o->read_levels.empty()) o->read_levels = {kv::ReadLevel::Local()};
  auto w = std::make_shared<CustomWorkload>();
  w->start = [o] {  // Nothing shared between operations but the options.
    CustomOps ops;
    ops.setup = [o](OpContext& ctx) { return Open(*o, ctx); };
    ops.op = [o](OpContext& ctx) {
      if (static_cast<int>(ctx.rng->Below(100)) < o->transfer_percent) {
        Transfer(*o, ctx);
      } else {
        ReadAll(ctx, o->read_levels[ctx.rng->Below(o->read_levels.size())]);
      }
    };
    ops.finish = [](OpContext& ctx) { ReadAll(ctx, kv::ReadLevel::Linearizable()); };
    return ops;
  };
  return w;
}

}  // namespace kvlog::sim
