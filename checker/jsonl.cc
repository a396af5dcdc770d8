#include "checker/jsonl.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <type_traits>

// Header-only: the string table hashes short texts in line.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "base/check.h"
#include "base/propagate.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

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
      throw ParseFailure{fmt::format("unsupported value type {}", j.type_name())};
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

// A line's fields, from either reader below: the line as a Value map.
const Value* Field(const Value& o, const char* field) {
  const Value* v = o.Find(field);
  return v && !v->is_nil() ? v : nullptr;
}

const Value& Required(const Value& o, const char* field) {
  const Value* v = o.Find(field);
  if (!v) throw ParseFailure{fmt::format("missing field \"{}\"", field)};
  return *v;
}

int64_t Int(const Value& j, const char* field) {
  if (!j.is_int()) throw ParseFailure{fmt::format("\"{}\" must be an integer", field)};
  return j.as_int();
}

const std::string& Str(const Value& j, const char* field) {
  if (!j.is_string()) throw ParseFailure{fmt::format("\"{}\" must be a string", field)};
  return j.as_string();
}

std::optional<int64_t> OptInt(const Value& o, const char* field) {
  const Value* v = Field(o, field);
  if (!v) return std::nullopt;
  return Int(*v, field);
}

std::optional<std::string> OptStr(const Value& o, const char* field) {
  const Value* v = Field(o, field);
  if (!v) return std::nullopt;
  return Str(*v, field);
}

Event ToEvent(const Value& o) {
  Event e;
  e.process = Int(Required(o, "process"), "process");
  const std::string& type = Str(Required(o, "type"), "type");
  auto t = ParseEventType(type);
  if (!t) throw ParseFailure{fmt::format("\"type\" must be invoke, ok, fail or info, not \"{}\"", type)};
  e.type = *t;
  e.f = Str(Required(o, "f"), "f");
  if (e.f.empty()) throw ParseFailure{"\"f\" is empty"};
  e.key = OptStr(o, "key");
  if (const Value* v = o.Find("value")) e.value = *v;
  e.time = OptInt(o, "time");
  e.offset = OptInt(o, "offset");
  e.applied = OptInt(o, "applied");
  e.replica = OptStr(o, "replica");
  e.op = OptStr(o, "op");
  if (const Value* r = Field(o, "result")) {
    if (r->kind() != Value::Kind::kBool) throw ParseFailure{"\"result\" must be a boolean"};
    e.result = r->as_bool();
  }
  if (const Value* level = Field(o, "level")) {
    auto name = LevelName::TryMake(Str(*level, "level"));
    if (!name) {
      throw ParseFailure{fmt::format(
          "\"level\": more than {} distinct unknown read levels (known: local, bounded, at_least, linearizable)",
          LevelName::kMaxOtherNames)};
    }
    e.level = *name;
  }
  e.bound = OptInt(o, "bound");
  // "error" and "index" are Jepsen's free-form fields: accepted, not used.
  static const char* kKnown[] = {"process", "type",    "f",       "key", "value",  "time",  "offset",
                                 "applied", "replica", "op",      "result", "error", "index", "level",
                                 "bound"};
  for (const std::string& key : o.keys()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (!known) throw ParseFailure{fmt::format("unknown field \"{}\"", key)};
  }
  return e;
}

FinalState ToFinal(const Value& o) {
  if (!o.is_map()) throw ParseFailure{"\"final\" must be an object"};
  FinalState f;
  f.replica = Str(Required(o, "replica"), "replica");
  f.applied = Int(Required(o, "applied"), "applied");
  f.digest = Str(Required(o, "digest"), "digest");
  return f;
}

LogRecord ToLogRecord(const Value& o) {
  if (!o.is_map()) throw ParseFailure{"\"log\" must be an object"};
  LogRecord r;
  r.offset = Int(Required(o, "offset"), "offset");
  r.key = Str(Required(o, "key"), "key");
  r.value = OptStr(o, "value");
  const std::string f = OptStr(o, "f").value_or(r.value ? "put" : "delete");
  if (f != "put" && f != "delete" && f != "cas") {
    throw ParseFailure{fmt::format("log \"f\" must be put, delete or cas, not \"{}\"", f)};
  }
  r.f = FunctionName(f);
  r.expected = OptStr(o, "expected");
  r.writer = OptStr(o, "writer");
  r.op = OptStr(o, "op");
  const std::optional<int64_t> deadline = OptInt(o, "deadline");
  if (deadline == OptionalInt::kAbsent) {
    throw ParseFailure{fmt::format("deadline {} is out of range: a log record's deadline must be above it",
                                   OptionalInt::kAbsent)};
  }
  r.deadline = deadline;
  return r;
}

ExpiryBounds ToExpiry(const Value& o) {
  if (!o.is_map()) throw ParseFailure{"\"expiry\" must be an object"};
  ExpiryBounds b;
  b.skew_bound_ns = Int(Required(o, "skew_bound"), "skew_bound");
  if (b.skew_bound_ns < 0) {
    throw ParseFailure{fmt::format("expiry \"skew_bound\" must be >= 0 ns, not {}", b.skew_bound_ns)};
  }
  b.time_origin_ns = OptInt(o, "time_origin").value_or(0);
  b.reclaimed_before = OptInt(o, "reclaimed_before");
  return b;
}

NemesisEvent ToNemesis(const Value& o) {
  if (!o.is_map()) throw ParseFailure{"\"nemesis\" must be an object"};
  NemesisEvent n;
  n.f = Str(Required(o, "f"), "f");
  if (n.f.empty()) throw ParseFailure{"nemesis \"f\" is empty"};
  if (auto type = OptStr(o, "type")) {
    auto t = ParseEventType(*type);
    if (!t) throw ParseFailure{fmt::format("nemesis \"type\" must be invoke, ok, fail or info, not \"{}\"", *type)};
    n.type = *t;
  }
  if (const Value* v = Field(o, "value")) n.value = v->ToString();
  n.time = OptInt(o, "time");
  for (const std::string& key : o.keys()) {
    if (key != "f" && key != "type" && key != "value" && key != "time") {
      throw ParseFailure{fmt::format("unknown nemesis field \"{}\"", key)};
    }
  }
  return n;
}

