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

#include "log/record.h"
#include "log/status.h"

namespace kvlog::kv {

// A key's version is the log offset of the record that last wrote it. Every
// replica applies the same log, so every replica gives a key the same version.
// A missing key has no version; a key deleted and written again gets the
// offset of the new write.
using Version = log::Offset;
inline constexpr Version kNoVersion = log::kNoOffset;

struct KeyValue {
  std::string key;
  std::string value;
  // Filled only when QueryOptions::versions is set; kNoVersion otherwise.
  Version version = kNoVersion;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// A value with its version.
struct VersionedValue {
  std::string value;
  Version version = kNoVersion;
  friend bool operator==(const VersionedValue&, const VersionedValue&) = default;
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
  // Fill KeyValue::version of each pair.
  bool versions = false;
  // Pairs in descending key order: the `limit` greatest keys of the range,
  // greatest first. A store walks the range backwards, so a reverse read
  // costs its limit, not the whole range.
  bool reverse = false;
};

// One change to apply: a value to set, or none to delete. `version` is the
// offset of the record that made it (the key's new version).
struct Mutation {
  std::string key;
  std::optional<std::string> value;
  Version version = kNoVersion;
};

// What a durable store records about the log it holds the state of, so that
// opening it against another log is caught (Client::Open checks it).
struct LogIdentity {
  std::string name;                     // The log's name (Kafka: the topic); empty if unnamed.
  log::Offset first_offset = log::kNoOffset;  // The first record the store applied.
  uint64_t first_digest = 0;            // RecordDigest of that record.
  bool known() const { return first_offset != log::kNoOffset; }
  friend bool operator==(const LogIdentity&, const LogIdentity&) = default;
};

// A digest of a record's key and value (tombstones differ from empty values),
// the same in every process and on every machine.
uint64_t RecordDigest(const log::Record& record);

// What a durable store held when it was opened.
struct DurableState {
  int64_t position = 0;  // The log position its data reflects.
  LogIdentity identity;  // Unknown (first_offset kNoOffset) until it applied a record.
};

// Applier bookkeeping a durable store keeps beside the data, in the same
// atomic write (e.g. which conditional writes it has already decided, so a
// duplicate after a restart is still recognised). Keys and values are opaque
// to the store; no value deletes the key.
struct MetaMutation {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const MetaMutation&, const MetaMutation&) = default;
};

// The store a client applies the log into. Implementations must allow
// concurrent readers while one writer applies.
class Storage {
 public:
  virtual ~Storage() = default;

  virtual std::optional<std::string> Get(std::string_view key) const = 0;
  // The value and its version, or nullopt for a missing key.
  virtual std::optional<VersionedValue> GetEntry(std::string_view key) const = 0;
  // Copies the value into *value, reusing its buffer; false for a missing key.
  // The default calls Get above; a store overrides it to avoid the allocation.
  virtual bool Get(std::string_view key, std::string* value) const;
  // Reads every key of `keys` into the matching element of `values` (same
  // size): a value, or nullopt for a missing key. Buffers already in `values`
  // are reused. The default calls Get per key; a store overrides it to overlap
  // the lookups' memory accesses.
  virtual void MultiGet(std::span<const std::string_view> keys, std::span<std::optional<std::string>> values) const;
  // Sets key=value at `version` (the offset of the record that wrote it).
  virtual void Set(std::string_view key, std::string_view value, Version version) = 0;
  // Sets key=value with no version (kNoVersion): for stores filled outside a log.
  void Set(std::string_view key, std::string_view value) { Set(key, value, kNoVersion); }
  virtual void Delete(std::string_view key) = 0;
  // Pairs in key order within `range` (descending with `options.reverse`),
  // at most `options.limit` of them.
  virtual std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options) const = 0;
  virtual std::size_t Size() const = 0;

  // Applies `batch` in order. The optional batch interface: a store that can
  // apply atomically overrides this so no reader sees part of a batch. The
  // default applies one mutation at a time.
  virtual void Apply(std::span<const Mutation> batch);

  // A hint before a replay: up to `keys` more keys may come (the records
  // still to apply, an upper bound), so the store may size its indexes once
  // instead of growing them record by record. Reserve(0) after the replay
  // says it is over: the store may give back what went unused. The default
  // does nothing.
  virtual void Reserve(std::size_t keys) { (void)keys; }

  // Positioned application and reads, for a client that must say where each
  // read was served. Apply(batch, position) applies `batch` and records that
  // the store now reflects the log below `position`, as one step for the
  // positioned reads, which return that position with their answer, taken
  // atomically with the read. The defaults do this under a lock of their own
  // around the methods above; a store with its own lock overrides all three
  // to use that one instead.
  virtual void Apply(std::span<const Mutation> batch, int64_t position);
  virtual bool Get(std::string_view key, std::string* value, int64_t* position) const;
  virtual std::optional<VersionedValue> GetEntry(std::string_view key, int64_t* position) const;
  virtual std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options,
                                      int64_t* position) const;

  // Durable stores (the optional durability interface). A store that keeps
  // its state across restarts returns what it holds, and Client::Open then
  // resumes from its position instead of replaying the whole log; the
  // default (nullopt) is a store that starts empty every time.
  virtual std::optional<DurableState> Durable() const { return std::nullopt; }
  // Records which log the store holds (once, when it applies its first
  // record). The default keeps nothing.
  virtual Status SetIdentity(const LogIdentity& identity);
  // Apply(batch, position) plus applier metadata, all in one atomic write.
  // The default ignores `meta` (a store that is never reopened needs none).
  virtual void Apply(std::span<const Mutation> batch, int64_t position, std::span<const MetaMutation> meta);
  // Every metadata pair written by Apply above and not deleted, in key order.
  virtual std::vector<std::pair<std::string, std::string>> LoadMeta() const { return {}; }
  // Empties the store: no keys, no metadata, no identity, position 0 (a full
  // rebuild from the log's start follows). The default deletes every key.
  virtual Status Clear();
  // Writes a consistent copy of the store into `dir` (which must not exist)
  // and returns the position the copy reflects. The default fails with
  // kFailedPrecondition: the store keeps nothing to copy.
  virtual Result<int64_t> Checkpoint(const std::string& dir) const;

 private:
  mutable std::shared_mutex positioned_mu_;  // The defaults' lock; determinism-lint: allow (a leaf lock)
  int64_t position_ = 0;                     // Guarded by positioned_mu_ (defaults only).
};

}  // namespace kvlog::kv
