// ResourceClient<T>: a kv::Client that stores values of one type T, encoded by
// a Serde (kv/typed/serde.h).
//
//   kv::typed::ResourceClient users(*client, kv::typed::JsonSerde<User>{});
//   users.Put("users/ada", User{.name = "Ada", .email = "ada@example.com"});
//   Result<User> ada = users.Get("users/ada");
//   Result<std::vector<TypedKeyValue<User>>> all = users.Prefix("users/");
//   users.Batch().Put("users/bob", bob).Delete("users/eve").Execute();
//
// Versions, conditional writes and read levels are the client's (kv/client.h),
// typed:
//
//   Result<TypedEntry<User>> e = users.GetEntry("users/ada");        // value + version
//   users.PutIf("users/ada", changed, e->version);                    // kConflict if it moved
//   users.PutIfAbsent("users/bob", bob);                              // SetNX
//   counters.Update("hits", [](const Counter& c) { return Counter{c.n + 1}; });
//   users.Get("users/ada", {.level = kv::ReadLevel::Linearizable()});
//
// Keys are the client's keys, unchanged. Reads never skip a value: a value that
// does not decode fails the read with kCorrupt, naming the key. Errors from the
// client (kNotFound, kTimeout, ...) pass through unchanged.
#pragma once

#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "kv/client.h"
#include "kv/typed/serde.h"

namespace kvlog::kv::typed {

template <typename T>
struct TypedKeyValue {
  std::string key;
  T value;
};

// A typed value with its key and version (the offset of the record that last
// wrote the key).
template <typename T>
struct TypedEntry {
  std::string key;
  T value;
  Version version = kNoVersion;
};

template <typename T, SerdeFor<T> S>
class ResourceClient;

// A typed WriteBatch. A value that does not encode is remembered: Execute then
// fails with that error and appends nothing. Uses its ResourceClient's serde,
// so it must not outlive that ResourceClient.
template <typename T, SerdeFor<T> S>
class TypedWriteBatch {
 public:
  TypedWriteBatch& Put(std::string_view key, const T& value) {
    if (error_) return *this;
    auto bytes = serde_->Serialize(value);
    if (!bytes) {
      error_ = WithContext(std::move(bytes).error(), "batch put at key " + QuoteKey(key) + " does not encode");
      return *this;
    }
    batch_.Put(key, *bytes);
    return *this;
  }
  TypedWriteBatch& Delete(std::string_view key) {
    if (!error_) batch_.Delete(key);
    return *this;
  }
  std::size_t size() const { return batch_.size(); }
  // Like WriteBatch::Execute; fails first with the first encoding error.
  Result<log::Offset> Execute(const CallOptions& options = {}) {
    if (error_) return std::unexpected(*error_);
    return batch_.Execute(options);
  }

 private:
  friend class ResourceClient<T, S>;
  TypedWriteBatch(WriteBatch batch, const S* serde) : batch_(std::move(batch)), serde_(serde) {}

  WriteBatch batch_;
  const S* serde_;
  std::optional<Error> error_;
};

// Invariant: every value this class writes was encoded by serde_, and every
// value it returns was decoded by serde_. The client must outlive it.
// Thread-safe when the client and the serde are (kvlog's are).
template <typename T, SerdeFor<T> S>
class ResourceClient {
 public:
  ResourceClient(Client& client, S serde) : client_(&client), serde_(std::move(serde)) {}

  // Encodes `value` and writes it like Client::Put. An encoding error fails
  // the call before anything is appended.
  Result<log::Offset> Put(std::string_view key, const T& value, const CallOptions& options = {}) {
    auto bytes = serde_.Serialize(value);
    if (!bytes) {
      return std::unexpected(
          WithContext(std::move(bytes).error(), "put: value for key " + QuoteKey(key) + " does not encode"));
    }
    return client_->Put(key, *bytes, options);
  }

  Result<log::Offset> Delete(std::string_view key, const CallOptions& options = {}) {
    return client_->Delete(key, options);
  }