// Whether two short texts are equal, compared in line: range keys and values
// are a few bytes, and a call to memcmp per pair was a tenth of kvcheck's
// time on a range-heavy history.
// Texts of 4 to 16 bytes compare as two overlapping words from each end
// (every byte inside one of them, no read past either text); shorter ones
// byte by byte, longer ones with memcmp. The byte loop alone was 6 % of
// kvcheck's instructions on kvsim's range-heavy history.
[[gnu::always_inline]] inline bool SameText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 4 && n <= 8) {
    uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, x, 4);
    std::memcpy(&y0, y, 4);
    std::memcpy(&x1, x + n - 4, 4);
    std::memcpy(&y1, y + n - 4, 4);
    return x0 == y0 && x1 == y1;
  }
  if (n > 8 && n <= 16) {
    uint64_t x0, y0, x1, y1;
    std::memcpy(&x0, x, 8);
    std::memcpy(&y0, y, 8);
    std::memcpy(&x1, x + n - 8, 8);
    std::memcpy(&y1, y + n - 8, 8);
    return x0 == y0 && x1 == y1;
  }
  if (n > 16 && n <= 32) {
    uint64_t x0, y0, x1, y1, x2, y2, x3, y3;
    std::memcpy(&x0, x, 8);
    std::memcpy(&y0, y, 8);
    std::memcpy(&x1, x + 8, 8);
    std::memcpy(&y1, y + 8, 8);
    std::memcpy(&x2, x + n - 16, 8);
    std::memcpy(&y2, y + n - 16, 8);
    std::memcpy(&x3, x + n - 8, 8);
    std::memcpy(&y3, y + n - 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1) | (x2 ^ y2) | (x3 ^ y3)) == 0;
  }
  if (n > 32) return std::memcmp(x, y, n) == 0;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

// Strings a reader has seen, so that repeated ones (keys, the values reads
// return, the [key value] pairs of ranges) share one copy (see Value).
class Interner {
 public:
  Interner() = default;
  Interner(const Interner&) = delete;
  Interner& operator=(const Interner&) = delete;
  // Takes back the references counted in advance for the pairs handed out.
  ~Interner() {
    for (KeySlot& slot : keys_) slot.Drop();
  }

  Value String(std::string_view s) {
    // An open-addressing table of (hash, value) buckets, linear probing,
    // load 1/2 at most: a lookup reads one bucket (the full hash beside the
    // value, so a different string is almost never compared) and, when the
    // hashes match, the stored bytes: two cache misses in a table of some
    // 300 K strings, where a general map read control bytes, a slot and the
    // bytes. The hash is XXH3 compiled in line (a short text costs a few
    // instructions).
    if (2 * (strings_size_ + 1) > strings_.size()) GrowStrings();
    const uint64_t h = XXH3_64bits(s.data(), s.size());
    for (size_t b = h & strings_mask_;; b = (b + 1) & strings_mask_) {
      StringBucket& bucket = strings_[b];
      if (bucket.value.is_nil()) {
        bucket.hash = h;
        bucket.value = Value::String(std::string(s));
        ++strings_size_;
        return bucket.value;
      }
      if (bucket.hash == h && SameText(bucket.value.as_string(), s)) return bucket.value;
    }
  }
  // The interned [key value] pair of a range result. Keys are few and a key's
  // latest pair recurs in range after range until its key is written again,
  // so each key remembers its last pair: most pairs then cost a compare of
  // the value, not two lookups of strings and one of a pair in tables as
  // large as the history's set of written values. A range lists its keys in
  // the same order every time, so each key also remembers the key that
  // followed it in the last list: the next pair's key is first compared with
  // that guess, and hashed only when it is another (a new key, or one skipped).
  // The copies of a key's last pair are counted in bulk (Value::UncountedCopy;
  // see KeySlot), so a pair handed out again touches nothing but the slot.
  Value PairOf(std::string_view key, std::string_view value) {
    uint32_t id = kNoKey;
    if (previous_ != kNoKey) {
      const uint32_t guess = keys_[previous_].next;
      if (guess != kNoKey && SameText(keys_[guess].key_text, key)) id = guess;
    }
    if (id == kNoKey) {
      auto it = key_ids_.find(absl::string_view(key.data(), key.size()));
      if (it != key_ids_.end()) {
        id = it->second;
      } else {
        id = static_cast<uint32_t>(keys_.size());
        KeySlot& slot = keys_.emplace_back();
        slot.key = String(key);
        slot.key_text = key;
        const std::string& name = slot.key.as_string();  // the interned string: a stable address
        key_ids_.emplace(absl::string_view(name.data(), name.size()), id);
      }
      if (previous_ != kNoKey) keys_[previous_].next = id;
    }
    previous_ = id;
    KeySlot& slot = keys_[id];
    if (!slot.pair.is_nil() && SameText(slot.value_text, value)) return slot.Hand();
    // A new pair for the key: made directly, not looked up in a table of
    // pairs (each key's pair changes only when the key is written, so a
    // table would find nothing but the rare return to an earlier value, and
    // cost a lookup and an insert in a table of every pair ever read).
    slot.Take(MakePair(slot.key, String(value)));
    slot.value_text = value;
    slot.pair_text.assign("[\"").append(slot.key_text).append("\",\"").append(value).append("\"]");
    return slot.Hand();
  }
  // The text of the pair guessed to come next in a range's list, as
  // recorders write it (["key","value"], no white space): the last pair of
  // the key that followed the previous pair's key in the last list. Empty
  // when there is no guess (a list's first pair, a key seen last in its
  // list). Keys and values given to PairOf are plain strings (the parser
  // declines escapes), so reading this text would give exactly that key and
  // value, and PairOf would return the guessed pair: TakeGuess does what
  // PairOf does then.
  std::string_view GuessedPairText() const {
    if (previous_ == kNoKey) return {};
    const uint32_t guess = keys_[previous_].next;
    return guess == kNoKey ? std::string_view() : std::string_view(keys_[guess].pair_text);
  }
  Value TakeGuess() {
    previous_ = keys_[previous_].next;
    return keys_[previous_].Hand();
  }
  // A new list starts: its first pair has no predecessor to guess from.
  void StartList() { previous_ = kNoKey; }
  // Room to gather a range's pairs in, kept from line to line so that a
  // list is allocated once, at its exact size (see FastParser::ParsePairList).
  std::vector<Value>& Scratch() { return scratch_; }
  // The same for a map's names and values, or a list's items, one for each
  // depth of nesting (a value's items are read while its own are gathered).
  struct Gathered {
    std::vector<std::string> keys;
    std::vector<Value> values;
    void Clear() {
      keys.clear();
      values.clear();
    }
    // The values, moved into a vector of their exact size; both cleared.
    std::vector<Value> TakeValues() {
      std::vector<Value> exact(std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
      Clear();
      return exact;
    }
  };
  Gathered& ScratchAt(int depth) {
    const size_t d = static_cast<size_t>(std::max(depth, 0));
    if (gathered_.size() <= d) gathered_.resize(d + 1);
    return gathered_[d];
  }
  // A list of two interned strings (a range's [key value] pair).
  Value Pair(Value a, Value b) {
    const std::pair<const void*, const void*> id{&a.as_string(), &b.as_string()};
    auto it = pairs_.find(id);
    if (it != pairs_.end()) return it->second;
    Value v = MakePair(std::move(a), std::move(b));
    pairs_.emplace(id, v);
    return v;
  }
  static Value MakePair(Value a, Value b) {
    std::vector<Value> items;
    items.reserve(2);
    items.push_back(std::move(a));
    items.push_back(std::move(b));
    return Value::List(std::move(items));
  }

