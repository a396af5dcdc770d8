#include "checker/jsonl.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kvlog::checker {
namespace {

using nlohmann::json;

// Limit: a value nests at most this deep (a batch of maps of lists).
constexpr int kMaxValueDepth = 16;

struct ParseFailure {
  std::string reason;
};

Value ToValue(const json& j, int depth) {
  if (depth > kMaxValueDepth) throw ParseFailure{"value nests too deep"};
  switch (j.type()) {
    case json::value_t::null:
      return Value();
    case json::value_t::boolean:
      return Value::Bool(j.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return Value::Int(j.get<int64_t>());
    case json::value_t::string:
      return Value::String(j.get<std::string>());
    case json::value_t::array: {
      std::vector<Value> items;
      for (const auto& e : j) items.push_back(ToValue(e, depth + 1));
      return Value::List(std::move(items));
    }
    case json::value_t::object: {
      std::vector<std::string> keys;
      std::vector<Value> values;
      for (auto it = j.begin(); it != j.end(); ++it) {
        keys.push_back(it.key());
        values.push_back(ToValue(it.value(), depth + 1));
      }
      return Value::Map(std::move(keys), std::move(values));
    }
    default:
      throw ParseFailure{"unsupported value type " + std::string(j.type_name())};
  }
}

json FromValue(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNil:
      return nullptr;
    case Value::Kind::kBool:
      return v.as_bool();
    case Value::Kind::kInt:
      return v.as_int();
    case Value::Kind::kString:
      return v.as_string();
    case Value::Kind::kList: {
      json a = json::array();
      for (const auto& e : v.items()) a.push_back(FromValue(e));
      return a;
    }
    case Value::Kind::kMap: {
      json o = json::object();
      for (size_t i = 0; i < v.keys().size(); ++i) o[v.keys()[i]] = FromValue(v.items()[i]);
      return o;
    }
  }
  return nullptr;
}

const json& Required(const json& o, const char* field) {
  auto it = o.find(field);
  if (it == o.end()) throw ParseFailure{std::string("missing field \"") + field + "\""};
  return *it;
}

int64_t Int(const json& j, const char* field) {
  if (!j.is_number_integer()) throw ParseFailure{std::string("\"") + field + "\" must be an integer"};
  return j.get<int64_t>();
}

std::string Str(const json& j, const char* field) {
  if (!j.is_string()) throw ParseFailure{std::string("\"") + field + "\" must be a string"};
  return j.get<std::string>();
}

std::optional<int64_t> OptInt(const json& o, const char* field) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return std::nullopt;
  return Int(*it, field);
}

std::optional<std::string> OptStr(const json& o, const char* field) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return std::nullopt;
  return Str(*it, field);
}

Event ToEvent(const json& o) {
  Event e;
  e.process = Int(Required(o, "process"), "process");
  std::string type = Str(Required(o, "type"), "type");
  auto t = ParseEventType(type);
  if (!t) throw ParseFailure{"\"type\" must be invoke, ok, fail or info, not \"" + type + "\""};
  e.type = *t;
  e.f = Str(Required(o, "f"), "f");
  if (e.f.empty()) throw ParseFailure{"\"f\" is empty"};
  e.key = OptStr(o, "key");
  if (auto it = o.find("value"); it != o.end()) e.value = ToValue(*it, 0);
  e.time = OptInt(o, "time");
  e.offset = OptInt(o, "offset");
  e.applied = OptInt(o, "applied");
  e.replica = OptStr(o, "replica");
  e.op = OptStr(o, "op");
  if (auto it = o.find("result"); it != o.end() && !it->is_null()) {
    if (!it->is_boolean()) throw ParseFailure{"\"result\" must be a boolean"};
    e.result = it->get<bool>();
  }
  // "error" and "index" are Jepsen's free-form fields: accepted, not used.
  static const char* kKnown[] = {"process", "type",    "f",       "key", "value",  "time",
                                 "offset",  "applied", "replica", "op",  "result", "error", "index"};
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) throw ParseFailure{"unknown field \"" + it.key() + "\""};
  }
  return e;
}

FinalState ToFinal(const json& o) {
  if (!o.is_object()) throw ParseFailure{"\"final\" must be an object"};
  FinalState f;
  f.replica = Str(Required(o, "replica"), "replica");
  f.applied = Int(Required(o, "applied"), "applied");
  f.digest = Str(Required(o, "digest"), "digest");
  return f;
}

LogRecord ToLogRecord(const json& o) {
  if (!o.is_object()) throw ParseFailure{"\"log\" must be an object"};
  LogRecord r;
  r.offset = Int(Required(o, "offset"), "offset");
  r.key = Str(Required(o, "key"), "key");
  r.value = OptStr(o, "value");
  r.f = OptStr(o, "f").value_or(r.value ? "put" : "delete");
  if (r.f != "put" && r.f != "delete" && r.f != "cas") {
    throw ParseFailure{"log \"f\" must be put, delete or cas, not \"" + r.f + "\""};
  }
  r.expected = OptStr(o, "expected");
  r.writer = OptStr(o, "writer");
  r.op = OptStr(o, "op");
  return r;
}

