#include "checker/edn.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <map>

#include <fmt/format.h>

#include "base/propagate.h"

namespace kvlog::checker {
namespace {

// Limit: EDN forms nest at most this deep.
constexpr int kMaxDepth = 32;

// A parsed EDN form. Keywords and symbols keep their name without ':'.
struct Form {
  enum class Kind { kNil, kBool, kInt, kString, kKeyword, kSymbol, kVector, kList, kMap };
  Kind kind = Kind::kNil;
  int64_t i = 0;
  std::string s;
  std::vector<Form> items;  // vector/list elements; map: k0 v0 k1 v1 ...
  int line = 0;
};

struct EdnFailure {
  int line;
  std::string reason;
};

class Reader {
 public:
  Reader(std::string_view text, int first_line) : text_(text), line_(first_line) {}

  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  int line() const { return line_; }

  Form Read(int depth = 0) {
    if (depth > kMaxDepth) Fail("forms nest too deep");
    SkipSpace();
    if (pos_ >= text_.size()) Fail("unexpected end of input");
    Form f;
    f.line = line_;
    char c = text_[pos_];
    if (c == '{' || c == '[' || c == '(') {
      char close = c == '{' ? '}' : c == '[' ? ']' : ')';
      f.kind = c == '{' ? Form::Kind::kMap : c == '[' ? Form::Kind::kVector : Form::Kind::kList;
      ++pos_;
      for (;;) {
        SkipSpace();
        if (pos_ >= text_.size()) Fail(std::string("missing '") + close + "'");
        if (text_[pos_] == close) {
          ++pos_;
          break;
        }
        if (text_[pos_] == '}' || text_[pos_] == ']' || text_[pos_] == ')') {
          Fail(std::string("unexpected '") + text_[pos_] + "'");
        }
        f.items.push_back(Read(depth + 1));
      }
      if (f.kind == Form::Kind::kMap && f.items.size() % 2 != 0) {
        Fail("map has a key without a value", f.line);
      }
      return f;
    }
    if (c == '"') return ReadString();
    if (c == '}' || c == ']' || c == ')') Fail(std::string("unexpected '") + c + "'");
    if (c == '#' || c == '\\' || c == '^' || c == '@' || c == '`' || c == '~' || c == '\'') {
      Fail(std::string("unsupported EDN syntax '") + c + "'");
    }
    std::string_view tok = Token();
    if (tok.empty()) Fail(std::string("unexpected character '") + c + "'");
    if (tok[0] == ':') {
      if (tok.size() == 1) Fail("empty keyword");
      f.kind = Form::Kind::kKeyword;
      f.s = std::string(tok.substr(1));
      return f;
    }
    if (tok == "nil") return f;
    if (tok == "true" || tok == "false") {
      f.kind = Form::Kind::kBool;
      f.i = tok == "true";
      return f;
    }
    bool numeric = std::isdigit(static_cast<unsigned char>(tok[0])) ||
                   ((tok[0] == '-' || tok[0] == '+') && tok.size() > 1 &&
                    std::isdigit(static_cast<unsigned char>(tok[1])));
    if (numeric) {
      std::string_view digits = tok;
      if (digits[0] == '+') digits.remove_prefix(1);
      if (!digits.empty() && digits.back() == 'N') digits.remove_suffix(1);
      int64_t v = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec != std::errc() || p != digits.data() + digits.size()) {
        Fail("unsupported number '" + std::string(tok) + "'");
      }
      f.kind = Form::Kind::kInt;
      f.i = v;
      return f;
    }
    f.kind = Form::Kind::kSymbol;
    f.s = std::string(tok);
    return f;
  }

