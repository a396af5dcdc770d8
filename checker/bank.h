// The bank check: judges a history of transfers between accounts and reads
// of every account at one position (the bank workload: transfers are
// kv::Txn transactions that compare both accounts' versions and write both;
// reads are atomic range reads).
//
//   batch:    the opening deposit: puts of each account's balance (a decimal
//             string); the first acknowledged one names the accounts and the
//             total, unless BankOptions::total is given.
//   transfer: input {from, to, amount}; on ok, result true when it moved the
//             money, false when its compares failed (nothing moved).
//   range:    on ok, a list of [account balance] pairs read at one position.
//
// Every acknowledged range read must show the total (the accounts' balances
// summed; an account it does not list counts 0) and, unless
// allow_negative, no negative balance: a transfer applied in part, or
// decided on stale balances, shows as money made or lost.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kvlog::checker {

struct BankOptions {
  std::optional<int64_t> total;  // Unset: the opening deposit's sum.
  bool allow_negative = false;   // Transfers that do not guard balances.
};

CheckReport CheckBank(const std::vector<Operation>& ops, const BankOptions& options = {});

}  // namespace kvlog::checker