NemesisEvent ToNemesis(const json& o) {
  if (!o.is_object()) throw ParseFailure{"\"nemesis\" must be an object"};
  NemesisEvent n;
  n.f = Str(Required(o, "f"), "f");
  if (n.f.empty()) throw ParseFailure{"nemesis \"f\" is empty"};
  if (auto type = OptStr(o, "type")) {
    auto t = ParseEventType(*type);
    if (!t) throw ParseFailure{"nemesis \"type\" must be invoke, ok, fail or info, not \"" + *type + "\""};
    n.type = *t;
  }
  if (auto it = o.find("value"); it != o.end() && !it->is_null()) n.value = ToValue(*it, 0).ToString();
  n.time = OptInt(o, "time");
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (it.key() != "f" && it.key() != "type" && it.key() != "value" && it.key() != "time") {
      throw ParseFailure{"unknown nemesis field \"" + it.key() + "\""};
    }
  }
  return n;
}

}  // namespace

Result<History> ParseJsonl(std::string_view text, const std::string& source) {
  History h;
  h.source = source;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      json o = json::parse(line);
      if (!o.is_object()) throw ParseFailure{"a line must be a JSON object"};
      if (auto it = o.find("final"); it != o.end()) {
        FinalState f = ToFinal(*it);
        f.line = line_no;
        h.finals.push_back(std::move(f));
      } else if (auto it = o.find("log"); it != o.end()) {
        LogRecord r = ToLogRecord(*it);
        r.line = line_no;
        if (!h.log.empty() && r.offset <= h.log.back().offset) {
          throw ParseFailure{"log offset " + std::to_string(r.offset) +
                             " does not increase (previous " +
                             std::to_string(h.log.back().offset) + ")"};
        }
        h.log.push_back(std::move(r));
        h.has_log = true;
      } else if (auto it = o.find("nemesis"); it != o.end()) {
        NemesisEvent n = ToNemesis(*it);
        n.position = static_cast<int64_t>(h.events.size());
        n.line = line_no;
        h.nemesis.push_back(std::move(n));
      } else if (o.contains("meta")) {
        const json& meta = o["meta"];
        if (meta.is_object() && meta.value("log_captured", false)) h.has_log = true;
      } else {
        Event e = ToEvent(o);
        e.line = line_no;
        h.events.push_back(std::move(e));
      }
    } catch (const ParseFailure& f) {
      return MakeError(source, line_no, f.reason);
    } catch (const json::exception& e) {
      return MakeError(source, line_no, std::string("invalid JSON: ") + e.what());
    }
  }
  return h;
}

Result<History> ReadJsonlFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(path, 0, "cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseJsonl(ss.str(), path);
}

std::string EventToJsonl(const Event& e) {
  json o;
  o["process"] = e.process;
  o["type"] = EventTypeName(e.type);
  o["f"] = e.f;
  if (e.key) o["key"] = *e.key;
  o["value"] = FromValue(e.value);
  if (e.time) o["time"] = *e.time;
  if (e.offset) o["offset"] = *e.offset;
  if (e.applied) o["applied"] = *e.applied;
  if (e.replica) o["replica"] = *e.replica;
  if (e.op) o["op"] = *e.op;
  if (e.result) o["result"] = *e.result;
  return o.dump();
}

std::string NemesisToJsonl(const NemesisEvent& n) {
  json v;
  v["type"] = EventTypeName(n.type);
  v["f"] = n.f;
  if (!n.value.empty()) v["value"] = n.value;
  if (n.time) v["time"] = *n.time;
  json o;
  o["nemesis"] = std::move(v);
  return o.dump();
}

std::string FinalToJsonl(const FinalState& f) {
  json o;
  o["final"] = {{"replica", f.replica}, {"applied", f.applied}, {"digest", f.digest}};
  return o.dump();
}

std::string LogRecordToJsonl(const LogRecord& r) {
  json l;
  l["offset"] = r.offset;
  l["key"] = r.key;
  l["value"] = r.value ? json(*r.value) : json(nullptr);
  l["f"] = r.f;
  if (r.expected) l["expected"] = *r.expected;
  if (r.writer) l["writer"] = *r.writer;
  if (r.op) l["op"] = *r.op;
  json o;
  o["log"] = std::move(l);
  return o.dump();
}

std::string WriteJsonl(const History& h) {
  std::string out;
  if (h.has_log && h.log.empty()) out += "{\"meta\":{\"log_captured\":true}}\n";
  size_t n = 0;
  auto nemesis_before = [&](size_t position) {
    for (; n < h.nemesis.size() && static_cast<size_t>(h.nemesis[n].position) <= position; ++n) {
      out += NemesisToJsonl(h.nemesis[n]) + "\n";
    }
  };
  for (size_t i = 0; i < h.events.size(); ++i) {
    nemesis_before(i);
    out += EventToJsonl(h.events[i]) + "\n";
  }
  nemesis_before(std::numeric_limits<size_t>::max());
  for (const auto& r : h.log) out += LogRecordToJsonl(r) + "\n";
  for (const auto& f : h.finals) out += FinalToJsonl(f) + "\n";
  return out;
}

}  // namespace kvlog::checker
