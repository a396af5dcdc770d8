// The read half every Storage repeats: each Get, GetEntry and Range, plain or
// with the log position the read reflects, takes the store's shared lock and
// calls the store's unlocked form. A store derives from
// LockedReads<Store, Base> (Base: Storage or an interface derived from it),
// guards its state with mu_, keeps position_ (the position its entries
// reflect) under mu_, and defines, for callers holding mu_:
//
//   bool GetLocked(std::string_view key, std::string* value) const;
//   std::optional<VersionedValue> GetEntryLocked(std::string_view key) const;
//   std::vector<KeyValue> RangeLocked(const KeyConstraint&, const QueryOptions&) const;
//
// A positioned read and a positioned Apply (which moves the batch and
// position_ together under mu_ held exclusively) see both or neither.
//
// The lock is an OS lock on purpose: no critical section of a store blocks or
// yields, so it is safe under the fiber runtime too.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kv/storage.h"

namespace kvlog::kv {

template <typename Store, typename Base>
class LockedReads : public Base {
 public:
  using Base::Get;
  using Base::GetEntry;
  using Base::Range;

  std::optional<std::string> Get(std::string_view key) const override {
    std::string value;
    if (!Get(key, &value)) return std::nullopt;
    return value;
  }

  bool Get(std::string_view key, std::string* value) const override {
    std::shared_lock lock(mu_);
    return self().GetLocked(key, value);
  }

  bool Get(std::string_view key, std::string* value, int64_t* position) const override {
    std::shared_lock lock(mu_);
    *position = position_;
    return self().GetLocked(key, value);
  }

  std::optional<VersionedValue> GetEntry(std::string_view key) const override {
    std::shared_lock lock(mu_);
    return self().GetEntryLocked(key);
  }

  std::optional<VersionedValue> GetEntry(std::string_view key, int64_t* position) const override {
    std::shared_lock lock(mu_);
    *position = position_;
    return self().GetEntryLocked(key);
  }

  std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options) const override {
    std::shared_lock lock(mu_);
    return self().RangeLocked(range, options);
  }

  std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options,
                              int64_t* position) const override {
    std::shared_lock lock(mu_);
    *position = position_;
    return self().RangeLocked(range, options);
  }

 protected:
  mutable std::shared_mutex mu_;  // determinism-lint: allow (a leaf lock)
  int64_t position_ = 0;          // Guarded by mu_: the log position the entries reflect.

 private:
  const Store& self() const { return static_cast<const Store&>(*this); }
};

}  // namespace kvlog::kv
