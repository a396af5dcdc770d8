// Where a client keeps the state it has applied from the log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvlog::kv {

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// Keys in [start, end), compared as unsigned bytes. No `end` means no upper bound.
struct KeyConstraint {
  std::string start;
  std::optional<std::string> end;

  bool Contains(std::string_view key) const;
};

// Every key that begins with `prefix`. The empty prefix matches every key; a
// prefix of only 0xFF bytes has no finite exclusive end, so it is unbounded.
KeyConstraint Prefix(std::string_view prefix);

struct QueryOptions {
  std::size_t limit = 0;  // 0: no limit.
};

// One change to apply: a value to set, or none to delete.
struct Mutation {
  std::string key;
  std::optional<std::string> value;
};

// The store a client applies the log into. Implementations must allow
// concurrent readers while one writer applies.
class Storage {
 public:
  virtual ~Storage() = default;

  virtual std::optional<std::string> Get(std::string_view key) const = 0;
  // Copies the value into *value, reusing its buffer; false for a missing key.
  // The default calls Get above; a store overrides it to avoid the allocation.
  virtual bool Get(std::string_view key, std::string* value) const;
  // Reads every key of `keys` into the matching element of `values` (same
  // size): a value, or nullopt for a missing key. Buffers already in `values`
  // are reused. The default calls Get per key; a store overrides it to overlap
  // the lookups' memory accesses.
  virtual void MultiGet(std::span<const std::string_view> keys, std::span<std::optional<std::string>> values) const;
  virtual void Set(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
  // Pairs in key order within `range`, at most `options.limit` of them.
  virtual std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options) const = 0;
  virtual std::size_t Size() const = 0;

  // Applies `batch` in order. The optional batch interface: a store that can
  // apply atomically overrides this so no reader sees part of a batch. The
  // default applies one mutation at a time.
  virtual void Apply(std::span<const Mutation> batch);

  // Positioned application and reads, for a client that must say where each
  // read was served. Apply(batch, position) applies `batch` and records that
  // the store now reflects the log below `position`, as one step for the
  // positioned reads, which return that position with their answer, taken
  // atomically with the read. The defaults do this under a lock of their own
  // around the methods above; a store with its own lock overrides all three
  // to use that one instead.
  virtual void Apply(std::span<const Mutation> batch, int64_t position);
  virtual bool Get(std::string_view key, std::string* value, int64_t* position) const;
  virtual std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options,
                                      int64_t* position) const;

 private:
  mutable std::shared_mutex positioned_mu_;  // The defaults' lock.
  int64_t position_ = 0;                     // Guarded by positioned_mu_ (defaults only).
};

}  // namespace kvlog::kv