 private:
  [[noreturn]] void Fail(std::string reason, int line = 0) {
    throw EdnFailure{line ? line : line_, std::move(reason)};
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
        ++pos_;
      } else if (c == ';') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string_view Token() {
    size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '{' || c == '}' ||
          c == '[' || c == ']' || c == '(' || c == ')' || c == '"' || c == ';') {
        break;
      }
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  Form ReadString() {
    Form f;
    f.kind = Form::Kind::kString;
    f.line = line_;
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= text_.size()) Fail("unterminated string", f.line);
      char c = text_[pos_++];
      if (c == '"') break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        f.s += c;
        continue;
      }
      if (pos_ >= text_.size()) Fail("unterminated string", f.line);
      char esc = text_[pos_++];
      switch (esc) {
        case 'n': f.s += '\n'; break;
        case 't': f.s += '\t'; break;
        case 'r': f.s += '\r'; break;
        case 'b': f.s += '\b'; break;
        case 'f': f.s += '\f'; break;
        case '"': f.s += '"'; break;
        case '\\': f.s += '\\'; break;
        case 'u': {
          if (pos_ + 4 > text_.size()) Fail("short \\u escape");
          unsigned cp = 0;
          auto [p, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, cp, 16);
          if (ec != std::errc() || p != text_.data() + pos_ + 4) Fail("bad \\u escape");
          pos_ += 4;
          if (cp < 0x80) {
            f.s += static_cast<char>(cp);
          } else if (cp < 0x800) {
            f.s += static_cast<char>(0xC0 | (cp >> 6));
            f.s += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            f.s += static_cast<char>(0xE0 | (cp >> 12));
            f.s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            f.s += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default:
          Fail(std::string("unsupported string escape '\\") + esc + "'");
      }
    }
    return f;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_;
};

Value FormToValue(const Form& f) {
  switch (f.kind) {
    case Form::Kind::kNil:
      return Value();
    case Form::Kind::kBool:
      return Value::Bool(f.i != 0);
    case Form::Kind::kInt:
      return Value::Int(f.i);
    case Form::Kind::kString:
    case Form::Kind::kKeyword:
    case Form::Kind::kSymbol:
      return Value::String(f.s);
    case Form::Kind::kVector:
    case Form::Kind::kList: {
      std::vector<Value> items;
      for (const auto& e : f.items) items.push_back(FormToValue(e));
      return Value::List(std::move(items));
    }
    case Form::Kind::kMap: {
      std::vector<std::string> keys;
      std::vector<Value> values;
      for (size_t i = 0; i + 1 < f.items.size(); i += 2) {
        keys.push_back(f.items[i].kind == Form::Kind::kString || f.items[i].kind == Form::Kind::kKeyword
                           ? f.items[i].s
                           : FormToValue(f.items[i]).ToString());
        values.push_back(FormToValue(f.items[i + 1]));
      }
      return Value::Map(std::move(keys), std::move(values));
    }
  }
  return Value();
}

const Form* Get(const Form& map, std::string_view keyword) {
  for (size_t i = 0; i + 1 < map.items.size(); i += 2) {
    if (map.items[i].kind == Form::Kind::kKeyword && map.items[i].s == keyword) return &map.items[i + 1];
  }
  return nullptr;
}

// A :nemesis op, kept for reports (it is not a client operation).
NemesisEvent ToNemesis(const Form& m) {
  NemesisEvent n;
  if (const Form* type = Get(m, "type"); type && type->kind == Form::Kind::kKeyword) {
    n.type = ParseEventType(type->s).value_or(EventType::kInfo);
  }
  if (const Form* f = Get(m, "f"); f && (f->kind == Form::Kind::kKeyword || f->kind == Form::Kind::kString)) {
    n.f = f->s;
  }
  if (const Form* v = Get(m, "value"); v && v->kind != Form::Kind::kNil) n.value = FormToValue(*v).ToString();
  if (const Form* tm = Get(m, "time"); tm && tm->kind == Form::Kind::kInt) n.time = tm->i;
  n.line = m.line;
  return n;
}

// Converts one op map; returns false for nemesis ops (*nemesis filled).
bool OpToEvent(const Form& m, Event* e, NemesisEvent* nemesis) {
  if (m.kind != Form::Kind::kMap) throw EdnFailure{m.line, "an op must be a map"};
  const Form* process = Get(m, "process");
  if (!process) throw EdnFailure{m.line, "op has no :process"};
  if (process->kind == Form::Kind::kKeyword) {
    if (process->s == "nemesis") {
      *nemesis = ToNemesis(m);
      return false;
    }
    throw EdnFailure{m.line, ":process must be an integer or :nemesis"};
  }
  if (process->kind != Form::Kind::kInt) throw EdnFailure{m.line, ":process must be an integer"};
  e->process = process->i;
  const Form* type = Get(m, "type");
  if (!type || type->kind != Form::Kind::kKeyword) throw EdnFailure{m.line, "op has no keyword :type"};
  auto t = ParseEventType(type->s);
  if (!t) throw EdnFailure{m.line, "unknown :type :" + type->s};
  e->type = *t;
  const Form* f = Get(m, "f");
  if (!f || (f->kind != Form::Kind::kKeyword && f->kind != Form::Kind::kString)) {
    throw EdnFailure{m.line, "op has no :f"};
  }
  e->f = f->s;
  if (const Form* k = Get(m, "key"); k && k->kind != Form::Kind::kNil) {
    e->key = k->kind == Form::Kind::kString ? k->s : FormToValue(*k).ToString();
  }
  if (const Form* v = Get(m, "value")) e->value = FormToValue(*v);
  if (const Form* tm = Get(m, "time"); tm && tm->kind == Form::Kind::kInt) e->time = tm->i;
  if (const Form* o = Get(m, "offset"); o && o->kind == Form::Kind::kInt) e->offset = o->i;
  if (const Form* a = Get(m, "applied"); a && a->kind == Form::Kind::kInt) e->applied = a->i;
  if (const Form* r = Get(m, "replica"); r && r->kind == Form::Kind::kString) e->replica = r->s;
  e->line = m.line;
  return true;
}

bool IsKeywordName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '?' &&
        c != '!' && c != '*' && c != '+' && c != '.') {
      return false;
    }
  }
  return true;
}

