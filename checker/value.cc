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
  v.kind_ = Kind::kList;
  v.items_ = std::move(items);
  return v;
}

Value Value::Map(std::vector<std::string> keys, std::vector<Value> values) {
  Value v;
  v.kind_ = Kind::kMap;
  v.keys_ = std::move(keys);
  v.items_ = std::move(values);
  return v;
}

const Value* Value::Find(const std::string& key) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
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
      std::string out = "[";
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ' ';
        out += items_[i].ToString();
      }
      return out + "]";
    }
    case Kind::kMap: {
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
  return kind_ == other.kind_ && int_ == other.int_ && str_ == other.str_ &&
         keys_ == other.keys_ && items_ == other.items_;
}

}  // namespace kvlog::checker