 private:
  struct StringBucket {
    uint64_t hash = 0;
    Value value;  // nil: empty
  };
  void GrowStrings() {
    const size_t size = strings_.empty() ? 1024 : 2 * strings_.size();
    std::vector<StringBucket> old(size);
    old.swap(strings_);
    strings_mask_ = size - 1;
    for (StringBucket& from : old) {
      if (from.value.is_nil()) continue;
      size_t b = from.hash & strings_mask_;
      while (!strings_[b].value.is_nil()) b = (b + 1) & strings_mask_;
      strings_[b].hash = from.hash;
      strings_[b].value = std::move(from.value);
    }
  }
  std::vector<StringBucket> strings_;  // a power of two buckets, or none
  size_t strings_mask_ = 0, strings_size_ = 0;
  absl::flat_hash_map<std::pair<const void*, const void*>, Value> pairs_;
  // Range keys: each one's interned string, last pair and successor guess.
  // The texts a pair is compared with are copied into the slot (a short
  // string is held in place): a profile of kvcheck on an 800 K-op history
  // with 21 M range pairs had a quarter of the reading time in the loads of
  // the interned key's and the last pair's value's bytes, each behind two or
  // three pointers, and in a deque's index division.
  static constexpr uint32_t kNoKey = ~uint32_t{0};
  // References to a slot's pair are counted kAdvance at a time: Take counts
  // them, Hand gives out one of them (counting kAdvance more when they are
  // used up), and Drop takes back those not given out. A copy given out and
  // released before Drop (a list the reader gave up on) subtracts one of
  // them, so the count stays above the slot's own reference throughout.
  static constexpr uint32_t kAdvance = uint32_t{1} << 24;
  struct KeySlot {
    uint32_t next = kNoKey;      // the key that followed it in the last list
    uint32_t handed = kAdvance;  // copies of `pair` given out of its kAdvance
    Value pair;                  // its last [key value] pair; nil before the first
    std::string key_text;        // the key's text
    std::string value_text;      // the text of the last pair's value
    std::string pair_text;       // ["key","value"] of the last pair; empty before it
    Value key;                   // the interned key string

    Value Hand() {
      if (handed == kAdvance) {
        pair.AddReferences(kAdvance);
        handed = 0;
      }
      ++handed;
      return pair.UncountedCopy();
    }
    void Take(Value p) {
      Drop();
      pair = std::move(p);
    }
    void Drop() {
      if (handed != kAdvance) pair.DropReferences(kAdvance - handed);
      handed = kAdvance;
    }
  };
  std::vector<KeySlot> keys_;
  absl::flat_hash_map<absl::string_view, uint32_t> key_ids_;  // views the interned key strings
  uint32_t previous_ = kNoKey;  // the key of the list's previous pair
  std::vector<Value> scratch_;
  std::deque<Gathered> gathered_;  // a deque: growing it moves none
};

// How the fast parser's string scan treats each byte: a plain byte of a
// string, its closing quote, or one it declines (an escape, a control byte,
// anything outside printable ASCII).
enum : uint8_t { kPlainByte, kQuoteByte, kDeclineByte };
constexpr auto kByteClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c < 0x20 || c >= 0x7f || c == '\\') ? kDeclineByte : c == '"' ? kQuoteByte : kPlainByte;
  }
  return t;
}();

// A plain string's text from `p` (just past its opening quote) to its
// closing quote, leaving `p` past that quote; false at an escape, a control
// or non-ASCII byte, or the end of the text. Eight bytes are tested at a
// time while they are all plain (a word's bytes against '"', '\\', 0x7f,
// below 0x20 and from 0x80: the usual has-zero-byte arithmetic, exact for
// the lowest byte it flags); the byte loop then decides on the byte flagged.
inline bool ScanPlainString(const char*& p, const char* end, std::string_view* text) {
  const char* start = p;
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto zero_byte = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    const uint64_t flagged = zero_byte(x ^ (kOnes * '"')) | zero_byte(x ^ (kOnes * '\\')) |
                             zero_byte(x ^ (kOnes * 0x7f)) | ((x - kOnes * 0x20) & ~x & kHigh) | (x & kHigh);
    if (flagged != 0) {
      p += std::countr_zero(flagged) >> 3;
      break;
    }
    p += 8;
  }
  while (p != end) {
    const uint8_t c = kByteClass[static_cast<unsigned char>(*p)];
    if (c == kQuoteByte) {
      *text = std::string_view(start, static_cast<size_t>(p - start));
      ++p;
      return true;
    }
    if (c == kDeclineByte) return false;
    ++p;
  }
  return false;
}

// A strict parser for the JSON kvlog's recorders write: objects, arrays,
// strings, integers, true/false/null. It declines (returns false) anything
// else, or anything invalid, and the line then goes through nlohmann::json,
// which gives the verdict and the error message: so this reader only has to
// be right about what it accepts. Ten times faster than building a DOM per
// line, and its strings are interned.
class FastParser {
 public:
  FastParser(std::string_view text, Interner& interner)
      : p_(text.data()), end_(text.data() + text.size()), interner_(interner) {}

  bool ParseLine(Value* out) {
    SkipSpace();
    if (p_ == end_ || *p_ != '{') return false;
    if (!ParseValue(out, 0)) return false;
    SkipSpace();
    return p_ == end_;
  }

  // The fast path for the two kinds of line a history is made of: fills
  // `event` exactly as ToEvent would from the parsed line, or `record` as
  // ToLogRecord would from a line that is {"log": {...}} alone, without
  // building the line as a Value first. Declines (kNone) any other line and
  // anything unusual or invalid in these (a field it does not know, a
  // repeated one, a wrong type, a missing required field, an escape in a
  // string): the line then takes the general path, which gives the verdict
  // and the error message. So this only has to be right about what it
  // accepts. Values are read (and interned) as ParseValue reads them.
  enum class Scanned { kNone, kEvent, kLog };
  Scanned ScanLine(Event* event, LogRecord* record) {
    SkipSpace();
    if (p_ == end_ || *p_ != '{') return Scanned::kNone;
    ++p_;
    std::string_view name;
    if (!FieldName(&name)) return Scanned::kNone;
    if (Is(name, "log")) {
      bool more = false;
      if (!ScanLog(record) || !NextField(&more) || more) return Scanned::kNone;
      SkipSpace();
      return p_ == end_ ? Scanned::kLog : Scanned::kNone;
    }
    uint32_t seen = 0;
    for (bool more = true;;) {
      const EventField field = EventFieldOf(name);
      if (field == kNoField || (seen & (1u << field))) return Scanned::kNone;
      seen |= 1u << field;
      if (!ScanEventField(field, event) || !NextField(&more)) return Scanned::kNone;
      if (!more) break;
      if (!FieldName(&name)) return Scanned::kNone;
    }
    SkipSpace();
    constexpr uint32_t kRequired = (1u << kProcess) | (1u << kType) | (1u << kF);
    return p_ == end_ && (seen & kRequired) == kRequired ? Scanned::kEvent : Scanned::kNone;
  }