void WriteValue(const Value& v, std::string* out) {
  switch (v.kind()) {
    case Value::Kind::kNil:
      *out += "nil";
      return;
    case Value::Kind::kBool:
      *out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      fmt::format_to(std::back_inserter(*out), "{}", v.as_int());
      return;
    case Value::Kind::kString:
      *out += EdnString(v.as_string());
      return;
    case Value::Kind::kList:
      *out += '[';
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) *out += ' ';
        WriteValue(v.items()[i], out);
      }
      *out += ']';
      return;
    case Value::Kind::kMap:
      *out += '{';
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) *out += ", ";
        if (IsKeywordName(v.keys()[i])) {
          *out += ':' + v.keys()[i];
        } else {
          *out += EdnString(v.keys()[i]);
        }
        *out += ' ';
        WriteValue(v.items()[i], out);
      }
      *out += '}';
      return;
  }
}

}  // namespace

std::string EdnString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

Result<History> ParseJepsenEdn(std::string_view text, const std::string& source) {
  History h;
  h.source = source;
  try {
    Reader r(text, 1);
    std::vector<Form> top;
    while (!r.AtEnd()) top.push_back(r.Read());
    const std::vector<Form>* ops = &top;
    if (top.size() == 1 && (top[0].kind == Form::Kind::kVector || top[0].kind == Form::Kind::kList)) {
      ops = &top[0].items;
    }
    for (const Form& m : *ops) {
      Event e;
      NemesisEvent n;
      if (OpToEvent(m, &e, &n)) {
        h.events.push_back(std::move(e));
      } else {
        n.position = static_cast<int64_t>(h.events.size());
        h.nemesis.push_back(std::move(n));
      }
    }
  } catch (const EdnFailure& f) {
    return MakeError(source, f.line, f.reason);
  }
  return h;
}

Result<History> ParseJepsenLog(std::string_view text, const std::string& source) {
  History h;
  h.source = source;
  int line_no = 0;
  size_t pos = 0;
  static constexpr std::string_view kMarker = "jepsen.util - ";
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    size_t m = line.find(kMarker);
    if (m == std::string_view::npos) {
      return MakeError(source, line_no, "not a Jepsen log line (no \"jepsen.util - \")");
    }
    std::string_view rest = line.substr(m + kMarker.size());
    // process, type and f are separated by tabs or spaces; the rest is the value.
    std::vector<std::string_view> fields;
    size_t at = 0;
    for (int i = 0; i < 3; ++i) {
      at = rest.find_first_not_of(" \t", at);
      if (at == std::string_view::npos) break;
      size_t stop = rest.find_first_of(" \t", at);
      fields.push_back(rest.substr(at, stop == std::string_view::npos ? std::string_view::npos : stop - at));
      at = stop;
      if (stop == std::string_view::npos) break;
    }
    if (at != std::string_view::npos) {
      at = rest.find_first_not_of(" \t", at);
      if (at != std::string_view::npos) fields.push_back(rest.substr(at));
    }
    if (fields.size() < 3) return MakeError(source, line_no, "expected process, type, f and value");
    if (fields[0] == ":nemesis") {
      NemesisEvent n;
      n.type = fields[1].size() > 1 ? ParseEventType(fields[1].substr(1)).value_or(EventType::kInfo)
                                    : EventType::kInfo;
      n.f = std::string(fields[2].substr(fields[2].starts_with(':') ? 1 : 0));
      if (fields.size() > 3 && fields[3] != "nil") n.value = std::string(fields[3]);
      n.position = static_cast<int64_t>(h.events.size());
      n.line = line_no;
      h.nemesis.push_back(std::move(n));
      continue;
    }
    Event e;
    e.line = line_no;
    auto [p, ec] = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), e.process);
    if (ec != std::errc() || p != fields[0].data() + fields[0].size()) {
      return MakeError(source, line_no, "process '" + std::string(fields[0]) + "' is not an integer");
    }
    if (fields[1].size() < 2 || fields[1][0] != ':' || !ParseEventType(fields[1].substr(1))) {
      return MakeError(source, line_no, "unknown type '" + std::string(fields[1]) + "'");
    }
    e.type = *ParseEventType(fields[1].substr(1));
    if (fields[2].size() < 2 || fields[2][0] != ':') {
      return MakeError(source, line_no, "f '" + std::string(fields[2]) + "' is not a keyword");
    }
    e.f = std::string(fields[2].substr(1));
    if (fields.size() > 3) {
      try {
        Reader r(fields[3], line_no);
        if (!r.AtEnd()) e.value = FormToValue(r.Read());
        if (!r.AtEnd()) return MakeError(source, line_no, "trailing text after the value");
      } catch (const EdnFailure& f) {
        return MakeError(source, line_no, "value: " + f.reason);
      }
    }
    if (e.type == EventType::kFail && e.f == "cas") {
      e.type = EventType::kOk;  // the compare failed: an observation, not a no-op
      e.result = false;
    }
    h.events.push_back(std::move(e));
  }
  return h;
}