  // kNotFound for a missing key; kCorrupt, naming the key, for a value that
  // does not decode.
  Result<T> Get(std::string_view key) const {
    auto bytes = client_->Get(key);
    KVLOG_RETURN_IF_ERROR(bytes);
    auto value = serde_.Deserialize(*bytes);
    if (!value) return std::unexpected(DecodeError("get", key, value.error()));
    return value;
  }

  // Get at a read level (ReadLevel in kv/options.h: local, bounded,
  // at-least, linearizable); the client's errors for the level (kTimeout,
  // kInvalidArgument) pass through. With `info`, where the read was served.
  Result<T> Get(std::string_view key, const ReadOptions& read, ReadInfo* info = nullptr) const {
    auto bytes = client_->Get(key, read, info);
    KVLOG_RETURN_IF_ERROR(bytes);
    auto value = serde_.Deserialize(*bytes);
    if (!value) return std::unexpected(DecodeError("get", key, value.error()));
    return value;
  }

  // The value and its version, at a read level (local by default). The
  // version is what PutIf and DeleteIf expect. kNotFound for a missing key.
  Result<TypedEntry<T>> GetEntry(std::string_view key, const ReadOptions& read = {},
                                 ReadInfo* info = nullptr) const {
    // A local read needs no wait: the client's const overload, which builds
    // no level name.
    auto entry = read.level.kind == ReadLevel::Kind::kLocal ? client_->GetEntry(key, info)
                                                            : client_->GetEntry(key, read, info);
    KVLOG_RETURN_IF_ERROR(entry);
    auto value = serde_.Deserialize(entry->value);
    if (!value) return std::unexpected(DecodeError("get-entry", key, value.error()));
    return TypedEntry<T>{std::string(key), std::move(*value), entry->version};
  }

  // Typed pairs in key order. Stops at the first value that does not decode
  // and fails with kCorrupt naming its key; never returns a partial list.
  Result<std::vector<TypedKeyValue<T>>> Range(const KeyConstraint& range, const QueryOptions& options = {}) const {
    return Decode("range", client_->Range(range, options));
  }
  Result<std::vector<TypedKeyValue<T>>> Prefix(std::string_view prefix, const QueryOptions& options = {}) const {
    return Decode("prefix", client_->Prefix(prefix, options));
  }
  // The same at a read level.
  Result<std::vector<TypedKeyValue<T>>> Range(const KeyConstraint& range, const QueryOptions& options,
                                              const ReadOptions& read, ReadInfo* info = nullptr) const {
    return Decode("range", client_->Range(range, options, read, info));
  }
  Result<std::vector<TypedKeyValue<T>>> Prefix(std::string_view prefix, const QueryOptions& options,
                                               const ReadOptions& read, ReadInfo* info = nullptr) const {
    return Decode("prefix", client_->Range(kv::Prefix(prefix), options, read, info));
  }
  // Typed entries with their versions, in key order, at a read level.
  Result<std::vector<TypedEntry<T>>> RangeEntries(const KeyConstraint& range, QueryOptions options = {},
                                                  const ReadOptions& read = {}, ReadInfo* info = nullptr) const {
    options.versions = true;
    auto raw = client_->Range(range, options, read, info);
    KVLOG_RETURN_IF_ERROR(raw);
    std::vector<TypedEntry<T>> out;
    out.reserve(raw->size());
    for (KeyValue& pair : *raw) {
      auto value = serde_.Deserialize(pair.value);
      if (!value) return std::unexpected(DecodeError("range", pair.key, value.error()));
      out.push_back(TypedEntry<T>{std::move(pair.key), std::move(*value), pair.version});
    }
    return out;
  }