 private:
  // Recorders write no white space: the first byte decides, in line.
  [[gnu::always_inline]] void SkipSpace() {
    if (p_ == end_ || static_cast<unsigned char>(*p_) > ' ') return;
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) ++p_;
  }
  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  // Plain strings only: printable ASCII without escapes (others decline).
  bool ParseString(std::string_view* out) {
    if (p_ == end_ || *p_ != '"') return false;
    ++p_;
    return ScanPlainString(p_, end_, out);
  }
  // `intern` false: a string that names one thing only (an operation id,
  // copied out of the line at once) is not kept in the interner's table,
  // where 800 K of them cost some 70 MB and are never shared.
  bool ParseValue(Value* out, int depth, bool intern = true) {
    // The line's object is depth 0; a field's value starts at depth 1.
    if (depth > kMaxValueDepth + 1) return false;
    SkipSpace();
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': {
        std::string_view s;
        if (!ParseString(&s)) return false;
        *out = intern ? interner_.String(s) : Value::String(std::string(s));
        return true;
      }
      case '{': {
        ++p_;
        SkipSpace();
        if (p_ != end_ && *p_ == '}') {
          ++p_;
          *out = Value::Map({}, {});
          return true;
        }
        // Gathered in this depth's scratch vectors (kept from line to line)
        // and moved into vectors of their exact size: one allocation each,
        // not a growth and a shrink (a batch's maps were a fifth of the
        // reading of event and log lines).
        Interner::Gathered& g = interner_.ScratchAt(depth);
        g.Clear();
        while (true) {
          SkipSpace();
          std::string_view key;
          if (!ParseString(&key)) return false;
          for (const std::string& k : g.keys) {
            if (k == key) return false;  // a repeated name: nlohmann decides
          }
          SkipSpace();
          if (p_ == end_ || *p_ != ':') return false;
          ++p_;
          g.keys.emplace_back(key);
          if (!ParseValue(&g.values.emplace_back(), depth + 1, /*intern=*/!Is(key, "op"))) return false;
          SkipSpace();
          if (p_ == end_) return false;
          if (*p_ == ',') {
            ++p_;
            continue;
          }
          if (*p_ != '}') return false;
          ++p_;
          std::vector<std::string> keys(std::make_move_iterator(g.keys.begin()), std::make_move_iterator(g.keys.end()));
          *out = Value::Map(std::move(keys), g.TakeValues());
          return true;
        }
      }
      case '[': {
        ++p_;
        if (p_ != end_ && *p_ == '[' && ParsePairList(out, depth)) return true;
        if (ParsePair(out)) return true;
        interner_.StartList();
        SkipSpace();
        if (p_ != end_ && *p_ == ']') {
          ++p_;
          *out = Value::List({});
          return true;
        }
        Interner::Gathered& g = interner_.ScratchAt(depth);  // as for a map above
        g.Clear();
        std::vector<Value>& items = g.values;
        while (true) {
          if (!ParseValue(&items.emplace_back(), depth + 1)) return false;
          SkipSpace();
          if (p_ == end_) return false;
          if (*p_ == ',') {
            ++p_;
            continue;
          }
          if (*p_ != ']') return false;
          ++p_;
          if (items.size() == 2 && items[0].is_string() && items[1].is_string()) {
            *out = interner_.Pair(std::move(items[0]), std::move(items[1]));
            g.Clear();
          } else {
            *out = Value::List(g.TakeValues());
          }
          return true;
        }
      }
      case 't':
        if (!Literal("true")) return false;
        *out = Value::Bool(true);
        return true;
      case 'f':
        if (!Literal("false")) return false;
        *out = Value::Bool(false);
        return true;
      case 'n':
        if (!Literal("null")) return false;
        *out = Value();
        return true;
      default:
        return ParseInt(out);
    }
  }
  // After a '[': a ["key","value"] pair of plain strings (a range's result
  // is a list of them), interned without building a list first. Leaves the
  // position alone and returns false for anything else.
  bool ParsePair(Value* out) {
    const char* start = p_;
    std::string_view a, b;
    SkipSpace();
    if (ParseString(&a)) {
      SkipSpace();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        SkipSpace();
        if (ParseString(&b)) {
          SkipSpace();
          if (p_ != end_ && *p_ == ']') {
            ++p_;
            *out = interner_.PairOf(a, b);
            return true;
          }
        }
      }
    }
    p_ = start;
    return false;
  }
  // After a '[' followed by '[': a range's result as kvlog's recorders
  // write it, [["key","value"],["key","value"],...] with no white space and
  // plain strings, read in one loop with the same interned pairs, in the
  // same order, as ParseValue reading it item by item would give (PairOf per
  // pair after StartList). The pairs are gathered in the interner's scratch
  // vector and moved into a list of their exact size (one allocation, no
  // reference count touched twice). Anything else leaves the position alone
  // and returns false: the general loop then reads the list (PairOf's caches
  // may have moved on, but they only decide how fast a pair is found, never
  // which pair).
  bool ParsePairList(Value* out, int depth) {
    if (depth + 1 > kMaxValueDepth + 1) return false;  // as ParseValue on a pair would
    const char* p = p_;
    // The scratch vector is kept at its size, its items nil or moved from
    // (neither holds a reference), and written in place: a push_back per
    // pair was a call and a capacity check (4 % of reading kvsim's history).
    std::vector<Value>& items = interner_.Scratch();
    size_t n = 0;
    interner_.StartList();
    while (true) {
      if (n == items.size()) items.resize(2 * items.size() + 256);
      // Most pairs are the pair guessed from the one before, written as
      // it was last time: one compare of the text instead of two scans.
      if (const std::string_view guess = interner_.GuessedPairText();
          !guess.empty() && static_cast<size_t>(end_ - p) > guess.size() &&
          SameText(std::string_view(p, guess.size()), guess)) {
        p += guess.size();
        items[n++] = interner_.TakeGuess();
      } else if (!ScanPair(p, &items[n++])) {
        ReleaseScratch(items, n);
        return false;
      }
      if (p == end_ || (*p != ']' && *p != ',')) {
        ReleaseScratch(items, n);
        return false;
      }
      if (*p == ']') break;
      ++p;
    }
    p_ = p + 1;
    *out = Value::List(std::vector<Value>(std::make_move_iterator(items.begin()),
                                          std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(n))));
    return true;
  }
  // A list given up on: its first `n` gathered pairs released now.
  static void ReleaseScratch(std::vector<Value>& items, size_t n) {
    for (size_t i = 0; i < n; ++i) items[i] = Value();
  }
  // ParsePairList's pair read byte by byte: ["key","value"] of plain strings
  // at `p`, left past its ']'; false at anything else.
  bool ScanPair(const char*& p, Value* out) {
    std::string_view key, value;
    if (end_ - p < 2 || p[0] != '[' || p[1] != '"') return false;
    p += 2;
    if (!ScanPlainString(p, end_, &key)) return false;
    if (end_ - p < 2 || p[0] != ',' || p[1] != '"') return false;
    p += 2;
    if (!ScanPlainString(p, end_, &value)) return false;
    if (p == end_ || *p != ']') return false;
    ++p;
    *out = interner_.PairOf(key, value);
    return true;
  }
  // -?(0|[1-9][0-9]*) within int64_t; fractions, exponents and wider
  // numbers decline.
  bool ParseInt(Value* out) {
    int64_t n = 0;
    if (!ScanInt(&n)) return false;
    *out = Value::Int(n);
    return true;
  }
  bool ScanInt(int64_t* out) {
    bool negative = false;
    if (p_ != end_ && *p_ == '-') {
      negative = true;
      ++p_;
    }
    const char* start = p_;
    uint64_t n = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      if (p_ - start < 19) n = n * 10 + static_cast<uint64_t>(*p_ - '0');  // longer declines below
      ++p_;
    }
    const size_t digits = static_cast<size_t>(p_ - start);
    if (digits == 0 || digits > 19 || (digits > 1 && *start == '0')) return false;
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (n > kMax + (negative ? 1 : 0)) return false;
    *out = negative ? static_cast<int64_t>(0 - n) : static_cast<int64_t>(n);
    return true;
  }
  // `null` (an optional field left absent).
  bool Null() { return p_ != end_ && *p_ == 'n' && Literal("null"); }
  template <typename OptionalInteger>  // std::optional<int64_t> or OptionalInt
  bool OptInt(OptionalInteger* out) {
    if (Null()) {
      out->reset();
      return true;
    }
    int64_t n = 0;
    if (!ScanInt(&n)) return false;
    if constexpr (std::is_same_v<OptionalInteger, OptionalInt>) {
      if (n == OptionalInt::kAbsent) return false;  // the general path says why
    }
    *out = n;
    return true;
  }
  template <typename OptionalText>  // std::optional<std::string> or OptionalString
  bool OptStr(OptionalText* out) {
    if (Null()) {
      out->reset();
      return true;
    }
    std::string_view s;
    if (!ParseString(&s)) return false;
    out->emplace(s);
    return true;
  }
  // After a field's value: ',' (true, `*more` set) or the object's '}'.
  bool NextField(bool* more) {
    SkipSpace();
    if (p_ == end_) return false;
    *more = *p_ == ',';
    if (*p_ != ',' && *p_ != '}') return false;
    ++p_;
    return true;
  }
  // A field's name and its ':'.
  // The scanner's names are a few plain lowercase letters: the closing
  // quote is looked for in the eight bytes after the opening one, a word's
  // compare; a name with anything unusual in it (an escape, a control byte)
  // names no field, so the caller declines the line whatever text it gets
  // here. Longer names, or a line's last bytes, take the full string scan.
  bool FieldName(std::string_view* name) {
    SkipSpace();
    if (p_ == end_ || *p_ != '"') return false;
    ++p_;
    if (end_ - p_ >= 8) {
      constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
      uint64_t x;
      std::memcpy(&x, p_, 8);
      const uint64_t y = x ^ (kOnes * '"');
      const uint64_t quotes = (y - kOnes) & ~y & kHigh;  // exact for the lowest quote
      if (quotes != 0) {
        const size_t n = static_cast<size_t>(std::countr_zero(quotes) >> 3);
        *name = std::string_view(p_, n);
        p_ += n + 1;
      } else if (!ScanPlainString(p_, end_, name)) {
        return false;
      }
    } else if (!ScanPlainString(p_, end_, name)) {
      return false;
    }
    SkipSpace();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    SkipSpace();
    return true;
  }

  // The event fields ToEvent knows, as bits for "seen already".
  enum EventField : uint32_t {
    kProcess, kType, kF, kKey, kValue, kTime, kOffset, kApplied, kReplica, kOp, kResult, kError, kIndex,
    kLevel, kBound, kNoField
  };
  // By length first, then the name's bytes as one or two words against the
  // candidates' (no call to compare texts): a field costs a few integer
  // compares, not up to fifteen calls.
  template <size_t N>
  static bool Is(std::string_view n, const char (&name)[N]) {
    static_assert(N >= 2 && N <= 9);
    if (n.size() != N - 1) return false;
    if constexpr (N - 1 >= 4) {
      uint32_t a0, b0, a1, b1;
      std::memcpy(&a0, n.data(), 4);
      std::memcpy(&b0, name, 4);
      std::memcpy(&a1, n.data() + N - 5, 4);
      std::memcpy(&b1, name + N - 5, 4);
      return a0 == b0 && a1 == b1;
    } else {
      for (size_t i = 0; i + 1 < N; ++i) {
        if (n[i] != name[i]) return false;
      }
      return true;
    }
  }
  static EventField EventFieldOf(std::string_view n) {
    switch (n.size()) {
      case 1:
        return Is(n, "f") ? kF : kNoField;
      case 2:
        return Is(n, "op") ? kOp : kNoField;
      case 3:
        return Is(n, "key") ? kKey : kNoField;
      case 4:
        return Is(n, "type") ? kType : Is(n, "time") ? kTime : kNoField;
      case 5:
        return Is(n, "value")   ? kValue
               : Is(n, "level") ? kLevel
               : Is(n, "bound") ? kBound
               : Is(n, "error") ? kError
               : Is(n, "index") ? kIndex
                                : kNoField;
      case 6:
        return Is(n, "offset") ? kOffset : Is(n, "result") ? kResult : kNoField;
      case 7:
        return Is(n, "process") ? kProcess : Is(n, "replica") ? kReplica : Is(n, "applied") ? kApplied : kNoField;
      default:
        return kNoField;
    }
  }

  // The rest of an event line after a field's ':'.
  bool ScanEventField(EventField field, Event* e) {
    switch (field) {
      case kProcess:
        return ScanInt(&e->process);
      case kType: {
        std::string_view type;
        if (!ParseString(&type)) return false;
        const auto t = ParseEventType(type);
        if (!t) return false;
        e->type = *t;
        return true;
      }
      case kF: {
        std::string_view f;
        if (!ParseString(&f) || f.empty()) return false;
        e->f.assign(f);
        return true;
      }
      case kKey:
        return OptStr(&e->key);
      case kValue:
        // A range's result as recorders write it is read by ParsePairList,
        // which makes nothing but [key value] pairs: the pairer need not
        // look at each pair again (Event::pairs_checked).
        if (end_ - p_ >= 2 && p_[0] == '[' && p_[1] == '[') {
          ++p_;
          if (ParsePairList(&e->value, 1)) {
            e->pairs_checked = true;
            return true;
          }
          --p_;
        }
        return ParseValue(&e->value, 1);
      case kTime:
        return OptInt(&e->time);
      case kOffset:
        return OptInt(&e->offset);
      case kApplied:
        return OptInt(&e->applied);
      case kBound:
        return OptInt(&e->bound);
      case kReplica:
        return OptStr(&e->replica);
      case kOp:
        return OptStr(&e->op);
      case kResult:
        if (Null()) {
          e->result.reset();
        } else if (Literal("true")) {
          e->result = true;
        } else if (Literal("false")) {
          e->result = false;
        } else {
          return false;
        }
        return true;
      case kLevel: {
        if (Null()) {
          e->level.reset();
          return true;
        }
        std::string_view level;
        if (!ParseString(&level)) return false;
        const auto name = LevelName::TryMake(level);
        if (!name) return false;
        e->level = *name;
        return true;
      }
      case kError:
      case kIndex: {  // Jepsen's free-form fields: accepted, not used
        Value ignored;
        return ParseValue(&ignored, 1, /*intern=*/false);
      }
      case kNoField:
        break;
    }
    return false;
  }

  // The log record of a {"log": {...}} line, after "log":, as ToLogRecord
  // reads it. Declines a field it does not know (ToLogRecord ignores those).
  bool ScanLog(LogRecord* r) {
    if (p_ == end_ || *p_ != '{') return false;
    ++p_;
    SkipSpace();
    if (p_ != end_ && *p_ == '}') return false;  // no offset: the general path says so
    enum : uint32_t { kLogOffset = 1, kLogKey = 2, kLogValue = 4, kLogF = 8, kLogExpected = 16, kLogWriter = 32,
                      kLogOp = 64, kLogDeadline = 128 };
    uint32_t seen = 0;
    std::optional<std::string> f;
    for (bool more = true; more;) {
      std::string_view name;
      if (!FieldName(&name)) return false;
      uint32_t bit = 0;
      bool ok = false;
      if (Is(name, "offset")) {
        bit = kLogOffset;
        ok = ScanInt(&r->offset);
      } else if (Is(name, "key")) {
        bit = kLogKey;
        std::string_view key;
        ok = ParseString(&key);
        if (ok) r->key.assign(key);
      } else if (Is(name, "value")) {
        bit = kLogValue;
        ok = OptStr(&r->value);
      } else if (Is(name, "f")) {
        bit = kLogF;
        ok = OptStr(&f);
      } else if (Is(name, "expected")) {
        bit = kLogExpected;
        ok = OptStr(&r->expected);
      } else if (Is(name, "writer")) {
        bit = kLogWriter;
        ok = OptStr(&r->writer);
      } else if (Is(name, "op")) {
        bit = kLogOp;
        ok = OptStr(&r->op);
      } else if (Is(name, "deadline")) {
        bit = kLogDeadline;
        ok = OptInt(&r->deadline);
      }
      if (!ok || (seen & bit)) return false;
      seen |= bit;
      if (!NextField(&more)) return false;
    }
    if (!(seen & kLogOffset) || !(seen & kLogKey)) return false;
    if (f && *f != "put" && *f != "delete" && *f != "cas") return false;
    r->f = f ? FunctionName(*f) : FunctionName(r->value ? FunctionName::kPut : FunctionName::kDelete);
    return true;
  }

  const char* p_;
  const char* end_;
  Interner& interner_;
};