Result<std::string> WriteJepsenEdn(const History& history) {
  // Jepsen's conventions, which Knossos enforces: a process whose operation
  // ended :info may still be running it, so its later operations get a fresh
  // process id; a :fail (and an :info) completion carries its invocation's value.
  int64_t fresh = 0;
  for (const Event& e : history.events) fresh = std::max(fresh, e.process + 1);
  std::map<int64_t, int64_t> current;         // recorded process -> the id written now
  std::map<int64_t, const Event*> invocation;  // pending invocation per recorded process
  std::string out = "[";
  bool first = true;
  // Nemesis ops go where they were recorded: before the client event at their
  // position, as Jepsen interleaves its :nemesis process with the others.
  size_t next_nemesis = 0;
  auto write_nemesis_before = [&](size_t position) -> Result<void> {
    for (; next_nemesis < history.nemesis.size() &&
           static_cast<size_t>(history.nemesis[next_nemesis].position) <= position;
         ++next_nemesis) {
      const NemesisEvent& n = history.nemesis[next_nemesis];
      if (!IsKeywordName(n.f)) {
        return MakeError(history.source, n.line, "nemesis f '" + n.f + "' cannot be written as an EDN keyword");
      }
      out += first ? "" : "\n ";
      first = false;
      out += std::string("{:process :nemesis, :type :") + EventTypeName(n.type) + ", :f :" + n.f + ", :value ";
      out += n.value.empty() ? "nil" : EdnString(n.value);
      if (n.time) fmt::format_to(std::back_inserter(out), ", :time {}", *n.time);
      out += "}";
    }
    return {};
  };
  for (size_t index = 0; index < history.events.size(); ++index) {
    const Event& e = history.events[index];
    KVLOG_RETURN_IF_ERROR(write_nemesis_before(index));
    if (!IsKeywordName(e.f)) {
      return MakeError(history.source, e.line, "f '" + e.f + "' cannot be written as an EDN keyword");
    }
    auto [it, added] = current.emplace(e.process, e.process);
    const int64_t process = it->second;
    const Value* value = &e.value;
    if (e.type == EventType::kInvoke) {
      invocation[e.process] = &e;
    } else {
      auto inv = invocation.find(e.process);
      if ((e.type == EventType::kFail || e.type == EventType::kInfo) && inv != invocation.end()) {
        value = &inv->second->value;
      }
      if (inv != invocation.end()) invocation.erase(inv);
      if (e.type == EventType::kInfo) it->second = fresh++;
    }
    out += first ? "" : "\n ";
    first = false;
    // A cas whose compare failed is, in Jepsen's terms, a :fail cas.
    const EventType type = e.type == EventType::kOk && e.result == false ? EventType::kFail : e.type;
    fmt::format_to(std::back_inserter(out), "{{:process {}, :type :{}, :f :{}", process, EventTypeName(type), e.f);
    if (e.key) out += ", :key " + EdnString(*e.key);
    out += ", :value ";
    WriteValue(*value, &out);
    if (e.time) fmt::format_to(std::back_inserter(out), ", :time {}", *e.time);
    if (e.offset) fmt::format_to(std::back_inserter(out), ", :offset {}", *e.offset);
    if (e.applied) fmt::format_to(std::back_inserter(out), ", :applied {}", *e.applied);
    if (e.replica) out += ", :replica " + EdnString(*e.replica);
    out += "}";
  }
  KVLOG_RETURN_IF_ERROR(write_nemesis_before(history.events.size()));
  return out + "]\n";
}

std::string EdnValue(const Value& v) {
  std::string out;
  WriteValue(v, &out);
  return out;
}

}  // namespace kvlog::checker