  // Conditional writes (Client::PutIf and friends): the condition is decided
  // where the log places the record. A false condition writes nothing and
  // fails with kConflict naming the key's version there; an encoding error
  // fails before anything is appended.
  Result<log::Offset> PutIf(std::string_view key, const T& value, Version expected_version,
                            const CallOptions& options = {}) {
    auto bytes = Encode("put-if", key, value);
    KVLOG_RETURN_IF_ERROR(bytes);
    return client_->PutIf(key, *bytes, expected_version, options);
  }
  Result<log::Offset> PutIfAbsent(std::string_view key, const T& value, const CallOptions& options = {}) {
    auto bytes = Encode("put-if-absent", key, value);
    KVLOG_RETURN_IF_ERROR(bytes);
    return client_->PutIfAbsent(key, *bytes, options);
  }
  Result<log::Offset> DeleteIf(std::string_view key, Version expected_version, const CallOptions& options = {}) {
    return client_->DeleteIf(key, expected_version, options);
  }

  // A typed atomic read-modify-write over Client::Update: decodes the key's
  // value, calls fn, encodes its result and writes it on condition that the
  // key has not changed, retrying on conflict (ClientOptions::update_*).
  // fn is either
  //   fn(const T& current) -> T or Result<T>: the key must have a value
  //       (kNotFound otherwise, nothing written), or
  //   fn(const std::optional<T>& current) -> T or Result<T>: nullopt when
  //       the key has no value.
  // fn returning an error changes nothing and Update returns that error; so
  // does a current value that does not decode (kCorrupt, naming the key) or
  // a result that does not encode. fn may run several times, and must not
  // call the client's blocking methods. Returns the new version.
  template <typename F>
    requires std::invocable<const F&, const std::optional<T>&> || std::invocable<const F&, const T&>
  Result<log::Offset> Update(std::string_view key, const F& fn, const CallOptions& options = {}) {
    const std::string key_copy(key);
    auto raw = [&](const std::optional<std::string>& current) -> Result<std::string> {
      std::optional<T> decoded;
      if (current) {
        auto value = serde_.Deserialize(*current);
        if (!value) return std::unexpected(DecodeError("update", key_copy, value.error()));
        decoded = std::move(*value);
      }
      Result<T> next = [&]() -> Result<T> {
        if constexpr (std::invocable<const F&, const std::optional<T>&>) {
          return fn(decoded);
        } else {
          if (!decoded) {
            return MakeError(ErrorCode::kNotFound, "update: key " + QuoteKey(key_copy) +
                                                       " has no value (an fn taking std::optional<T> may create it)");
          }
          return fn(*decoded);
        }
      }();
      KVLOG_RETURN_IF_ERROR(next);
      return Encode("update", key_copy, *next);
    };
    return client_->Update(key, raw, options);
  }

  TypedWriteBatch<T, S> Batch() { return TypedWriteBatch<T, S>(client_->Batch(), &serde_); }

  // The untyped client underneath, for Sync, WaitApplied and raw bytes.
  Client& raw() const { return *client_; }
  const S& serde() const { return serde_; }

 private:
  Result<std::vector<TypedKeyValue<T>>> Decode(std::string_view what,
                                                Result<std::vector<KeyValue>> raw) const {
    KVLOG_RETURN_IF_ERROR(raw);
    std::vector<TypedKeyValue<T>> out;
    out.reserve(raw->size());
    for (KeyValue& pair : *raw) {
      auto value = serde_.Deserialize(pair.value);
      if (!value) return std::unexpected(DecodeError(what, pair.key, value.error()));
      out.push_back(TypedKeyValue<T>{std::move(pair.key), std::move(*value)});
    }
    return out;
  }

  Result<std::string> Encode(std::string_view what, std::string_view key, const T& value) const {
    auto bytes = serde_.Serialize(value);
    if (!bytes) {
      return std::unexpected(WithContext(std::move(bytes).error(),
                                         std::string(what) + ": value for key " + QuoteKey(key) + " does not encode"));
    }
    return bytes;
  }

  Client* client_;
  S serde_;
};

// ResourceClient users(client, JsonSerde<User>{}) deduces ResourceClient<User, JsonSerde<User>>.
template <Serde S>
ResourceClient(Client&, S) -> ResourceClient<typename S::value_type, S>;

}  // namespace kvlog::kv::typed