// Reads lines into a History, one at a time.
class LineReader {
 public:
  explicit LineReader(const std::string& source, bool pair_events = false) {
    h_.source = source;
    if (pair_events) pairer_.emplace(source);
  }

  // What the log vector may reserve by: the stream's size in bytes (0:
  // unknown), and where the next line Add is given starts in it.
  void SetSize(uint64_t bytes) { size_ = bytes; }
  void SetPosition(uint64_t bytes) { position_ = bytes; }

  // Returns false (and sets the error) on a bad line.
  bool Add(std::string_view line) {
    KVLOG_CHECK(interner_ != nullptr);  // not after ReleaseInterner
    ++line_no_;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return true;
    try {
      if (fast_path_) {
        Event event;
        LogRecord record;
        switch (FastParser(line, *interner_).ScanLine(&event, &record)) {
          case FastParser::Scanned::kEvent:
            ++scanned_;
            return AddEvent(std::move(event));
          case FastParser::Scanned::kLog:
            ++scanned_;
            AddLog(std::move(record));
            return true;
          case FastParser::Scanned::kNone:
            break;
        }
      }
      Value o;
      if (!FastParser(line, *interner_).ParseLine(&o)) {
        json j = json::parse(line);
        if (!j.is_object()) throw ParseFailure{"a line must be a JSON object"};
        if (auto it = j.find("meta"); it != j.end() && !j.contains("final") && !j.contains("log")) {
          if (it->is_object() && it->value("log_captured", false)) h_.has_log = true;
          return true;
        }
        o = ToValue(j, -1);
      }
      if (o.Find("change") || o.Find("watch") || o.Find("log_start")) {
        // A watch history's line (watch.h): its own reader.
        if (!watch_) watch_.emplace(h_.source);
        if (auto error = watch_->Add(line, line_no_)) {
          error_ = std::move(*error);
          return false;
        }
      } else if (const Value* x = o.Find("expiry")) {
        if (h_.expiry) {
          throw ParseFailure{fmt::format("a second \"expiry\" line (the first is line {})", h_.expiry->line)};
        }
        h_.expiry = ToExpiry(*x);
        h_.expiry->line = line_no_;
      } else if (const Value* f = o.Find("final")) {
        FinalState fs = ToFinal(*f);
        fs.line = line_no_;
        h_.finals.push_back(std::move(fs));
      } else if (const Value* l = o.Find("log")) {
        AddLog(ToLogRecord(*l));
      } else if (const Value* n = o.Find("nemesis")) {
        NemesisEvent e = ToNemesis(*n);
        e.position = pairer_ ? events_ : static_cast<int64_t>(h_.events.size());
        e.line = line_no_;
        h_.nemesis.push_back(std::move(e));
      } else if (const Value* m = o.Find("meta")) {
        if (const Value* c = m->Find("log_captured"); c && c->kind() == Value::Kind::kBool && c->as_bool()) {
          h_.has_log = true;
        }
      } else {
        return AddEvent(ToEvent(o));
      }
    } catch (const ParseFailure& f) {
      error_ = Error{h_.source, line_no_, f.reason};
      return false;
    } catch (const json::exception& e) {
      error_ = Error{h_.source, line_no_, std::string("invalid JSON: ") + e.what()};
      return false;
    }
    return true;
  }

