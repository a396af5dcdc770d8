#include "checker/value.h"

#include <cstddef>
#include <iterator>

#include <fmt/format.h>

#include "absl/hash/hash.h"

#include "base/check.h"
#include "checker/status.h"

namespace kvlog::checker {

std::string Error::ToString() const {
  std::string out;
  if (!file.empty()) out += file;
  if (line > 0) fmt::format_to(std::back_inserter(out), "{}{}", out.empty() ? "line " : ":", line);
  if (!out.empty()) out += ": ";
  return out + reason;
}

struct Value::StringPayload : Payload {
  explicit StringPayload(std::string s) : text(std::move(s)) {}
  std::string text;
};

struct Value::CompoundPayload : Payload {
  CompoundPayload(std::vector<std::string> k, std::vector<Value> v) : keys(std::move(k)), items(std::move(v)) {
    // Built by push_back, a list may hold up to twice the room it needs: a
    // range-heavy history holds millions of them for as long as it is checked.
    if (keys.capacity() > keys.size()) keys.shrink_to_fit();
    if (items.capacity() > items.size()) items.shrink_to_fit();
  }
  std::vector<std::string> keys;
  std::vector<Value> items;
};

struct Value::IntPayload : Payload {
  explicit IntPayload(int64_t v) : value(v) {}
  int64_t value;
};

static_assert(sizeof(Value) == 8);
static_assert(alignof(std::max_align_t) > 7, "payload pointers leave 3 low bits for the tag");

void Value::DropReferences(uint32_t n) const noexcept {
  const Payload* p = payload();
  if (p == nullptr) return;
  const uint32_t before = p->refs.fetch_sub(n, std::memory_order_acq_rel);
  KVLOG_CHECK_GT(before, n) << "references dropped past the holder's own";
}

void Value::ReleaseShared() noexcept {
  const Payload* p = payload();
  if (p->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  switch (tag()) {
    case kStringTag:
      delete static_cast<const StringPayload*>(p);
      break;
    case kBoxedInt:
      delete static_cast<const IntPayload*>(p);
      break;
    default:
      delete static_cast<const CompoundPayload*>(p);
  }
}

namespace {
// Integers in [-2^60, 2^60) live in the word, shifted past the tag.
constexpr int64_t kInlineIntLimit = int64_t{1} << 60;
}  // namespace

int64_t Value::as_int() const {
  switch (tag()) {
    case static_cast<uintptr_t>(Kind::kBool):
    case static_cast<uintptr_t>(Kind::kInt):
      // An arithmetic shift keeps the sign (C++20 defines it).
      return static_cast<int64_t>(bits_) >> 3;
    case kBoxedInt: {
      const Payload* p = payload();
      return p ? static_cast<const IntPayload*>(p)->value : 0;
    }
    default:
      return 0;
  }
}

const std::string& Value::as_string() const {
  static const std::string kEmpty;
  const Payload* p = payload();
  return tag() == kStringTag && p ? static_cast<const StringPayload*>(p)->text : kEmpty;
}

const std::vector<Value>& Value::items() const {
  static const std::vector<Value> kEmpty;
  const Payload* p = payload();
  return (tag() == kListTag || tag() == kMapTag) && p ? static_cast<const CompoundPayload*>(p)->items : kEmpty;
}

const std::vector<std::string>& Value::keys() const {
  static const std::vector<std::string> kEmpty;
  const Payload* p = payload();
  return (tag() == kListTag || tag() == kMapTag) && p ? static_cast<const CompoundPayload*>(p)->keys : kEmpty;
}

Value Value::Bool(bool b) {
  Value v;
  v.bits_ = (static_cast<uintptr_t>(b ? 1 : 0) << 3) | static_cast<uintptr_t>(Kind::kBool);
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  if (i >= -kInlineIntLimit && i < kInlineIntLimit) {
    v.bits_ = (static_cast<uintptr_t>(i) << 3) | static_cast<uintptr_t>(Kind::kInt);
  } else {
    v.SetPayload(new IntPayload(i), kBoxedInt);
  }
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.SetPayload(new StringPayload(std::move(s)), kStringTag);
  return v;
}

Value Value::List(std::vector<Value> items) {
  Value v;
  v.SetPayload(items.empty() ? nullptr : new CompoundPayload({}, std::move(items)), kListTag);
  return v;
}

Value Value::Map(std::vector<std::string> keys, std::vector<Value> values) {
  Value v;
  v.SetPayload(keys.empty() && values.empty() ? nullptr : new CompoundPayload(std::move(keys), std::move(values)),
               kMapTag);
  return v;
}

const Value* Value::Find(const std::string& key) const {
  const std::vector<std::string>& k = keys();
  for (size_t i = 0; i < k.size(); ++i) {
    if (k[i] == key) return &items()[i];
  }
  return nullptr;
}

std::string Value::ToString() const {
  switch (kind()) {
    case Kind::kNil:
      return "nil";
    case Kind::kBool:
      return as_int() ? "true" : "false";
    case Kind::kInt:
      return std::to_string(as_int());
    case Kind::kString:
      return as_string();
    case Kind::kList: {
      const std::vector<Value>& items_ = items();
      std::string out = "[";
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ' ';
        out += items_[i].ToString();
      }
      return out + "]";
    }
    case Kind::kMap: {
      const std::vector<Value>& items_ = items();
      const std::vector<std::string>& keys_ = keys();
      std::string out = "{";
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ", ";
        out += ":" + keys_[i] + " " + items_[i].ToString();
      }
      return out + "}";
    }
  }
  return "?";
}

bool Value::operator==(const Value& other) const {
  if (bits_ == other.bits_) return true;  // nil, the same bool or integer, or shared storage
  if (kind() != other.kind()) return false;
  switch (kind()) {
    case Kind::kNil:
      return true;
    case Kind::kBool:
    case Kind::kInt:
      return as_int() == other.as_int();
    case Kind::kString:
      return as_string() == other.as_string();
    case Kind::kList:
    case Kind::kMap:
      return keys() == other.keys() && items() == other.items();
  }
  return false;
}

size_t ValueHash::operator()(const Value& v) const {
  size_t h = static_cast<size_t>(v.kind()) * 0x9E3779B97F4A7C15ull;
  switch (v.kind()) {
    case Value::Kind::kNil:
      return h;
    case Value::Kind::kBool:
    case Value::Kind::kInt:
      return absl::HashOf(h, v.as_int());
    case Value::Kind::kString:
      return absl::HashOf(h, std::string_view(v.as_string()));
    case Value::Kind::kList:
    case Value::Kind::kMap:
      for (const std::string& k : v.keys()) h = absl::HashOf(h, std::string_view(k));
      for (const Value& item : v.items()) h = absl::HashOf(h, (*this)(item));
      return h;
  }
  return h;
}

}  // namespace kvlog::checker
