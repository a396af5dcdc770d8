#include "checker/value.h"

#include "checker/status.h"

namespace kvlog::checker {

std::string Error::ToString() const {
  std::string out;
  if (!file.empty()) out += file;
  if (line > 0) out += (out.empty() ? "line " : ":") + std::to_string(line);
  if (!out.empty()) out += ": ";
  return out + reason;
}

struct Value::StringPayload : Payload {
  explicit StringPayload(std::string s) : text(std::move(s)) {}
  std::string text;
};

struct Value::CompoundPayload : Payload {
  CompoundPayload(std::vector<std::string> k, std::vector<Value> v) : keys(std::move(k)), items(std::move(v)) {}
  std::vector<std::string> keys;
  std::vector<Value> items;
};

void Value::Release() noexcept {
  if (!shared() || !payload_) return;
  if (payload_->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (kind_ == Kind::kString) {
    delete static_cast<const StringPayload*>(payload_);
  } else {
    delete static_cast<const CompoundPayload*>(payload_);
  }
}

const std::string& Value::as_string() const {
  static const std::string kEmpty;
  return kind_ == Kind::kString && payload_ ? static_cast<const StringPayload*>(payload_)->text : kEmpty;
}

const std::vector<Value>& Value::items() const {
  static const std::vector<Value> kEmpty;
  return (kind_ == Kind::kList || kind_ == Kind::kMap) && payload_
             ? static_cast<const CompoundPayload*>(payload_)->items
             : kEmpty;
}

const std::vector<std::string>& Value::keys() const {
  static const std::vector<std::string> kEmpty;
  return (kind_ == Kind::kList || kind_ == Kind::kMap) && payload_
             ? static_cast<const CompoundPayload*>(payload_)->keys
             : kEmpty;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.int_ = b ? 1 : 0;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.int_ = i;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.payload_ = new StringPayload(std::move(s));
  v.kind_ = Kind::kString;
  return v;
}

Value Value::List(std::vector<Value> items) {
  Value v;
  v.payload_ = items.empty() ? nullptr : new CompoundPayload({}, std::move(items));
  v.kind_ = Kind::kList;
  return v;
}

Value Value::Map(std::vector<std::string> keys, std::vector<Value> values) {
  Value v;
  v.payload_ = keys.empty() && values.empty() ? nullptr : new CompoundPayload(std::move(keys), std::move(values));
  v.kind_ = Kind::kMap;
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
  switch (kind_) {
    case Kind::kNil:
      return "nil";
    case Kind::kBool:
      return int_ ? "true" : "false";
    case Kind::kInt:
      return std::to_string(int_);
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
  if (kind_ != other.kind_) return false;
  if (shared() && payload_ == other.payload_) return true;
  switch (kind_) {
    case Kind::kNil:
      return true;
    case Kind::kBool:
    case Kind::kInt:
      return int_ == other.int_;
    case Kind::kString:
      return as_string() == other.as_string();
    case Kind::kList:
    case Kind::kMap:
      return keys() == other.keys() && items() == other.items();
  }
  return false;
}

}  // namespace kvlog::checker