  // This reader reads the later part of a history whose earlier part
  // another reader reads at the same time (ReadJsonlFile's two threads): see
  // Append.
  void ContinueEarlierPart() {
    if (pairer_) pairer_->ContinueEarlierPart();
  }
  // Appends what `later` (a reader of the lines after this one's, told
  // ContinueEarlierPart) read: its lines, event positions and operations
  // follow this one's. True when the result is what one reader given every
  // line would hold; false when that reader would have stopped at an error
  // (a line `later` refused, or one that is an error only after this part:
  // a pairing across the join, a log offset that goes back, a second expiry
  // line) or when the join is not done here (watch lines, which their own
  // reader reads in order): the caller then reads the whole history with one
  // reader, which gives the error.
  bool Append(LineReader&& later) {
    LineReader& b = later;
    if (error_ || b.error_ || watch_ || b.watch_ || !pairer_ || !b.pairer_) return false;
    if (h_.expiry && b.h_.expiry) return false;
    const int lines = line_no_;
    // The log: offsets increase across the join, and records sharing the
    // join's offset (one transaction's writes) name different keys.
    if (!h_.log.empty() && !b.h_.log.empty()) {
      const int64_t last = h_.log.back().offset;
      if (b.h_.log.front().offset < last) return false;
      for (size_t i = 0; i < b.h_.log.size() && b.h_.log[i].offset == last; ++i) {
        for (auto it = h_.log.rbegin(); it != h_.log.rend() && it->offset == last; ++it) {
          if (it->key == b.h_.log[i].key) return false;
        }
      }
    }
    if (!pairer_->Splice(std::move(*b.pairer_), events_, lines)) return false;
    for (LogRecord& r : b.h_.log) r.line += lines;
    if (h_.log.empty()) {
      h_.log = std::move(b.h_.log);
    } else {
      h_.log.insert(h_.log.end(), std::make_move_iterator(b.h_.log.begin()),
                    std::make_move_iterator(b.h_.log.end()));
    }
    for (NemesisEvent& n : b.h_.nemesis) {
      n.line += lines;
      n.position += events_;
      h_.nemesis.push_back(std::move(n));
    }
    for (FinalState& f : b.h_.finals) {
      f.line += lines;
      h_.finals.push_back(std::move(f));
    }
    if (b.h_.expiry) {
      h_.expiry = std::move(b.h_.expiry);
      h_.expiry->line += lines;
    }
    h_.has_log = h_.has_log || b.h_.has_log;
    events_ += b.events_;
    line_no_ += b.line_no_;
    scanned_ += b.scanned_;
    return true;
  }

