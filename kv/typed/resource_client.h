// ResourceClient<T>: a kv::Client that stores values of one type T, encoded by
// a Serde (kv/typed/serde.h).
//
//   kv::typed::ResourceClient users(*client, kv::typed::JsonSerde<User>{});
//   users.Put("users/ada", User{.name = "Ada", .email = "ada@example.com"});
//   Result<User> ada = users.Get("users/ada");
//   Result<std::vector<TypedKeyValue<User>>> all = users.Prefix("users/");
//   users.Batch().Put("users/bob", bob).Delete("users/eve").Execute();
//
// Keys are the client's keys, unchanged. Reads never skip a value: a value that
// does not decode fails the read with kCorrupt, naming the key. Errors from the
// client (kNotFound, kTimeout, ...) pass through unchanged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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
      error_ = Error(bytes.error().code(), "batch put at key " + QuoteKey(key) +
                                               " does not encode: " + bytes.error().message());
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
      return MakeError(bytes.error().code(),
                       "put: value for key " + QuoteKey(key) + " does not encode: " + bytes.error().message());
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
    if (!bytes) return std::unexpected(bytes.error());
    auto value = serde_.Deserialize(*bytes);
    if (!value) return std::unexpected(DecodeError("get", key, value.error()));
    return value;
  }

  // Typed pairs in key order. Stops at the first value that does not decode
  // and fails with kCorrupt naming its key; never returns a partial list.
  Result<std::vector<TypedKeyValue<T>>> Range(const KeyConstraint& range, const QueryOptions& options = {}) const {
    return Decode("range", client_->Range(range, options));
  }
  Result<std::vector<TypedKeyValue<T>>> Prefix(std::string_view prefix, const QueryOptions& options = {}) const {
    return Decode("prefix", client_->Prefix(prefix, options));
  }

  TypedWriteBatch<T, S> Batch() { return TypedWriteBatch<T, S>(client_->Batch(), &serde_); }

  // The untyped client underneath, for Sync, WaitApplied and raw bytes.
  Client& raw() const { return *client_; }
  const S& serde() const { return serde_; }

 private:
  Result<std::vector<TypedKeyValue<T>>> Decode(std::string_view what,
                                                Result<std::vector<KeyValue>> raw) const {
    if (!raw) return std::unexpected(raw.error());
    std::vector<TypedKeyValue<T>> out;
    out.reserve(raw->size());
    for (KeyValue& pair : *raw) {
      auto value = serde_.Deserialize(pair.value);
      if (!value) return std::unexpected(DecodeError(what, pair.key, value.error()));
      out.push_back(TypedKeyValue<T>{std::move(pair.key), std::move(*value)});
    }
    return out;
  }

  Client* client_;
  S serde_;
};

// ResourceClient users(client, JsonSerde<User>{}) deduces ResourceClient<User, JsonSerde<User>>.
template <Serde S>
ResourceClient(Client&, S) -> ResourceClient<typename S::value_type, S>;

}  // namespace kvlog::kv::typed
