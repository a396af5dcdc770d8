#include "checker/bank.h"

#include <charconv>
#include <iterator>
#include <set>
#include <string>

#include <fmt/format.h>

namespace kvlog::checker {
namespace {

std::optional<int64_t> Balance(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.as_string();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

}  // namespace

CheckReport CheckBank(const std::vector<Operation>& ops, const BankOptions& options) {
  CheckReport rep;
  rep.checker = "bank";
  std::optional<int64_t> total = options.total;
  std::set<std::string> accounts;  // empty: every key a read lists
  std::string opening;
  for (const Operation& o : ops) {
    if (total || !o.ok() || o.f != "batch" || !o.input.is_list()) continue;
    int64_t sum = 0;
    bool usable = !o.input.items().empty();
    std::set<std::string> keys;
    for (const Value& item : o.input.items()) {
      const Value* f = item.is_map() ? item.Find("f") : nullptr;
      const Value* key = item.is_map() ? item.Find("key") : nullptr;
      const Value* value = item.is_map() ? item.Find("value") : nullptr;
      auto b = value ? Balance(*value) : std::nullopt;
      if (!f || f->ToString() != "put" || !key || !key->is_string() || !b) {
        usable = false;
        break;
      }
      keys.insert(key->as_string());
      sum += *b;
    }
    if (!usable) continue;
    total = sum;
    accounts = std::move(keys);
    opening = o.line > 0 ? fmt::format(" (the opening deposit, line {})", o.line) : " (the opening deposit)";
  }

  int64_t reads = 0, moved = 0, refused = 0, unknown = 0;
  for (const Operation& o : ops) {
    if (o.f == "transfer") {
      if (o.info()) {
        ++unknown;
      } else if (o.ok()) {
        ++(o.result == false ? refused : moved);
      }
      continue;
    }
    if (o.f != "range" || !o.ok()) continue;
    ++reads;
    if (!total) continue;
    int64_t sum = 0;
    bool readable = o.output.is_list() || o.output.is_nil();
    std::string shown;
    if (o.output.is_list()) {
      for (const Value& pair : o.output.items()) {
        if (!pair.is_list() || pair.items().size() != 2 || !pair.items()[0].is_string()) {
          readable = false;
          break;
        }
        const std::string& account = pair.items()[0].as_string();
        if (!accounts.empty() && !accounts.contains(account)) continue;
        auto b = Balance(pair.items()[1]);
        if (!b) {
          rep.Add({"not-a-balance", fmt::format("read of every account shows {} = {}, not an integer", account,
                                                pair.items()[1].ToString()),
                   {o.index}});
          readable = false;
          break;
        }
        fmt::format_to(std::back_inserter(shown), "{}{}={}", shown.empty() ? "" : " ", account, *b);
        sum += *b;
        if (*b < 0 && !options.allow_negative) {
          rep.Add({"negative-balance",
                   fmt::format("read of every account shows {} = {}, below zero, though every transfer guards the "
                               "balance it debits",
                               account, *b),
                   {o.index}});
        }
      }
    }
    if (!readable) {
      if (!o.output.is_list()) {
        rep.Add({"not-a-balance",
                 fmt::format("read of every account returned {}, not a list of [account balance] pairs",
                             o.output.ToString()),
                 {o.index}});
      }
      continue;
    }
    if (sum != *total) {
      rep.Add({"total-changed",
               fmt::format("read of every account at position {} sums to {}, not the total {}{}: {}",
                           o.applied ? fmt::to_string(*o.applied) : std::string("?"), sum, *total, opening,
                           shown.empty() ? "no accounts" : shown),
               {o.index}});
    }
  }
  if (reads == 0 && moved + refused + unknown == 0) return rep.Skip("no transfers or reads of every account");
  const std::string counts = fmt::format("{} transfers moved money, {} refused, {} unknown; {} reads of every account",
                                         moved, refused, unknown, reads);
  if (!total) {
    rep.verdict = Verdict::kUnknown;
    rep.summary = counts + "; no total to judge them against: no acknowledged opening deposit (a batch of puts "
                           "of integer balances) and no total given";
    return rep;
  }
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = fmt::format("{} judged against the total {}{}; {} violation(s)", counts, *total, opening,
                            rep.violation_count);
  return rep;
}

}  // namespace kvlog::checker