  // Frees the interner's tables once every line is read (the values read
  // keep their strings): a reader thread does it before the join, beside
  // the other part's reading, instead of after it. Add may not follow.
  void ReleaseInterner() { interner_.reset(); }

  // Tests: false reads every line through the general path.
  void SetFastPath(bool on) { fast_path_ = on; }
  uint64_t scanned() const { return scanned_; }

  Result<History> Finish() {
    if (error_) return std::unexpected(*error_);
    if (pairer_) {
      h_.op_kinds = pairer_->kinds();
      KVLOG_ASSIGN_OR_RETURN(h_.ops, pairer_->Finish());
    }
    if (watch_) h_.watch = watch_->Finish();
    return std::move(h_);
  }
  const Error& error() const { return *error_; }

 private:
  // An event line, read by either path. False (and the error set) when the
  // pairer refuses it.
  bool AddEvent(Event&& e) {
    e.line = line_no_;
    if (pairer_) {
      ReserveOps();
      if (auto error = pairer_->Add(std::move(e), events_++)) {
        error_ = std::move(*error);
        return false;
      }
    } else {
      h_.events.push_back(std::move(e));
    }
    return true;
  }
  // A log line, read by either path; throws ParseFailure.
  void AddLog(LogRecord&& r) {
    r.line = line_no_;
    if (!h_.log.empty() && r.offset < h_.log.back().offset) {
      throw ParseFailure{
          fmt::format("log offset {} does not increase (previous {})", r.offset, h_.log.back().offset)};
    }
    // Records share an offset only as the writes of one transaction or
    // atomic batch (one log record), each to a different key.
    for (auto it = h_.log.rbegin(); it != h_.log.rend() && it->offset == r.offset; ++it) {
      if (it->key == r.key) {
        throw ParseFailure{fmt::format("log offset {} does not increase (previous {}): records may share an offset "
                                       "only as the writes of one transaction, each to a different key, and key {} "
                                       "repeats",
                                       r.offset, it->offset, r.key)};
      }
    }
    ReserveLog();
    h_.log.push_back(std::move(r));
    h_.has_log = true;
  }

  bool fast_path_ = true;
  uint64_t scanned_ = 0;
  History h_;
  // A full log vector grows to what the rest of the stream can hold, at the
  // log lines' mean size so far, rather than doubling: the log comes last in
  // a recorded history, and a doubling there held the old and the new copy
  // at once at the read's peak (600 K records, then of 256 bytes: 134 MB more).
  // Reserved pages that are never written are never resident.
  void ReserveLog() {
    auto& log = h_.log;
    if (log.empty()) log_start_ = position_;
    if (size_ == 0 || log.size() < 1024 || log.size() < log.capacity() || position_ <= log_start_ ||
        size_ <= position_) {
      return;
    }
    const uint64_t mean = std::max<uint64_t>(1, (position_ - log_start_) / log.size());
    const uint64_t more = (size_ - position_) / mean;
    log.reserve(log.size() + static_cast<size_t>(more + more / 16 + 1024));
  }
  // The same for the operations pairing builds: a full vector grows to the
  // operations the rest of the stream can hold at the event lines' mean size
  // so far (two events an operation), not by doubling, each doubling a move
  // of every operation (then ~220 bytes: 4 % of kvcheck's CPU on an 800 K-op
  // history). Early lines are short, so the first estimate is high; room
  // never written is never resident.
  void ReserveOps() {
    const size_t n = pairer_->operations();
    if (size_ == 0 || n < 1024 || n < pairer_->capacity() || events_ == 0 || size_ <= position_) return;
    const uint64_t mean = std::max<uint64_t>(1, position_ / static_cast<uint64_t>(events_));
    const uint64_t more = (size_ - position_) / mean / 2;
    pairer_->Reserve(n + static_cast<size_t>(more + more / 16 + 1024));
  }
  uint64_t size_ = 0, position_ = 0, log_start_ = 0;
  // Null after ReleaseInterner.
  std::unique_ptr<Interner> interner_ = std::make_unique<Interner>();
  std::optional<OperationPairer> pairer_;
  std::optional<WatchJsonlReader> watch_;
  int64_t events_ = 0;
  int line_no_ = 0;
  std::optional<Error> error_;
};

}  // namespace

Result<History> ParseJsonl(std::string_view text, const std::string& source) {
  LineReader reader(source);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (!reader.Add(text.substr(pos, end - pos))) return std::unexpected(reader.error());
    pos = end + 1;
  }
  return reader.Finish();
}

