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

const std::vector<Value>& Value::items() const {
  static const std::vector<Value> kEmpty;
  return compound() && compound_ ? compound_->items : kEmpty;
}

const std::vector<std::string>& Value::keys() const {
  static const std::vector<std::string> kEmpty;
  return compound() && compound_ ? compound_->keys : kEmpty;
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
  v.kind_ = Kind::kString;
  v.str_ = std::move(s);
  return v;
}

Value Value::List(std::vector<Value> items) {
  Value v;
  v.compound_ = items.empty() ? nullptr : new Compound{{}, std::move(items)};
  v.kind_ = Kind::kList;
  return v;
}

Value Value::Map(std::vector<std::string> keys, std::vector<Value> values) {
  Value v;
  v.compound_ = keys.empty() && values.empty() ? nullptr : new Compound{std::move(keys), std::move(values)};
  v.kind_ = Kind::kMap;
  return v;
}

const Value* Value::Find(const std::string& key) const {
  if (!compound() || !compound_) return nullptr;
  const auto& keys = compound_->keys;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &compound_->items[i];
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
      return str_;
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
  switch (kind_) {
    case Kind::kNil:
      return true;
    case Kind::kBool:
    case Kind::kInt:
      return int_ == other.int_;
    case Kind::kString:
      return str_ == other.str_;
    case Kind::kList:
    case Kind::kMap:
      return keys() == other.keys() && items() == other.items();
  }
  return false;
}

}  // namespace kvlog::checker
