// The bank workload: N accounts opened by one atomic batch; clients transfer
// money between two accounts with a kv::Txn (compare both accounts' versions
// as read locally, write both; refused locally when the balance would go
// below zero) and read every account in one atomic range read at one
// position; after the run every replica reads every account linearizably.
// Judged by checker/bank.h: the total is the same in every read and no
// balance is negative.
//
// History: batch (the opening deposit), transfer ({from, to, amount}; on ok
// result true when it moved money, false when refused or its compares
// failed), range (key "acct", on ok the [account balance] pairs, with its
// level and position).
#pragma once

#include <memory>
#include <vector>

#include "kv/options.h"
#include "sim/workload.h"

namespace kvlog::sim {

struct BankOptions {
  int accounts = 4;           // Keys "acct0" .. "acct{accounts-1}".
  int64_t opening_balance = 100;
  int64_t max_amount = 40;    // Each transfer moves 1..max_amount.
  int transfer_percent = 60;  // The rest are reads of every account.
  std::vector<kv::ReadLevel> read_levels = {kv::ReadLevel::Local(), kv::ReadLevel::Linearizable()};
};

std::shared_ptr<const CustomWorkload> BankWorkload(const BankOptions& options = {});

}  // namespace kvlog::sim