namespace {

// Feeds `reader` the lines of `in`, up to `limit` bytes (or to its end), a
// block at a time: the text is never held whole. `done`, when set, is kept
// at the bytes read so far (another thread reads it), and `progress` hears
// of them. False at the first bad line (the reader holds the error), or when
// `stop` is set.
bool FeedLines(std::istream& in, uint64_t limit, LineReader& reader, const std::function<void(uint64_t)>& progress,
               std::atomic<uint64_t>* done_out = nullptr, const std::atomic<bool>* stop = nullptr) {
  constexpr size_t kBlock = 1 << 20;
  std::string buffer;
  std::string carry;  // a line that runs past the end of a block
  uint64_t done = 0;
  while (in && done < limit) {
    if (stop && stop->load(std::memory_order_relaxed)) return false;
    buffer.resize(static_cast<size_t>(std::min<uint64_t>(kBlock, limit - done)));
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    buffer.resize(static_cast<size_t>(in.gcount()));
    if (buffer.empty()) break;
    done += buffer.size();
    std::string_view block(buffer);
    size_t pos = 0;
    while (true) {
      const size_t end = block.find('\n', pos);
      if (end == std::string_view::npos) {
        carry.append(block.substr(pos));
        break;
      }
      bool ok;
      reader.SetPosition(done - buffer.size() + pos - carry.size());
      if (!carry.empty()) {
        carry.append(block.substr(pos, end - pos));
        ok = reader.Add(carry);
        carry.clear();
      } else {
        ok = reader.Add(block.substr(pos, end - pos));
      }
      if (!ok) return false;
      pos = end + 1;
    }
    if (done_out) done_out->store(done, std::memory_order_relaxed);
    if (progress) progress(done);
  }
  if (in.bad()) return false;
  if (!carry.empty() && !reader.Add(carry)) return false;
  return true;
}

}  // namespace

Result<History> ReadJsonl(std::istream& in, const std::string& source, const JsonlReadOptions& options) {
  LineReader reader(source, options.pair_events);
  reader.SetSize(options.size_hint);
  reader.SetFastPath(options.fast_path);
  if (!FeedLines(in, std::numeric_limits<uint64_t>::max(), reader, options.progress)) {
    if (in.bad()) return MakeError(source, 0, "read error");
    return std::unexpected(reader.error());
  }
  if (options.scanned) *options.scanned = reader.scanned();
  return reader.Finish();
}

Result<History> ReadJsonlFile(const std::string& path, const JsonlReadOptions& options) {
  auto whole = [&]() -> Result<History> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(path, 0, "cannot open file");
    if (options.parts) *options.parts = 1;
    return ReadJsonl(in, path, options);
  };
  std::error_code ec;
  const uint64_t size = std::filesystem::is_regular_file(path, ec) ? std::filesystem::file_size(path, ec) : 0;
  if (options.threads < 2 || !options.pair_events || size == 0 || size < options.parallel_min_bytes) return whole();
  // The later part starts at the first line that starts at or after the
  // split point (the middle, or where tests put it).
  std::ifstream later_in(path, std::ios::binary);
  if (!later_in) return whole();
  const uint64_t split = options.split_at != 0 ? std::min(options.split_at, size) : size / 2;
  uint64_t start = split;
  if (split > 0) {
    later_in.seekg(static_cast<std::streamoff>(split - 1));
    std::string skipped;
    if (!std::getline(later_in, skipped)) return whole();  // no line starts after it
    start = split - 1 + skipped.size() + 1;
  }
  if (start >= size) return whole();
  later_in.clear();
  later_in.seekg(static_cast<std::streamoff>(start));
  std::ifstream earlier_in(path, std::ios::binary);
  if (!earlier_in) return whole();

  LineReader earlier(path, /*pair_events=*/true), later(path, /*pair_events=*/true);
  earlier.SetSize(size);  // room for every operation: the later part's are appended
  earlier.SetFastPath(options.fast_path);
  later.SetSize(size - start);
  later.SetFastPath(options.fast_path);
  later.ContinueEarlierPart();
  std::atomic<uint64_t> later_done{0};
  std::atomic<bool> stop{false};
  bool later_ok = false;
  std::thread worker([&] {
    later_ok = FeedLines(later_in, std::numeric_limits<uint64_t>::max(), later, {}, &later_done, &stop);
    later.ReleaseInterner();  // beside the earlier part's reading, not after it
  });
  std::function<void(uint64_t)> progress;
  if (options.progress) {
    progress = [&](uint64_t done) { options.progress(done + later_done.load(std::memory_order_relaxed)); };
  }
  const bool earlier_ok = FeedLines(earlier_in, start, earlier, progress);
  if (!earlier_ok && !earlier_in.bad()) {
    // The first error of the file is in the earlier part: the same error
    // one reader gives.
    stop.store(true);
    worker.join();
    return std::unexpected(earlier.error());
  }
  worker.join();
  // The earlier part's interner is freed on another thread while the parts
  // are joined (on an 800 K-op history each is a table of some 300 K
  // strings, every one a cache miss to release).
  std::thread release([&earlier] { earlier.ReleaseInterner(); });
  const bool joined = earlier_ok && later_ok && !later_in.bad() && earlier.Append(std::move(later));
  release.join();
  if (!joined) return whole();
  if (options.progress) options.progress(size);
  if (options.scanned) *options.scanned = earlier.scanned();
  if (options.parts) *options.parts = 2;
  return earlier.Finish();
}

Result<History> ReadJsonlFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(path, 0, "cannot open file");
  return ReadJsonl(in, path);
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
  if (e.level) o["level"] = *e.level;
  if (e.bound) o["bound"] = *e.bound;
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
  l["f"] = r.f.str();
  if (r.expected) l["expected"] = *r.expected;
  if (r.writer) l["writer"] = *r.writer;
  if (r.op) l["op"] = *r.op;
  if (r.deadline) l["deadline"] = *r.deadline;
  json o;
  o["log"] = std::move(l);
  return o.dump();
}

std::string ExpiryToJsonl(const ExpiryBounds& b) {
  json x;
  x["skew_bound"] = b.skew_bound_ns;
  if (b.time_origin_ns != 0) x["time_origin"] = b.time_origin_ns;
  if (b.reclaimed_before) x["reclaimed_before"] = *b.reclaimed_before;
  json o;
  o["expiry"] = std::move(x);
  return o.dump();
}

std::string JsonlTail(const History& h) {
  std::string out;
  if (h.expiry) out += ExpiryToJsonl(*h.expiry) + "\n";
  if (h.has_log && h.log.empty()) out += "{\"meta\":{\"log_captured\":true}}\n";
  for (const auto& r : h.log) out += LogRecordToJsonl(r) + "\n";
  for (const auto& f : h.finals) out += FinalToJsonl(f) + "\n";
  if (h.watch) out += WatchToJsonl(*h.watch);
  return out;
}

std::string WriteJsonl(const History& h) {
  std::string out;
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
  return out + JsonlTail(h);
}

}  // namespace kvlog::checker
